package import Foundation

/// A snapshot as retention sees it: an identity and a time. Grouping (by agent and component)
/// happens before planning, so a list of candidates is one group.
package struct RetentionCandidate: Hashable, Sendable, CustomStringConvertible {
    /// The snapshot's ID; ties in ``time`` are ordered by it.
    package var id: String
    /// When the snapshot was taken.
    package var time: Date
    /// The snapshot's tags. Not used by any rule yet: room for restic's `--keep-tag`.
    package var tags: [String]

    package init(id: String, time: Date, tags: [String] = []) {
        (self.id, self.time, self.tags) = (id, time, tags)
    }

    /// The planning order: newest first; at the same instant by ``id``, then by ``tags``.
    ///
    /// restic sorts newest first with a stable sort over the order it happened to load the
    /// snapshots in, which is not deterministic; this order is.
    package static func isOrderedNewestFirst(_ a: Self, _ b: Self) -> Bool {
        if a.time != b.time { return a.time > b.time }
        if a.id != b.id { return a.id < b.id }
        return a.tags.lexicographicallyPrecedes(b.tags)
    }

    package var description: String { "\(id)@\(time.formatted(.iso8601))" }
}
