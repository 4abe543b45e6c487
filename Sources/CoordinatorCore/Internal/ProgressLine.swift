import Foundation
import Synchronization

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// A one-line progress display on stderr, redrawn at most five times a second, shown only
/// when stderr is a terminal so that scripted output stays clean.
package final class ProgressLine: Sendable {
    private struct State {
        var lastDraw: ContinuousClock.Instant?
        var isDrawn = false
    }
    private let isEnabled: Bool
    private let start: ContinuousClock.Instant
    private let state = Mutex(State())

    package init(enabled: Bool = isatty(2) == 1) {
        isEnabled = enabled
        start = .now
    }

    /// Seconds since the line was created.
    package var elapsed: Double {
        (ContinuousClock.now - start).timeInterval
    }

    /// Redraws the line if enough time passed; `text` is built only then.
    package func update(_ text: (Double) -> String) {
        guard isEnabled else { return }
        let now = ContinuousClock.now
        let shouldDraw = state.withLock { state in
            if let last = state.lastDraw, now - last < .milliseconds(200) { return false }
            state.lastDraw = now
            state.isDrawn = true
            return true
        }
        if shouldDraw { Self.write("\r\u{1B}[K" + text(elapsed)) }
    }

    /// Clears the line.
    package func finish() {
        guard isEnabled, state.withLock({ $0.isDrawn }) else { return }
        Self.write("\r\u{1B}[K")
    }

    private static func write(_ text: String) {
        var bytes = Array(text.utf8)
        _ = bytes.withUnsafeMutableBytes { Glibc.write(2, $0.baseAddress, $0.count) }
    }
}

/// Human-readable sizes and rates.
package enum Format {
    /// `1.5 GiB`, `320 KiB`, `12 B`.
    package static func bytes(_ count: Int) -> String {
        let units = ["B", "KiB", "MiB", "GiB", "TiB", "PiB"]
        var value = Double(count)
        var unit = 0
        while value >= 1024, unit < units.count - 1 {
            value /= 1024
            unit += 1
        }
        return unit == 0 ? "\(count) B" : String(format: "%.1f %@", value, units[unit])
    }

    /// `123.4 MB/s` (decimal megabytes, as the benchmark reports).
    package static func rate(_ bytes: Int, seconds: Double) -> String {
        guard seconds > 0 else { return "-" }
        return String(format: "%.1f MB/s", Double(bytes) / seconds / 1e6)
    }
}
