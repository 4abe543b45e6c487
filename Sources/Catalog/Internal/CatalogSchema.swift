/// The catalog's schema, as the ordered list of migrations that builds it.
///
/// Append a migration to change the schema; never edit one that has been released. Columns
/// holding dates are integer milliseconds since 1970-01-01 UTC. Tables are `STRICT`, so SQLite
/// rejects a value of the wrong type instead of storing it.
enum CatalogSchema {
    /// Written to the header's application ID (`PRAGMA application_id`): "ZBCT".
    ///
    /// Format-critical: it tells a catalog from other SQLite files; never change it.
    static let applicationID: Int32 = 0x5A42_4354

    /// Every migration, version 1 first.
    static let migrations: [SchemaMigration] = [
        SchemaMigration(
            version: 1, summary: "agents, components, jobs, snapshot cache", sql: version1),
        SchemaMigration(version: 2, summary: "sync jobs (copies to other tiers)", sql: version2),
    ]

    /// The newest version this build knows.
    static var latestVersion: Int32 { migrations.last?.version ?? 0 }

    private static let version1 = """
        PRAGMA application_id = \(applicationID);

        CREATE TABLE agents (
            name        TEXT    NOT NULL PRIMARY KEY,
            first_seen  INTEGER NOT NULL,
            last_seen   INTEGER NOT NULL,
            revoked     INTEGER NOT NULL DEFAULT 0 CHECK (revoked IN (0, 1))
        ) STRICT;

        CREATE TABLE components (
            agent  TEXT NOT NULL REFERENCES agents (name) ON DELETE CASCADE,
            name   TEXT NOT NULL,
            kind   TEXT NOT NULL,
            PRIMARY KEY (agent, name)
        ) STRICT;

        CREATE TABLE jobs (
            id             INTEGER PRIMARY KEY,
            agent          TEXT    NOT NULL REFERENCES agents (name),
            component      TEXT    NOT NULL,
            kind           TEXT    NOT NULL
                CHECK (kind IN ('backup', 'restore', 'prune', 'check', 'forget', 'verify')),
            "trigger"      TEXT    NOT NULL
                CHECK ("trigger" IN ('schedule', 'catchup', 'retry', 'manual')),
            state          TEXT    NOT NULL
                CHECK (state IN ('queued', 'running', 'succeeded', 'failed', 'skipped')),
            scheduled_for  INTEGER NOT NULL,
            started_at     INTEGER,
            ended_at       INTEGER,
            bytes_read     INTEGER NOT NULL DEFAULT 0 CHECK (bytes_read >= 0),
            bytes_added    INTEGER NOT NULL DEFAULT 0 CHECK (bytes_added >= 0),
            snapshot_id    TEXT,
            error          TEXT,
            attempt        INTEGER NOT NULL DEFAULT 1 CHECK (attempt >= 1),
            CHECK ((ended_at IS NULL) = (state IN ('queued', 'running'))),
            CHECK (state <> 'running' OR started_at IS NOT NULL)
        ) STRICT;

        CREATE INDEX jobs_newest_first ON jobs (scheduled_for DESC, id DESC);
        CREATE INDEX jobs_by_source
            ON jobs (agent, component, kind, state, scheduled_for DESC, id DESC);
        CREATE INDEX jobs_by_state ON jobs (state);

        CREATE TABLE snapshots (
            tier         TEXT    NOT NULL DEFAULT 'local',
            id           TEXT    NOT NULL,
            agent        TEXT    NOT NULL,
            component    TEXT    NOT NULL,
            kind         TEXT    NOT NULL,
            start_time   INTEGER NOT NULL,
            end_time     INTEGER NOT NULL,
            size         INTEGER NOT NULL CHECK (size >= 0),
            bytes_added  INTEGER NOT NULL CHECK (bytes_added >= 0),
            tags         TEXT    NOT NULL DEFAULT '[]' CHECK (json_valid(tags)),
            PRIMARY KEY (tier, id)
        ) STRICT;

        CREATE INDEX snapshots_by_source ON snapshots (tier, agent, component, start_time DESC);
        """

    /// SQLite cannot change a CHECK constraint in place: the jobs table is rebuilt with
    /// `sync` among its kinds, rows and indexes unchanged.
    private static let version2 = """
        CREATE TABLE jobs_v2 (
            id             INTEGER PRIMARY KEY,
            agent          TEXT    NOT NULL REFERENCES agents (name),
            component      TEXT    NOT NULL,
            kind           TEXT    NOT NULL
                CHECK (kind IN ('backup', 'restore', 'prune', 'check', 'forget', 'verify', 'sync')),
            "trigger"      TEXT    NOT NULL
                CHECK ("trigger" IN ('schedule', 'catchup', 'retry', 'manual')),
            state          TEXT    NOT NULL
                CHECK (state IN ('queued', 'running', 'succeeded', 'failed', 'skipped')),
            scheduled_for  INTEGER NOT NULL,
            started_at     INTEGER,
            ended_at       INTEGER,
            bytes_read     INTEGER NOT NULL DEFAULT 0 CHECK (bytes_read >= 0),
            bytes_added    INTEGER NOT NULL DEFAULT 0 CHECK (bytes_added >= 0),
            snapshot_id    TEXT,
            error          TEXT,
            attempt        INTEGER NOT NULL DEFAULT 1 CHECK (attempt >= 1),
            CHECK ((ended_at IS NULL) = (state IN ('queued', 'running'))),
            CHECK (state <> 'running' OR started_at IS NOT NULL)
        ) STRICT;

        INSERT INTO jobs_v2 SELECT * FROM jobs;
        DROP TABLE jobs;
        ALTER TABLE jobs_v2 RENAME TO jobs;

        CREATE INDEX jobs_newest_first ON jobs (scheduled_for DESC, id DESC);
        CREATE INDEX jobs_by_source
            ON jobs (agent, component, kind, state, scheduled_for DESC, id DESC);
        CREATE INDEX jobs_by_state ON jobs (state);
        """
}
