import Catalog
import Foundation
import Testing

@Suite("Jobs")
struct JobTests {
    private func prepare(_ catalog: Catalog) throws {
        for agent in ["db1", "app"] {
            try catalog.recordAgent(name: agent, seenAt: at(0))
        }
    }

    @Test("a job goes queued → running → succeeded and then never changes")
    func lifecycle() async throws {
        try await withCatalog { catalog, _ in
            try prepare(catalog)
            let id = try catalog.insertJob(
                agent: "db1", component: "main", kind: .backup, trigger: .schedule,
                scheduledFor: at(100))
            #expect(
                try catalog.job(id)
                    == JobRecord(
                        id: id, agent: "db1", component: "main", kind: .backup,
                        trigger: .schedule, state: .queued, scheduledFor: at(100)))

            try catalog.startJob(id, at: at(101))
            try catalog.recordProgress(id, bytesRead: 1000, bytesAdded: 10)
            #expect(try catalog.job(id)?.state == .running)
            #expect(try catalog.job(id)?.bytesRead == 1000)

            try catalog.finishJob(
                id, as: .succeeded, at: at(160), bytesRead: 4096, snapshotID: "ab12")
            let finished = try #require(try catalog.job(id))
            #expect(finished.state == .succeeded)
            #expect(finished.startedAt == at(101))
            #expect(finished.endedAt == at(160))
            #expect(finished.bytesRead == 4096)
            #expect(finished.bytesAdded == 10, "nil keeps the recorded progress")
            #expect(finished.snapshotID == "ab12")
            #expect(finished.error == nil)
            #expect(finished.attempt == 1)

            for attempt in [
                { try catalog.finishJob(id, as: .failed, at: at(170), error: "late") },
                { try catalog.startJob(id, at: at(170)) },
                { try catalog.recordProgress(id, bytesRead: 1, bytesAdded: 1) },
            ] {
                let error = try #require(throws: CatalogError.self) { try attempt() }
                #expect(error.code == .invalidState)
                #expect(error.message.contains("job \(id)"), "\(error)")
            }
            #expect(try catalog.job(id) == finished)
        }
    }

    @Test("illegal calls fail with the right code and change nothing")
    func illegalCalls() async throws {
        try await withCatalog { catalog, _ in
            try prepare(catalog)
            let queued = try catalog.insertJob(
                agent: "db1", component: "main", kind: .backup, trigger: .manual,
                scheduledFor: at(0))
            let missing = JobID(rawValue: 9999)

            #expect(throws: CatalogError(.notFound, "")) {
                try catalog.startJob(missing, at: at(1))
            }
            #expect(throws: CatalogError(.notFound, "")) {
                try catalog.finishJob(missing, as: .failed, at: at(1))
            }
            #expect(throws: CatalogError(.invalidArgument, "")) {
                try catalog.finishJob(queued, as: .running, at: at(1))
            }
            #expect(throws: CatalogError(.invalidState, "")) {
                try catalog.finishJob(queued, as: .succeeded, at: at(1))
            }
            #expect(throws: CatalogError(.invalidState, "")) {
                try catalog.recordProgress(queued, bytesRead: 1, bytesAdded: 1)
            }
            #expect(throws: CatalogError(.constraint, "")) {
                try catalog.insertJob(
                    agent: "ghost", component: "main", kind: .backup, trigger: .manual,
                    scheduledFor: at(0))
            }
            #expect(throws: CatalogError(.constraint, "")) {
                try catalog.insertJob(
                    agent: "db1", component: "main", kind: .backup, trigger: .retry,
                    scheduledFor: at(0), attempt: 0)
            }
            #expect(try catalog.jobs().map(\.id) == [queued])
            #expect(try catalog.job(queued)?.state == .queued)

            try catalog.finishJob(queued, as: .skipped, at: at(2), error: "agent offline")
            let skipped = try #require(try catalog.job(queued))
            #expect(skipped.state == .skipped)
            #expect(skipped.startedAt == nil)
            #expect(skipped.endedAt == at(2))
            #expect(skipped.error == "agent offline")
        }
    }

    @Test("dates are stored as integer milliseconds since 1970 UTC")
    func millisecondDates() async throws {
        try await withCatalog { catalog, path in
            try prepare(catalog)
            let id = try catalog.insertJob(
                agent: "db1", component: "main", kind: .verify, trigger: .schedule,
                scheduledFor: Date(timeIntervalSince1970: 1_700_000_000.123))
            #expect(
                try RawDatabase.integers(path, "SELECT scheduled_for FROM jobs")
                    == [1_700_000_000_123])
            let read = try #require(try catalog.job(id)).scheduledFor
            #expect(abs(read.timeIntervalSince1970 - 1_700_000_000.123) < 0.000_5)
        }
    }

    @Test("filters: failed only, since, agent, component and limit, newest first")
    func filters() async throws {
        try await withCatalog { catalog, _ in
            try prepare(catalog)
            // (agent, component, scheduled second, final state)
            let plan: [(String, String, Double, JobRecord.State)] = [
                ("db1", "main", 10, .succeeded),
                ("db1", "main", 20, .failed),
                ("db1", "cache", 20, .failed),
                ("app", "main", 30, .succeeded),
                ("app", "files", 40, .failed),
                ("db1", "main", 50, .skipped),
                ("db1", "main", 60, .queued),
            ]
            var ids: [JobID] = []
            for (agent, component, second, state) in plan {
                let id = try catalog.insertJob(
                    agent: agent, component: component, kind: .backup, trigger: .schedule,
                    scheduledFor: at(second))
                switch state {
                case .queued: break
                case .skipped:
                    try catalog.finishJob(id, as: .skipped, at: at(second))
                default:
                    try catalog.startJob(id, at: at(second))
                    try catalog.finishJob(
                        id, as: state, at: at(second + 5),
                        error: state == .failed ? "exit status 1" : nil)
                }
                ids.append(id)
            }

            // Newest first; the two jobs at second 20 by descending ID.
            #expect(try catalog.jobs().map(\.id) == [6, 5, 4, 3, 2, 1, 0].map { ids[$0] })
            #expect(
                try catalog.jobs(filter: JobFilter(onlyFailed: true)).map(\.id)
                    == [4, 2, 1].map { ids[$0] })
            #expect(
                try catalog.jobs(filter: JobFilter(since: at(30))).map(\.id)
                    == [6, 5, 4, 3].map { ids[$0] })
            #expect(
                try catalog.jobs(filter: JobFilter(agent: "app")).map(\.id)
                    == [4, 3].map { ids[$0] })
            #expect(
                try catalog.jobs(filter: JobFilter(component: "main")).map(\.id)
                    == [6, 5, 3, 1, 0].map { ids[$0] })
            #expect(
                try catalog.jobs(filter: JobFilter(limit: 2)).map(\.id) == [6, 5].map { ids[$0] })
            #expect(try catalog.jobs(filter: JobFilter(limit: 0)).isEmpty)
            let combined = JobFilter(
                onlyFailed: true, since: at(15), agent: "db1", component: "main", limit: 5)
            #expect(try catalog.jobs(filter: combined).map(\.id) == [ids[1]])
            #expect(try catalog.jobs(filter: JobFilter(agent: "nobody")).isEmpty)

            let error = try #require(throws: CatalogError.self) {
                try catalog.jobs(filter: JobFilter(limit: -1))
            }
            #expect(error.code == .invalidArgument)
        }
    }

    @Test("lastJob finds the newest job of a kind, optionally in one state")
    func lastJob() async throws {
        try await withCatalog { catalog, _ in
            try prepare(catalog)
            func add(
                _ second: Double, _ kind: JobRecord.Kind, _ state: JobRecord.State
            ) throws -> JobID {
                let id = try catalog.insertJob(
                    agent: "db1", component: "main", kind: kind, trigger: .schedule,
                    scheduledFor: at(second))
                try catalog.startJob(id, at: at(second))
                try catalog.finishJob(id, as: state, at: at(second + 1))
                return id
            }
            let oldSuccess = try add(10, .backup, .succeeded)
            let failure = try add(20, .backup, .failed)
            _ = try add(30, .prune, .succeeded)

            #expect(
                try catalog.lastJob(agent: "db1", component: "main", kind: .backup)?.id == failure)
            #expect(
                try catalog.lastJob(
                    agent: "db1", component: "main", kind: .backup, state: .succeeded)?.id
                    == oldSuccess)
            #expect(try catalog.lastJob(agent: "db1", component: "main", kind: .restore) == nil)
            #expect(try catalog.lastJob(agent: "db1", component: "other", kind: .backup) == nil)
        }
    }

    @Test("jobs left running by a crash are marked failed at start-up; others are untouched")
    func interruptedJobs() async throws {
        try await withCatalog { catalog, path in
            try prepare(catalog)
            var running: [JobID] = []
            for second in [1.0, 2.0] {
                let id = try catalog.insertJob(
                    agent: "db1", component: "main", kind: .backup, trigger: .schedule,
                    scheduledFor: at(second))
                try catalog.startJob(id, at: at(second))
                running.append(id)
            }
            let queued = try catalog.insertJob(
                agent: "app", component: "main", kind: .check, trigger: .manual, scheduledFor: at(3)
            )
            let done = try catalog.insertJob(
                agent: "app", component: "main", kind: .backup, trigger: .manual,
                scheduledFor: at(4))
            try catalog.startJob(done, at: at(4))
            try catalog.finishJob(done, as: .succeeded, at: at(5))
            let doneBefore = try catalog.job(done)

            // As after a crash: a new Catalog on the same file.
            let restarted = try Catalog(path: path)
            #expect(try restarted.markInterruptedJobs(at: at(100)) == 2)
            for id in running {
                let job = try #require(try restarted.job(id))
                #expect(job.state == .failed)
                #expect(job.error == "coordinator stopped while the job was running")
                #expect(job.endedAt == at(100))
                #expect(job.startedAt != nil)
            }
            #expect(try restarted.job(queued)?.state == .queued)
            #expect(try restarted.job(done) == doneBefore)
            #expect(try restarted.markInterruptedJobs(at: at(200)) == 0)
            #expect(try restarted.jobs(filter: JobFilter(onlyFailed: true)).count == 2)
        }
    }

    @Test("job records encode to JSON with a numeric ID and decode back equal")
    func codable() async throws {
        try await withCatalog { catalog, _ in
            try prepare(catalog)
            let id = try catalog.insertJob(
                agent: "db1", component: "main", kind: .forget, trigger: .catchup,
                scheduledFor: at(0), attempt: 2)
            try catalog.startJob(id, at: at(1))
            try catalog.finishJob(id, as: .failed, at: at(2), error: "repository locked")
            let job = try #require(try catalog.job(id))

            let encoder = JSONEncoder()
            encoder.dateEncodingStrategy = .iso8601
            let json = try encoder.encode([job])
            let object = try #require(
                try JSONSerialization.jsonObject(with: json) as? [[String: Any]])
            #expect(object.first?["id"] as? Int == Int(id.rawValue))
            #expect(object.first?["trigger"] as? String == "catchup")
            #expect(object.first?["attempt"] as? Int == 2)

            let decoder = JSONDecoder()
            decoder.dateDecodingStrategy = .iso8601
            #expect(try decoder.decode([JobRecord].self, from: json) == [job])
        }
    }
}
