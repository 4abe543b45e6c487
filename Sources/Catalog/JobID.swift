/// The catalog's identifier of one job: its row ID, assigned on insert, never reused.
package struct JobID: Hashable, Comparable, Sendable, Codable, CustomStringConvertible {
    /// The row ID in the `jobs` table.
    package var rawValue: Int64

    /// Wraps a row ID; IDs come from ``Catalog/insertJob(agent:component:kind:trigger:scheduledFor:attempt:)``.
    package init(rawValue: Int64) {
        self.rawValue = rawValue
    }

    /// Decodes from a bare JSON number.
    package init(from decoder: any Decoder) throws {
        rawValue = try decoder.singleValueContainer().decode(Int64.self)
    }

    /// Encodes as a bare JSON number.
    package func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(rawValue)
    }

    package static func < (a: Self, b: Self) -> Bool { a.rawValue < b.rawValue }
    package var description: String { "\(rawValue)" }
}
