package import Foundation

extension Catalog {
    /// The message ``markInterruptedJobs(at:)`` stores.
    package static let interruptedJobError = "coordinator stopped while the job was running"

    private static let jobColumns = """
        id, agent, component, kind, "trigger", state, scheduled_for, started_at, ended_at, \
        bytes_read, bytes_added, snapshot_id, error, attempt
        """

    /// Adds a job in state `queued`.
    ///
    /// - Parameters:
    ///   - scheduledFor: when the job is due; jobs are listed newest first by this date.
    ///   - attempt: 1 for a first try; a retry passes the failed attempt's number plus one.
    /// - Returns: the new job's ID, larger than every ID handed out before.
    /// - Throws: ``CatalogError/Code/constraint`` when the agent was never recorded or
    ///   `attempt` is below 1.
    package func insertJob(
        agent: String, component: String, kind: JobRecord.Kind, trigger: JobRecord.Trigger,
        scheduledFor: Date, attempt: Int = 1
    ) throws -> JobID {
        try withDatabase("add \(kind.rawValue) job for \(agent)/\(component)") { database in
            let ids = try database.query(
                """
                INSERT INTO jobs (agent, component, kind, "trigger", state, scheduled_for, attempt)
                VALUES (?, ?, ?, ?, 'queued', ?, ?) RETURNING id
                """,
                [
                    .text(agent), .text(component), .text(kind.rawValue), .text(trigger.rawValue),
                    .integer(scheduledFor.catalogMilliseconds), .integer(Int64(attempt)),
                ]
            ) { try $0.int64(0) }
            guard let id = ids.first else {
                throw CatalogError(.misuse, "INSERT … RETURNING id returned no row")
            }
            return JobID(rawValue: id)
        }
    }

    /// Moves a queued job to `running`.
    ///
    /// - Throws: ``CatalogError/Code/notFound`` for an unknown ID,
    ///   ``CatalogError/Code/invalidState`` unless the job is queued.
    package func startJob(_ id: JobID, at startedAt: Date) throws {
        try withDatabase("start job \(id)") { database in
            try database.transaction {
                try Self.requireState(of: id, in: [.queued], database)
                try database.execute(
                    "UPDATE jobs SET state = 'running', started_at = ? WHERE id = ?",
                    [.integer(startedAt.catalogMilliseconds), .integer(id.rawValue)])
            }
        }
    }

    /// Stores a running job's byte counts so far.
    ///
    /// - Throws: ``CatalogError/Code/notFound`` for an unknown ID,
    ///   ``CatalogError/Code/invalidState`` unless the job is running.
    package func recordProgress(_ id: JobID, bytesRead: Int64, bytesAdded: Int64) throws {
        try withDatabase("record progress of job \(id)") { database in
            try database.transaction {
                try Self.requireState(of: id, in: [.running], database)
                try database.execute(
                    "UPDATE jobs SET bytes_read = ?, bytes_added = ? WHERE id = ?",
                    [.integer(bytesRead), .integer(bytesAdded), .integer(id.rawValue)])
            }
        }
    }

    /// Ends a job. A finished job never changes again.
    ///
    /// `succeeded` needs a running job; `failed` and `skipped` also accept a queued one (the
    /// agent was offline, the job was cancelled before it began).
    ///
    /// - Parameters:
    ///   - state: `succeeded`, `failed` or `skipped`.
    ///   - bytesRead: the final count; nil keeps the last recorded progress.
    ///   - bytesAdded: the final count; nil keeps the last recorded progress.
    ///   - snapshotID: the snapshot a backup made.
    ///   - error: why the job failed or was skipped.
    /// - Throws: ``CatalogError/Code/invalidArgument`` when `state` is not a final state,
    ///   ``CatalogError/Code/notFound`` for an unknown ID, ``CatalogError/Code/invalidState``
    ///   when the job cannot move to `state`.
    package func finishJob(
        _ id: JobID, as state: JobRecord.State, at endedAt: Date, bytesRead: Int64? = nil,
        bytesAdded: Int64? = nil, snapshotID: String? = nil, error: String? = nil
    ) throws {
        try withDatabase("finish job \(id) as \(state.rawValue)") { database in
            guard state.isFinished else {
                throw CatalogError(.invalidArgument, "\(state.rawValue) is not a final state")
            }
            try database.transaction {
                let allowed: Set<JobRecord.State> =
                    state == .succeeded ? [.running] : [.queued, .running]
                try Self.requireState(of: id, in: allowed, database)
                try database.execute(
                    """
                    UPDATE jobs SET state = ?, ended_at = ?,
                        bytes_read = coalesce(?, bytes_read), bytes_added = coalesce(?, bytes_added),
                        snapshot_id = ?, error = ?
                    WHERE id = ?
                    """,
                    [
                        .text(state.rawValue), .integer(endedAt.catalogMilliseconds),
                        .optional(bytesRead), .optional(bytesAdded), .optional(snapshotID),
                        .optional(error), .integer(id.rawValue),
                    ])
            }
        }
    }

