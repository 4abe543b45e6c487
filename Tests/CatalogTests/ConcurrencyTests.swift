import Catalog
import Foundation
import Testing

@Suite("Concurrent use")
struct ConcurrencyTests {
    @Test("8 tasks × 200 inserts on one catalog give 1600 jobs with distinct IDs")
    func manyTasksOneCatalog() async throws {
        try await withCatalog { catalog, _ in
            try catalog.recordAgent(name: "db1", seenAt: at(0))
            let ids = try await withThrowingTaskGroup(of: [JobID].self) { group in
                for task in 0..<8 {
                    group.addTask {
                        var ids: [JobID] = []
                        for index in 0..<200 {
                            ids.append(
                                try catalog.insertJob(
                                    agent: "db1", component: "c\(task)", kind: .backup,
                                    trigger: .schedule, scheduledFor: at(Double(index))))
                            if index.isMultiple(of: 50) {
                                // Readers interleave with the writers.
                                _ = try catalog.jobs(
                                    filter: JobFilter(component: "c\(task)", limit: 5))
                            }
                        }
                        return ids
                    }
                }
                return try await group.reduce(into: []) { $0 += $1 }
            }
            #expect(ids.count == 1600)
            #expect(Set(ids).count == 1600)
            #expect(try catalog.jobs().count == 1600)
            for task in 0..<8 {
                #expect(try catalog.jobs(filter: JobFilter(component: "c\(task)")).count == 200)
            }
        }
    }

    @Test("two catalogs (two connections) on one file write concurrently without busy errors")
    func twoConnections() async throws {
        try await withCatalog { first, path in
            let second = try Catalog(path: path)
            try first.recordAgent(name: "db1", seenAt: at(0))
            try await withThrowingDiscardingTaskGroup { group in
                for task in 0..<8 {
                    let catalog = task.isMultiple(of: 2) ? first : second
                    group.addTask {
                        for index in 0..<100 {
                            let id = try catalog.insertJob(
                                agent: "db1", component: "c\(task)", kind: .backup,
                                trigger: .schedule, scheduledFor: at(Double(index)))
                            try catalog.startJob(id, at: at(Double(index)))
                            try catalog.finishJob(id, as: .succeeded, at: at(Double(index) + 1))
                        }
                    }
                }
            }
            #expect(try first.jobs().count == 800)
            #expect(try second.jobs().filter { $0.state == .succeeded }.count == 800)
        }
    }
}
