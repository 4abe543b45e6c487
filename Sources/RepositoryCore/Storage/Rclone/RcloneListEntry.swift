/// One entry of `rclone lsjson` output (an array of these, or one with `--stat`).
struct RcloneListEntry: Decodable, Sendable {
    /// Relative to the listed folder, `/`-separated (`ab/abcd` in a recursive listing).
    var path: String
    var name: String
    /// -1 for folders and for objects of unknown size.
    var size: Int
    /// RFC 3339 (`2026-11-27T03:58:34.273604634Z`), or empty with `--no-modtime`.
    var modificationTime: String
    var isDirectory: Bool

    private enum CodingKeys: String, CodingKey {
        case path = "Path"
        case name = "Name"
        case size = "Size"
        case modificationTime = "ModTime"
        case isDirectory = "IsDir"
    }

    init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        path = try container.decode(String.self, forKey: .path)
        name = try container.decode(String.self, forKey: .name)
        size = try container.decode(Int.self, forKey: .size)
        modificationTime =
            try container.decodeIfPresent(String.self, forKey: .modificationTime) ?? ""
        isDirectory = try container.decodeIfPresent(Bool.self, forKey: .isDirectory) ?? false
    }

    /// ``modificationTime`` in seconds since 1970, `nil` when absent or unreadable.
    var modificationSeconds: Double? { Self.secondsSince1970(rfc3339: modificationTime) }

    /// Parses the RFC 3339 form Go's `time.RFC3339Nano` prints: `YYYY-MM-DDTHH:MM:SS`,
    /// optional fraction of any length, then `Z` or `±HH:MM`.
    static func secondsSince1970(rfc3339 text: String) -> Double? {
        let bytes = Array(text.utf8)
        guard bytes.count >= 20 else { return nil }
        func digits(_ range: Range<Int>) -> Int? {
            var value = 0
            for byte in bytes[range] {
                guard byte >= UInt8(ascii: "0"), byte <= UInt8(ascii: "9") else { return nil }
                value = value * 10 + Int(byte - UInt8(ascii: "0"))
            }
            return value
        }
        func separator(_ index: Int, _ characters: String) -> Bool {
            characters.utf8.contains(bytes[index])
        }
        guard let year = digits(0..<4), let month = digits(5..<7), let day = digits(8..<10),
            let hour = digits(11..<13), let minute = digits(14..<16),
            let second = digits(17..<19),
            separator(4, "-"), separator(7, "-"), separator(10, "Tt "), separator(13, ":"),
            separator(16, ":"), (1...12).contains(month), (1...31).contains(day)
        else { return nil }
        var index = 19
        var fraction = 0.0
        if bytes[index] == UInt8(ascii: ".") {
            index += 1
            var scale = 0.1
            while index < bytes.count, let digit = digits(index..<index + 1) {
                fraction += Double(digit) * scale
                scale /= 10
                index += 1
            }
        }
        guard index < bytes.count else { return nil }
        var offset = 0
        if separator(index, "Zz") {
            guard index + 1 == bytes.count else { return nil }
        } else {
            guard separator(index, "+-"), index + 6 == bytes.count, separator(index + 3, ":"),
                let hours = digits(index + 1..<index + 3),
                let minutes = digits(index + 4..<index + 6)
            else { return nil }
            offset = (hours * 3600 + minutes * 60) * (bytes[index] == UInt8(ascii: "-") ? -1 : 1)
        }
        let days = WallClock.dayNumber(year: year, month: month, day: day)
        let local = days * 86_400 + hour * 3600 + minute * 60 + second
        return Double(local - offset) + fraction
    }
}
