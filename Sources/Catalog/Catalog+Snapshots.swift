import Foundation

extension Catalog {
    private static let snapshotColumns = """
        tier, id, agent, component, kind, start_time, end_time, size, bytes_added, tags
        """

    private static let upsertSnapshotSQL = """
        INSERT INTO snapshots (\(snapshotColumns)) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
        ON CONFLICT (tier, id) DO UPDATE SET
            agent = excluded.agent, component = excluded.component, kind = excluded.kind,
            start_time = excluded.start_time, end_time = excluded.end_time,
            size = excluded.size, bytes_added = excluded.bytes_added, tags = excluded.tags
        """

    /// Makes `snapshots` the whole cache of `tier`, atomically: afterwards the tier holds
    /// exactly these; on any error it keeps its previous contents. Other tiers are untouched.
    ///
    /// - Throws: ``CatalogError/Code/invalidArgument`` when a snapshot's ``CatalogSnapshot/tier``
    ///   is not `tier`; ``CatalogError/Code/constraint`` when two snapshots share an ID or a
    ///   size is negative.
    package func replaceSnapshots(tier: String, with snapshots: [CatalogSnapshot]) throws {
        let rows = try snapshots.map { snapshot in
            guard snapshot.tier == tier else {
                throw CatalogError(
                    .invalidArgument,
                    "replace the \(tier) snapshot cache: snapshot \(snapshot.id) is in tier "
                        + "\(snapshot.tier)")
            }
            return try Self.values(of: snapshot)
        }
        try withDatabase("replace the \(tier) snapshot cache") { database in
            try database.transaction {
                try database.execute("DELETE FROM snapshots WHERE tier = ?", [.text(tier)])
                for row in rows {
                    try database.execute(
                        "INSERT INTO snapshots (\(Self.snapshotColumns)) "
                            + "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", row)
                }
            }
        }
    }

    /// Adds the snapshot to its tier's cache, or replaces the cached entry with the same ID.
    package func upsertSnapshot(_ snapshot: CatalogSnapshot) throws {
        let row = try Self.values(of: snapshot)
        try withDatabase("cache snapshot \(snapshot.id) of tier \(snapshot.tier)") { database in
            try database.execute(Self.upsertSnapshotSQL, row)
        }
    }

    /// Removes the snapshots with these IDs from `tier`'s cache; unknown IDs are ignored.
    ///
    /// - Returns: how many entries were removed.
    @discardableResult
    package func removeSnapshots(ids: [String], tier: String) throws -> Int {
        try withDatabase("remove \(ids.count) snapshots from the \(tier) cache") { database in
            try database.transaction {
                var removed = 0
                for id in ids {
                    removed += try database.execute(
                        "DELETE FROM snapshots WHERE tier = ? AND id = ?", [.text(tier), .text(id)])
                }
                return removed
            }
        }
    }

    /// Cached snapshots, newest first (by start time, then ID), restricted to each given
    /// tier, agent and component.
    package func snapshots(
        tier: String? = nil, agent: String? = nil, component: String? = nil
    ) throws -> [CatalogSnapshot] {
        try withDatabase("list cached snapshots") { database in
            try database.query(
                """
                SELECT \(Self.snapshotColumns) FROM snapshots
                WHERE (?1 IS NULL OR tier = ?1) AND (?2 IS NULL OR agent = ?2)
                    AND (?3 IS NULL OR component = ?3)
                ORDER BY start_time DESC, id, tier
                """,
                [.optional(tier), .optional(agent), .optional(component)],
                row: CatalogSnapshot.init(row:))
        }
    }

    private static func values(of snapshot: CatalogSnapshot) throws -> [SQLiteValue] {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.withoutEscapingSlashes]
        let tags: Data
        do {
            tags = try encoder.encode(snapshot.tags)
        } catch {
            throw CatalogError(
                .invalidArgument, "tags of snapshot \(snapshot.id) cannot be encoded",
                cause: error)
        }
        return [
            .text(snapshot.tier), .text(snapshot.id), .text(snapshot.agent),
            .text(snapshot.component), .text(snapshot.kind),
            .integer(snapshot.startTime.catalogMilliseconds),
            .integer(snapshot.endTime.catalogMilliseconds), .integer(snapshot.size),
            .integer(snapshot.bytesAdded), .text(String(decoding: tags, as: UTF8.self)),
        ]
    }
}

extension CatalogSnapshot {
    /// Reads the columns in `Catalog.snapshotColumns` order.
    init(row: SQLiteStatement) throws {
        let id = try row.string(1)
        let tags: [String]
        do {
            tags = try JSONDecoder().decode([String].self, from: Data(try row.string(9).utf8))
        } catch {
            throw CatalogError(
                .corrupt, "tags of snapshot \(id) are not a list of strings", cause: error)
        }
        self.init(
            id: id,
            tier: try row.string(0),
            agent: try row.string(2),
            component: try row.string(3),
            kind: try row.string(4),
            startTime: Date(catalogMilliseconds: try row.int64(5)),
            endTime: Date(catalogMilliseconds: try row.int64(6)),
            size: try row.int64(7),
            bytesAdded: try row.int64(8),
            tags: tags)
    }
}
