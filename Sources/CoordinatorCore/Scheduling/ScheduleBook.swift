package import Foundation

/// When one component is backed up and how its runs are bounded.
package struct ComponentSchedule: Sendable, Hashable {
    /// The component, as `agent/component`.
    package var key: ComponentKey
    /// Fire times are the union of these; times that coincide give one run.
    package var expressions: [CronExpression]
    package var timeZone: TimeZone
    /// Each run starts at its fire time plus a delay in `0..<randomDelay`, to stagger jobs.
    package var randomDelay: Duration
    /// A run must end this long after its planned start (waiting for the agent included).
    package var timeout: Duration
    /// Extra attempts after a failed run.
    package var retries: Int
    /// The first retry waits this long; each further one twice as long.
    package var retryBackoff: Duration

    package init(
        key: ComponentKey, expressions: [CronExpression], timeZone: TimeZone,
        randomDelay: Duration = .zero, timeout: Duration = .seconds(3600), retries: Int = 2,
        retryBackoff: Duration = .seconds(300)
    ) {
        (self.key, self.expressions, self.timeZone) = (key, expressions, timeZone)
        (self.randomDelay, self.timeout) = (randomDelay, timeout)
        (self.retries, self.retryBackoff) = (retries, retryBackoff)
    }

    /// The first fire instant strictly after `instant`, over all expressions.
    package func nextFire(after instant: Date) -> Date? {
        expressions.compactMap { $0.nextFire(after: instant, in: timeZone) }.min()
    }
}

/// An agent's component: the unit that is scheduled, retained and restored.
package struct ComponentKey: Sendable, Hashable, Comparable, CustomStringConvertible {
    package var agent: String
    package var component: String

    package init(agent: String, component: String) {
        (self.agent, self.component) = (agent, component)
    }

    package var description: String { "\(agent)/\(component)" }

    package static func < (a: Self, b: Self) -> Bool {
        (a.agent, a.component) < (b.agent, b.component)
    }
}

/// How many jobs may run at once.
package struct ConcurrencyLimits: Sendable, Hashable {
    package var global: Int
    package var perAgent: Int

    package init(global: Int = 4, perAgent: Int = 1) {
        (self.global, self.perAgent) = (global, perAgent)
    }
}

