import Synchronization

/// Progress shared by concurrent children; each update is reported to the caller.
final class ProgressCounter<Value: Sendable>: Sendable {
    private let value: Mutex<Value>
    private let report: @Sendable (Value) -> Void

    init(_ initial: Value, report: @escaping @Sendable (Value) -> Void) {
        value = Mutex(initial)
        self.report = report
    }

    func update(_ change: (inout Value) -> Void) {
        report(
            value.withLock {
                change(&$0)
                return $0
            })
    }
}
