import Catalog
import Foundation
import Testing

@Suite("Agents and components")
struct AgentTests {
    @Test("recording an agent keeps the earliest first-seen, the latest last-seen, and revocation")
    func recordAgent() async throws {
        try await withCatalog { catalog, _ in
            try catalog.recordAgent(name: "db1", seenAt: at(100))
            try catalog.recordAgent(name: "db1", seenAt: at(50))
            try catalog.recordAgent(name: "db1", seenAt: at(300))
            try catalog.recordAgent(name: "app", seenAt: at(10))
            #expect(
                try catalog.agent(named: "db1")
                    == AgentRecord(
                        name: "db1", firstSeen: at(50), lastSeen: at(300), isRevoked: false))

            try catalog.setRevoked(agent: "db1", isRevoked: true)
            try catalog.recordAgent(name: "db1", seenAt: at(400))
            #expect(try catalog.agent(named: "db1")?.isRevoked == true)
            #expect(try catalog.agents().map(\.name) == ["app", "db1"])
            #expect(try catalog.agents().map(\.isRevoked) == [false, true])

            try catalog.setRevoked(agent: "db1", isRevoked: false)
            #expect(try catalog.agent(named: "db1")?.isRevoked == false)
            #expect(try catalog.agent(named: "nobody") == nil)
        }
    }

    @Test("revoking an unknown agent fails with .notFound naming it")
    func revokeUnknown() async throws {
        try await withCatalog { catalog, _ in
            let error = try #require(throws: CatalogError.self) {
                try catalog.setRevoked(agent: "ghost", isRevoked: true)
            }
            #expect(error.code == .notFound)
            #expect(error.message.contains("ghost"), "\(error)")
        }
    }

    @Test("upserting a component adds it once and updates its kind; an unknown agent is refused")
    func upsertComponent() async throws {
        try await withCatalog { catalog, _ in
            try catalog.recordAgent(name: "db1", seenAt: at(0))
            try catalog.recordAgent(name: "app", seenAt: at(0))
            try catalog.upsertComponent(agent: "db1", name: "main", kind: "files")
            try catalog.upsertComponent(agent: "db1", name: "main", kind: "postgresql")
            try catalog.upsertComponent(agent: "db1", name: "cache", kind: "redis")
            try catalog.upsertComponent(agent: "app", name: "main", kind: "files")
            #expect(
                try catalog.components(agent: "db1") == [
                    ComponentRecord(agent: "db1", name: "cache", kind: "redis"),
                    ComponentRecord(agent: "db1", name: "main", kind: "postgresql"),
                ])
            #expect(try catalog.components().count == 3)

            let error = try #require(throws: CatalogError.self) {
                try catalog.upsertComponent(agent: "ghost", name: "main", kind: "files")
            }
            #expect(error.code == .constraint)
            #expect(error.message.contains("FOREIGN KEY"), "\(error)")
        }
    }
}