/// The scheduler's decisions as a value: fed the current time and job outcomes, it says which
/// jobs to start, skip, fail or cancel (DESIGN: Scheduler). No clock, no I/O, so a month of
/// schedules runs in a test in milliseconds.
///
/// Rules:
/// - At most one job per component: a fire time that finds the previous job still waiting
///   or running is recorded as skipped.
/// - A job starts at its fire time plus a stable pseudo-random delay below `randomDelay`,
///   once its agent is connected and the global and per-agent limits allow, oldest first.
/// - It must end within `timeout` of its planned start: one still waiting then fails
///   (naming why it waited), one still running is cancelled and fails.
/// - A failed job is retried up to `retries` times, after `retryBackoff`, doubling.
/// - Fire times missed while the coordinator was down give exactly one catch-up job.
package struct ScheduleBook: Sendable {
    /// Why a job was created.
    package enum Trigger: String, Sendable, Hashable {
        case schedule, catchup, retry, manual
    }

    /// One planned or running backup.
    package struct Job: Sendable, Hashable, Identifiable {
        package var id: Int
        package var key: ComponentKey
        package var trigger: Trigger
        package var attempt: Int
        /// The fire time (or retry time) the job stands for.
        package var scheduledFor: Date
        /// When it may start: `scheduledFor` plus the stagger delay.
        package var startAt: Date
        /// When it fails if it has not ended.
        package var deadline: Date
        package var isRunning = false
    }

    /// What the caller must do.
    package enum Action: Sendable, Hashable {
        /// Record a new job (it waits until it can start).
        case queue(Job)
        /// Start the job now.
        case start(Job)
        /// A fire time found the component's previous job still going.
        case skip(ComponentKey, scheduledFor: Date, reason: String)
        /// The job failed before it started (its deadline passed while waiting).
        case fail(Job, reason: String)
        /// The running job passed its deadline: stop it; it has failed.
        case cancel(Job, reason: String)
    }

    private var schedules: [ComponentKey: ComponentSchedule] = [:]
    private var nextFire: [ComponentKey: Date] = [:]
    private var jobs: [Int: Job] = [:]
    private var lastJobID = 0
    private let limits: ConcurrencyLimits
    private var pendingActions: [Action] = []

    package init(limits: ConcurrencyLimits) { self.limits = limits }

    /// Schedules a component (again); an unchanged schedule is left as it is.
    /// - Parameters:
    ///   - lastScheduled: the latest fire time a job was recorded for (from the catalog). If
    ///     a fire time lies after it and before `now`, exactly one catch-up job is queued.
    /// - Returns: the catch-up job's `.queue` action, if any.
    package mutating func add(
        _ schedule: ComponentSchedule, now: Date, lastScheduled: Date?
    ) -> [Action] {
        guard schedules[schedule.key] != schedule else { return [] }
        schedules[schedule.key] = schedule
        nextFire[schedule.key] = schedule.nextFire(after: now)
        if let last = lastScheduled, let missed = schedule.nextFire(after: last), missed < now,
            !jobs.values.contains(where: { $0.key == schedule.key })
        {
            addJob(schedule, trigger: .catchup, attempt: 1, scheduledFor: now)
        }
        defer { pendingActions = [] }
        return pendingActions
    }

    /// Stops scheduling a component (its agent was revoked); its waiting jobs are dropped,
    /// a running one ends as it will.
    /// - Returns: the dropped jobs.
    package mutating func remove(_ key: ComponentKey) -> [Job] {
        schedules.removeValue(forKey: key)
        nextFire.removeValue(forKey: key)
        let dropped = jobs.values.filter { $0.key == key && !$0.isRunning }
        for job in dropped { jobs.removeValue(forKey: job.id) }
        return dropped
    }

    /// Whether the component has a schedule.
    package func isScheduled(_ key: ComponentKey) -> Bool { schedules[key] != nil }

    /// Jobs waiting or running, by start time.
    package var activeJobs: [Job] {
        jobs.values.sorted { ($0.startAt, $0.id) < ($1.startAt, $1.id) }
    }

    /// The first time after `now` when `advance` has something to do, if nothing else happens
    /// before (a job ending or an agent connecting also calls for `advance`).
    package func nextWakeUp(after now: Date) -> Date? {
        var times = Array(nextFire.values)
        for job in jobs.values {
            times.append(job.deadline)
            if !job.isRunning { times.append(job.startAt) }
        }
        return times.filter { $0 > now }.min()
    }

    /// Handles every fire time and deadline up to `now` and starts what may start.
    /// - Parameter isConnected: whether an agent has a live session.
    package mutating func advance(
        to now: Date, isConnected: (String) -> Bool
    ) -> [Action] {
        for key in nextFire.keys.sorted() {
            guard let schedule = schedules[key], var fire = nextFire[key], fire <= now else {
                continue
            }
            // Several fire times passed at once (the process was suspended): one run.
            var latest = fire
            while let next = schedule.nextFire(after: fire), next <= now {
                latest = next
                fire = next
            }
            nextFire[key] = schedule.nextFire(after: latest)
            if let busy = jobs.values.first(where: { $0.key == key }) {
                pendingActions.append(
                    .skip(
                        key, scheduledFor: latest,
                        reason:
                            "job \(busy.id) for \(key) is still \(busy.isRunning ? "running" : "waiting")"
                    ))
            } else {
                addJob(schedule, trigger: .schedule, attempt: 1, scheduledFor: latest)
            }
        }
        for job in activeJobs where job.deadline <= now {
            jobs.removeValue(forKey: job.id)
            if job.isRunning {
                pendingActions.append(
                    .cancel(job, reason: "timed out after \(schedules[job.key]?.timeout ?? .zero)"))
            } else {
                let reason =
                    isConnected(job.key.agent)
                    ? "no free job slot until the deadline"
                    : "agent \(job.key.agent) did not connect before the deadline"
                pendingActions.append(.fail(job, reason: reason))
                retryIfAllowed(job, now: now)
            }
        }
        var running = jobs.values.filter(\.isRunning)
        for job in activeJobs where !job.isRunning && job.startAt <= now {
            guard isConnected(job.key.agent), running.count < limits.global,
                running.filter({ $0.key.agent == job.key.agent }).count < limits.perAgent
            else { continue }
            jobs[job.id]?.isRunning = true
            running.append(jobs[job.id]!)
            pendingActions.append(.start(jobs[job.id]!))
        }
        defer { pendingActions = [] }
        return pendingActions
    }

    /// Records how a started job ended; a failure may queue a retry.
    /// - Returns: the retry's `.queue` action, if one was made.
    package mutating func finish(_ id: Int, succeeded: Bool, at now: Date) -> [Action] {
        guard let job = jobs.removeValue(forKey: id) else { return [] }
        if !succeeded { retryIfAllowed(job, now: now) }
        defer { pendingActions = [] }
        return pendingActions
    }

    /// A job the operator asked for; it follows the same limits.
    package mutating func runNow(_ key: ComponentKey, at now: Date) throws -> Job {
        guard let schedule = schedules[key] else {
            throw CoordinatorError("\(key) has no schedule")
        }
        if let busy = jobs.values.first(where: { $0.key == key }) {
            throw CoordinatorError("\(key) already has job \(busy.id)")
        }
        var immediate = schedule
        immediate.randomDelay = .zero
        return addJob(immediate, trigger: .manual, attempt: 1, scheduledFor: now)
    }

    private mutating func retryIfAllowed(_ job: Job, now: Date) {
        guard let schedule = schedules[job.key], job.attempt <= schedule.retries else { return }
        let wait = schedule.retryBackoff * (1 << (job.attempt - 1))
        var retry = schedule
        retry.randomDelay = .zero
        addJob(
            retry, trigger: .retry, attempt: job.attempt + 1, scheduledFor: now + wait.timeInterval)
    }

    @discardableResult
    private mutating func addJob(
        _ schedule: ComponentSchedule, trigger: Trigger, attempt: Int, scheduledFor: Date
    ) -> Job {
        lastJobID += 1
        let start = scheduledFor + Self.stagger(schedule, at: scheduledFor).timeInterval
        let job = Job(
            id: lastJobID, key: schedule.key, trigger: trigger, attempt: attempt,
            scheduledFor: scheduledFor, startAt: start,
            deadline: start + schedule.timeout.timeInterval)
        jobs[job.id] = job
        pendingActions.append(.queue(job))
        return job
    }

    /// A delay in `0..<randomDelay` that is the same for the same component and fire time, so
    /// a restarted coordinator plans the same start (FNV-1a over the key and the minute).
    package static func stagger(_ schedule: ComponentSchedule, at fire: Date) -> Duration {
        let bound = schedule.randomDelay.components.seconds
        guard bound > 0 else { return .zero }
        var hash: UInt64 = 0xCBF2_9CE4_8422_2325
        let minute = Int64(fire.timeIntervalSince1970 / 60)
        for byte in Array("\(schedule.key)@\(minute)".utf8) {
            hash = (hash ^ UInt64(byte)) &* 0x100_0000_01B3
        }
        return .seconds(Int64(hash % UInt64(bound)))
    }
}
