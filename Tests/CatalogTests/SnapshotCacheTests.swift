import Catalog
import Foundation
import Testing

@Suite("Snapshot cache")
struct SnapshotCacheTests {
    private func snapshot(
        _ id: String, tier: String = "local", agent: String = "db1", component: String = "main",
        start: Double, tags: [String] = []
    ) -> CatalogSnapshot {
        CatalogSnapshot(
            id: id, tier: tier, agent: agent, component: component, kind: "postgresql",
            startTime: at(start), endTime: at(start + 30), size: 1 << 20, bytesAdded: 4096,
            tags: tags)
    }

    @Test("replacing a tier's cache swaps exactly that tier and leaves the others alone")
    func replacePerTier() async throws {
        try await withCatalog { catalog, _ in
            try catalog.replaceSnapshots(
                tier: "local", with: [snapshot("a", start: 10), snapshot("b", start: 20)])
            try catalog.replaceSnapshots(
                tier: "offsite", with: [snapshot("a", tier: "offsite", start: 10)])

            var newB = snapshot("b", start: 20)
            newB.size = 7
            try catalog.replaceSnapshots(tier: "local", with: [newB, snapshot("d", start: 40)])

            #expect(try catalog.snapshots(tier: "local") == [snapshot("d", start: 40), newB])
            #expect(
                try catalog.snapshots(tier: "offsite") == [
                    snapshot("a", tier: "offsite", start: 10)
                ])
            #expect(try catalog.snapshots().count == 3)

            try catalog.replaceSnapshots(tier: "offsite", with: [])
            #expect(try catalog.snapshots(tier: "offsite").isEmpty)
            #expect(try catalog.snapshots(tier: "local").count == 2)
        }
    }

    @Test("a failing replace rolls back and keeps the previous cache (duplicate ID: .constraint)")
    func replaceRollsBack() async throws {
        try await withCatalog { catalog, _ in
            let before = [snapshot("b", start: 20), snapshot("a", start: 10)]
            try catalog.replaceSnapshots(tier: "local", with: before)

            let duplicate = [
                snapshot("c", start: 30), snapshot("x", start: 1), snapshot("x", start: 2),
            ]
            let error = try #require(throws: CatalogError.self) {
                try catalog.replaceSnapshots(tier: "local", with: duplicate)
            }
            #expect(error.code == .constraint)
            #expect(error.message.contains("UNIQUE constraint failed"), "\(error)")
            #expect(try catalog.snapshots(tier: "local") == before)

            var negative = snapshot("n", start: 5)
            negative.size = -1
            #expect(throws: CatalogError(.constraint, "")) {
                try catalog.replaceSnapshots(
                    tier: "local", with: [snapshot("c", start: 30), negative])
            }
            #expect(try catalog.snapshots(tier: "local") == before)
        }
    }

    @Test("replace refuses a snapshot of another tier before changing anything")
    func replaceChecksTier() async throws {
        try await withCatalog { catalog, _ in
            try catalog.replaceSnapshots(tier: "local", with: [snapshot("a", start: 1)])
            let error = try #require(throws: CatalogError.self) {
                try catalog.replaceSnapshots(
                    tier: "local",
                    with: [snapshot("b", start: 2), snapshot("c", tier: "offsite", start: 3)])
            }
            #expect(error.code == .invalidArgument)
            #expect(error.message.contains("offsite"), "\(error)")
            #expect(try catalog.snapshots().map(\.id) == ["a"])
        }
    }

    @Test("upsert adds or replaces one entry; remove deletes only the given IDs in that tier")
    func upsertAndRemove() async throws {
        try await withCatalog { catalog, _ in
            try catalog.upsertSnapshot(snapshot("a", start: 10))
            try catalog.upsertSnapshot(snapshot("b", start: 20))
            try catalog.upsertSnapshot(snapshot("a", tier: "offsite", start: 10))
            var changed = snapshot("a", start: 10, tags: ["weekly"])
            changed.bytesAdded = 1
            try catalog.upsertSnapshot(changed)
            #expect(try catalog.snapshots(tier: "local") == [snapshot("b", start: 20), changed])

            #expect(try catalog.removeSnapshots(ids: ["a", "zz"], tier: "local") == 1)
            #expect(try catalog.snapshots(tier: "local").map(\.id) == ["b"])
            #expect(try catalog.snapshots(tier: "offsite").map(\.id) == ["a"])
            #expect(try catalog.removeSnapshots(ids: [], tier: "local") == 0)
        }
    }

    @Test("listing filters by agent and component, newest first, and keeps tags intact")
    func listing() async throws {
        try await withCatalog { catalog, path in
            let tags = ["daily", "path/with/slash", "quote \" and \\ backslash", "zß🙂"]
            try catalog.replaceSnapshots(
                tier: "local",
                with: [
                    snapshot("1", agent: "db1", component: "main", start: 10, tags: tags),
                    snapshot("2", agent: "db1", component: "cache", start: 20),
                    snapshot("3", agent: "app", component: "main", start: 30),
                    snapshot("4", agent: "db1", component: "main", start: 40),
                ])
            #expect(try catalog.snapshots(agent: "db1").map(\.id) == ["4", "2", "1"])
            #expect(try catalog.snapshots(component: "main").map(\.id) == ["4", "3", "1"])
            #expect(try catalog.snapshots(agent: "db1", component: "main").map(\.id) == ["4", "1"])
            #expect(try catalog.snapshots(tier: "offsite", agent: "db1").isEmpty)
            #expect(try catalog.snapshots(agent: "db1", component: "main").last?.tags == tags)
            #expect(
                try RawDatabase.strings(path, "SELECT tags FROM snapshots WHERE id = '2'") == ["[]"]
            )
            #expect(
                try RawDatabase.integers(
                    path, "SELECT count(*) FROM snapshots WHERE json_valid(tags)")
                    == [4])
        }
    }
}
