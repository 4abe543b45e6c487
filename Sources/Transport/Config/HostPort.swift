/// `host:port` as written in configuration files and on command lines.
package struct HostPort: Sendable, Hashable, Decodable, CustomStringConvertible {
    package var host: String
    package var port: Int

    package init(host: String, port: Int) { (self.host, self.port) = (host, port) }

    /// Parses `host:port` or `[v6]:port`.
    package init(parsing text: String) throws {
        guard let colon = text.lastIndex(of: ":"),
            let port = Int(text[text.index(after: colon)...]),
            (0...65_535).contains(port)
        else {
            throw TransportError(.configuration, "'\(text)' is not host:port")
        }
        var host = String(text[..<colon])
        if host.hasPrefix("["), host.hasSuffix("]") { host = String(host.dropFirst().dropLast()) }
        guard !host.isEmpty else { throw TransportError(.configuration, "'\(text)' has no host") }
        (self.host, self.port) = (host, port)
    }

    package init(from decoder: any Decoder) throws {
        try self.init(parsing: try decoder.singleValueContainer().decode(String.self))
    }

    /// The four bytes of an IPv4 literal, if `host` is one.
    package var ipv4Bytes: [UInt8]? { Self.ipv4(host) }

    package static func ipv4(_ text: String) -> [UInt8]? {
        let parts = text.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count == 4 else { return nil }
        let bytes = parts.compactMap { UInt8($0) }
        return bytes.count == 4 ? bytes : nil
    }

    package var description: String { host.contains(":") ? "[\(host)]:\(port)" : "\(host):\(port)" }
}