    /// Fails every job left `running`, as after a coordinator crash, with
    /// ``interruptedJobError``; queued jobs stay queued. Call once at start-up, before any
    /// job starts.
    ///
    /// - Returns: how many jobs were marked.
    @discardableResult
    package func markInterruptedJobs(at endedAt: Date) throws -> Int {
        try withDatabase("mark interrupted jobs") { database in
            try database.execute(
                "UPDATE jobs SET state = 'failed', ended_at = ?, error = ? WHERE state = 'running'",
                [.integer(endedAt.catalogMilliseconds), .text(Self.interruptedJobError)])
        }
    }

    /// The job with `id`, or nil.
    package func job(_ id: JobID) throws -> JobRecord? {
        try withDatabase("read job \(id)") { database in
            try database.query(
                "SELECT \(Self.jobColumns) FROM jobs WHERE id = ?", [.integer(id.rawValue)],
                row: JobRecord.init(row:)
            ).first
        }
    }

    /// The jobs matching `filter`, newest first: by scheduled date, then by ID.
    ///
    /// - Throws: ``CatalogError/Code/invalidArgument`` for a negative limit.
    package func jobs(filter: JobFilter = JobFilter()) throws -> [JobRecord] {
        try withDatabase("list jobs") { database in
            var conditions: [String] = []
            var values: [SQLiteValue] = []
            if filter.onlyFailed {
                conditions.append("state = 'failed'")
            }
            if let since = filter.since {
                conditions.append("scheduled_for >= ?")
                values.append(.integer(since.catalogMilliseconds))
            }
            if let agent = filter.agent {
                conditions.append("agent = ?")
                values.append(.text(agent))
            }
            if let component = filter.component {
                conditions.append("component = ?")
                values.append(.text(component))
            }
            var sql = "SELECT \(Self.jobColumns) FROM jobs"
            if !conditions.isEmpty {
                sql += " WHERE " + conditions.joined(separator: " AND ")
            }
            sql += " ORDER BY scheduled_for DESC, id DESC"
            if let limit = filter.limit {
                guard limit >= 0 else {
                    throw CatalogError(.invalidArgument, "limit \(limit) is negative")
                }
                sql += " LIMIT ?"
                values.append(.integer(Int64(limit)))
            }
            return try database.query(sql, values, row: JobRecord.init(row:))
        }
    }

    /// The newest job (as ``jobs(filter:)`` orders them) of this kind for this component,
    /// restricted to `state` when given; nil when there is none.
    package func lastJob(
        agent: String, component: String, kind: JobRecord.Kind, state: JobRecord.State? = nil
    ) throws -> JobRecord? {
        try withDatabase("find the last \(kind.rawValue) job of \(agent)/\(component)") {
            database in
            try database.query(
                """
                SELECT \(Self.jobColumns) FROM jobs
                WHERE agent = ? AND component = ? AND kind = ? AND (?4 IS NULL OR state = ?4)
                ORDER BY scheduled_for DESC, id DESC LIMIT 1
                """,
                [.text(agent), .text(component), .text(kind.rawValue), .optional(state?.rawValue)],
                row: JobRecord.init(row:)
            ).first
        }
    }

    private static func requireState(
        of id: JobID, in allowed: Set<JobRecord.State>, _ database: SQLiteDatabase
    ) throws {
        let states = try database.query(
            "SELECT state FROM jobs WHERE id = ?", [.integer(id.rawValue)]
        ) { try decode(JobRecord.State.self, $0, 0) }
        guard let state = states.first else {
            throw CatalogError(.notFound, "no such job")
        }
        guard allowed.contains(state) else {
            let expected = allowed.map(\.rawValue).sorted().joined(separator: " or ")
            throw CatalogError(.invalidState, "the job is \(state.rawValue), not \(expected)")
        }
    }
}

extension JobRecord {
    /// Reads the columns in `Catalog.jobColumns` order.
    init(row: SQLiteStatement) throws {
        guard let attempt = Int(exactly: try row.int64(13)) else {
            throw CatalogError(.corrupt, "attempt out of range")
        }
        self.init(
            id: JobID(rawValue: try row.int64(0)),
            agent: try row.string(1),
            component: try row.string(2),
            kind: try decode(Kind.self, row, 3),
            trigger: try decode(Trigger.self, row, 4),
            state: try decode(State.self, row, 5),
            scheduledFor: Date(catalogMilliseconds: try row.int64(6)),
            startedAt: try row.optionalInt64(7).map(Date.init(catalogMilliseconds:)),
            endedAt: try row.optionalInt64(8).map(Date.init(catalogMilliseconds:)),
            bytesRead: try row.int64(9),
            bytesAdded: try row.int64(10),
            snapshotID: try row.optionalString(11),
            error: try row.optionalString(12),
            attempt: attempt)
    }
}

/// Reads a text column into one of the job enums; an unknown word means a damaged row.
private func decode<Value: RawRepresentable<String>>(
    _ type: Value.Type, _ row: SQLiteStatement, _ column: Int32
) throws -> Value {
    let text = try row.string(column)
    guard let value = Value(rawValue: text) else {
        throw CatalogError(.corrupt, "column \(row.columnName(column)) holds unknown '\(text)'")
    }
    return value
}
