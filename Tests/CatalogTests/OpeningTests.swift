import Catalog
import Foundation
import TestSupport
import Testing

@Suite("Opening a catalog")
struct OpeningTests {
    @Test("a new file is migrated to the latest schema, in WAL mode, with our application ID")
    func migratesFromEmpty() async throws {
        try await withTemporaryDirectory { directory in
            let path = "\(directory)/catalog.db"
            let catalog = try Catalog.open(at: path)
            #expect(try catalog.schemaVersion() == Catalog.latestSchemaVersion)
            #expect(Catalog.latestSchemaVersion >= 1)
            #expect(try RawDatabase.strings(path, "PRAGMA journal_mode") == ["wal"])
            #expect(try RawDatabase.integers(path, "PRAGMA application_id") == [0x5A42_4354])
            let tables = try RawDatabase.strings(
                path, "SELECT name FROM sqlite_schema WHERE type = 'table' ORDER BY name")
            #expect(tables == ["agents", "components", "jobs", "snapshots"])
            #expect(try catalog.jobs().isEmpty)
        }
    }

    @Test("reopening keeps the data and changes nothing in the schema")
    func reopenKeepsData() async throws {
        try await withTemporaryDirectory { directory in
            let path = "\(directory)/catalog.db"
            let id: JobID
            do {
                let catalog = try Catalog(path: path)
                try catalog.recordAgent(name: "db1", seenAt: at(0))
                try catalog.upsertComponent(agent: "db1", name: "main", kind: "postgresql")
                id = try catalog.insertJob(
                    agent: "db1", component: "main", kind: .backup, trigger: .schedule,
                    scheduledFor: at(10))
                try catalog.upsertSnapshot(
                    CatalogSnapshot(
                        id: "ab12", agent: "db1", component: "main", kind: "postgresql",
                        startTime: at(10), endTime: at(20), size: 100, bytesAdded: 50))
            }
            let schemaBefore = try RawDatabase.strings(
                path, "SELECT sql FROM sqlite_schema WHERE sql IS NOT NULL ORDER BY name")

            let reopened = try Catalog(path: path)
            #expect(try reopened.schemaVersion() == Catalog.latestSchemaVersion)
            #expect(try reopened.agents().map(\.name) == ["db1"])
            #expect(
                try reopened.components()
                    == [ComponentRecord(agent: "db1", name: "main", kind: "postgresql")])
            #expect(try reopened.job(id)?.state == .queued)
            #expect(try reopened.snapshots().map(\.id) == ["ab12"])
            let schemaAfter = try RawDatabase.strings(
                path, "SELECT sql FROM sqlite_schema WHERE sql IS NOT NULL ORDER BY name")
            #expect(schemaAfter == schemaBefore)
        }
    }

    @Test("a catalog written by a newer build is refused with .schemaTooNew and left unchanged")
    func futureVersionRefused() async throws {
        try await withTemporaryDirectory { directory in
            let path = "\(directory)/catalog.db"
            do {
                let catalog = try Catalog(path: path)
                try catalog.recordAgent(name: "db1", seenAt: at(0))
            }
            let future = Catalog.latestSchemaVersion + 1
            try RawDatabase.execute(path, "PRAGMA user_version = \(future)")
            let before = try #require(FileManager.default.contents(atPath: path))

            let error = try #require(throws: CatalogError.self) { try Catalog(path: path) }
            #expect(error.code == .schemaTooNew)
            #expect(error.message.contains(path), "\(error)")
            #expect(error.message.contains("\(future)"), "\(error)")

            #expect(FileManager.default.contents(atPath: path) == before)
            #expect(try RawDatabase.integers(path, "PRAGMA user_version") == [Int64(future)])
        }
    }

    @Test(
        "a file that is not SQLite is refused with .corrupt naming the path, and left unchanged",
        arguments: [
            Array("this is a YAML file, not a catalog\n".utf8),
            Array("SQLite format 3\0".utf8) + Array(repeating: 0xA5, count: 4080),
            (0..<8192).map { UInt8(truncatingIfNeeded: $0 &* 7919 &+ 13) },
        ])
    func garbageRefused(_ garbage: [UInt8]) async throws {
        try await withTemporaryDirectory { directory in
            let path = "\(directory)/catalog.db"
            #expect(FileManager.default.createFile(atPath: path, contents: Data(garbage)))

            let error = try #require(throws: CatalogError.self) { try Catalog(path: path) }
            #expect(error.code == .corrupt)
            #expect(error.message.contains(path), "\(error)")
            #expect(error.cause != nil)
            #expect(FileManager.default.contents(atPath: path) == Data(garbage))
        }
    }

    @Test("damage past the header surfaces as .corrupt, naming the path, when the data is read")
    func damagedPage() async throws {
        try await withTemporaryDirectory { directory in
            let path = "\(directory)/catalog.db"
            do {
                let catalog = try Catalog(path: path)
                try catalog.recordAgent(name: "db1", seenAt: at(0))
                for index in 0..<500 {
                    _ = try catalog.insertJob(
                        agent: "db1", component: "component \(index)", kind: .backup,
                        trigger: .schedule, scheduledFor: at(Double(index)))
                }
            }
            // Keep page 1 (header and schema), overwrite every later page with junk.
            var bytes = try #require(FileManager.default.contents(atPath: path))
            let pageSize = 4096
            #expect(bytes.count > 4 * pageSize)
            bytes.replaceSubrange(
                pageSize..<bytes.count, with: Data(repeating: 0xEE, count: bytes.count - pageSize))
            try bytes.write(to: URL(fileURLWithPath: path))

            let catalog = try Catalog(path: path)
            let error = try #require(throws: CatalogError.self) { try catalog.jobs() }
            #expect(error.code == .corrupt)
            #expect(error.message.contains(path), "\(error)")
        }
    }

    @Test("another application's SQLite database is refused with .notACatalog, untouched")
    func foreignDatabaseRefused() async throws {
        try await withTemporaryDirectory { directory in
            let path = "\(directory)/other.db"
            try RawDatabase.execute(
                path, "CREATE TABLE notes (body TEXT); INSERT INTO notes VALUES ('x')")

            let error = try #require(throws: CatalogError.self) { try Catalog(path: path) }
            #expect(error.code == .notACatalog)
            #expect(error.message.contains(path), "\(error)")
            #expect(try RawDatabase.strings(path, "SELECT body FROM notes") == ["x"])
            #expect(try RawDatabase.integers(path, "PRAGMA user_version") == [0])
        }
    }

    @Test("a catalog in a missing directory fails with .io naming the path")
    func missingDirectory() async throws {
        try await withTemporaryDirectory { directory in
            let path = "\(directory)/missing/catalog.db"
            let error = try #require(throws: CatalogError.self) { try Catalog(path: path) }
            #expect(error.code == .io)
            #expect(error.message.contains(path), "\(error)")
        }
    }
}
