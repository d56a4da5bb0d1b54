import GRDB

/// The schema, as append-only migrations: a migration that has shipped is never edited.
enum Migrations {
    static var migrator: DatabaseMigrator {
        var migrator = DatabaseMigrator()
        migrator.registerMigration("v1: resource, run, journal, lock") { db in
            try db.execute(sql: """
                CREATE TABLE resource (
                    kind TEXT NOT NULL,
                    name TEXT NOT NULL,
                    host TEXT NOT NULL,
                    spec_json TEXT NOT NULL,
                    spec_hash TEXT NOT NULL,
                    generation INTEGER NOT NULL CHECK (generation >= 1),
                    commit_id TEXT,
                    applied_at DATETIME NOT NULL,
                    PRIMARY KEY (kind, name)
                );
                CREATE TABLE run (
                    id INTEGER PRIMARY KEY AUTOINCREMENT,
                    kind TEXT NOT NULL CHECK (kind IN ('plan', 'apply')),
                    started_at DATETIME NOT NULL,
                    finished_at DATETIME,
                    commit_id TEXT,
                    actor TEXT NOT NULL,
                    result TEXT NOT NULL CHECK (result IN ('running', 'succeeded', 'failed', 'refused')),
                    summary TEXT
                );
                CREATE TABLE journal (
                    id INTEGER PRIMARY KEY AUTOINCREMENT,
                    run_id INTEGER NOT NULL REFERENCES run(id) ON DELETE CASCADE,
                    kind TEXT NOT NULL,
                    name TEXT NOT NULL,
                    host TEXT NOT NULL,
                    action TEXT NOT NULL,
                    detail TEXT NOT NULL,
                    status TEXT NOT NULL CHECK (status IN ('pending', 'done', 'failed')),
                    error TEXT,
                    started_at DATETIME NOT NULL,
                    finished_at DATETIME
                );
                CREATE INDEX journal_status ON journal(status);
                CREATE TABLE lock (
                    id INTEGER PRIMARY KEY CHECK (id = 1),
                    holder TEXT NOT NULL,
                    pid INTEGER NOT NULL,
                    hostname TEXT NOT NULL,
                    acquired_at DATETIME NOT NULL,
                    expires_at DATETIME NOT NULL
                );
                """)
        }
        migrator.registerMigration("v2: resource.pending_restart") { db in
            // Fields applied to the config that the running VM only sees at its next boot (JSON array).
            try db.execute(sql: "ALTER TABLE resource ADD COLUMN pending_restart TEXT NOT NULL DEFAULT '[]'")
        }
        migrator.registerMigration("v3: owned_storage") { db in
            // Pools and volumes vmplan created itself: libvirt has no metadata element for them,
            // so this table is the only proof of ownership. Nothing absent from it is ever deleted.
            try db.execute(sql: """
                CREATE TABLE owned_storage (
                    kind TEXT NOT NULL CHECK (kind IN ('StoragePool', 'Volume')),
                    host TEXT NOT NULL,
                    pool TEXT NOT NULL,
                    name TEXT NOT NULL,
                    libvirt_key TEXT NOT NULL,
                    created_at DATETIME NOT NULL,
                    PRIMARY KEY (kind, host, pool, name)
                );
                """)
        }
        migrator.registerMigration("v4: application_id") { db in
            // Marks the file as vmplan's, so that another program's SQLite file is never taken for one.
            // 0x766D706C ('vmpl') is StateFile.applicationID, written out: a shipped migration never changes.
            try db.execute(sql: "PRAGMA application_id = 1986883692")
        }
        migrator.registerMigration("v5: lock.process_start, lock.boot_id") { db in
            // Tell the process that took the lock from a later one that reuses its pid.
            try db.execute(sql: """
                ALTER TABLE lock ADD COLUMN process_start INTEGER;
                ALTER TABLE lock ADD COLUMN boot_id TEXT;
                """)
        }
        migrator.registerMigration("v6: state identity") { db in
            // Each state names itself; the ownership marker of every domain it creates carries that
            // name, so that no other state takes the domain for its own.
            try db.execute(sql: """
                CREATE TABLE identity (
                    id INTEGER PRIMARY KEY CHECK (id = 1),
                    state_id TEXT NOT NULL
                );
                INSERT INTO identity (id, state_id) VALUES (1, lower(hex(randomblob(4)) || '-' || hex(randomblob(2)) || '-' || hex(randomblob(2))
                    || '-' || hex(randomblob(2)) || '-' || hex(randomblob(6))));
                """)
        }
        migrator.registerMigration("v7: drift, run kinds drift and reconcile, run result partial") { db in
            // One row per occurrence of a drifted field: open while checks keep seeing it, resolved
            // once a check of its host no longer does. At most one open row per field.
            try db.execute(sql: """
                CREATE TABLE drift (
                    id INTEGER PRIMARY KEY AUTOINCREMENT,
                    kind TEXT NOT NULL,
                    name TEXT NOT NULL,
                    host TEXT NOT NULL,
                    field TEXT NOT NULL,
                    recorded TEXT,
                    live TEXT,
                    first_seen DATETIME NOT NULL,
                    last_seen DATETIME NOT NULL CHECK (last_seen >= first_seen),
                    times_seen INTEGER NOT NULL CHECK (times_seen >= 1),
                    resolved_at DATETIME,
                    resolution TEXT CHECK (resolution IN ('apply', 'by-hand', 'gone')),
                    CHECK ((resolved_at IS NULL) = (resolution IS NULL))
                );
                CREATE UNIQUE INDEX drift_open ON drift(kind, name, host, field) WHERE resolved_at IS NULL;
                CREATE INDEX drift_name ON drift(name, kind, host, field);
                """)
            // SQLite cannot alter a CHECK constraint: the table is rebuilt (sqlite.org/lang_altertable.html).
            // The migrator has turned foreign keys off, so dropping run cascades to no journal row, and
            // checks them after. The AUTOINCREMENT counter is carried over so that no run id is reused.
            try db.execute(sql: """
                CREATE TABLE run_new (
                    id INTEGER PRIMARY KEY AUTOINCREMENT,
                    kind TEXT NOT NULL CHECK (kind IN ('plan', 'apply', 'drift', 'reconcile')),
                    started_at DATETIME NOT NULL,
                    finished_at DATETIME,
                    commit_id TEXT,
                    actor TEXT NOT NULL,
                    result TEXT NOT NULL CHECK (result IN ('running', 'succeeded', 'failed', 'refused', 'partial')),
                    summary TEXT
                );
                INSERT INTO run_new (id, kind, started_at, finished_at, commit_id, actor, result, summary)
                    SELECT id, kind, started_at, finished_at, commit_id, actor, result, summary FROM run;
                DELETE FROM sqlite_sequence WHERE name = 'run_new';
                INSERT INTO sqlite_sequence (name, seq) SELECT 'run_new', seq FROM sqlite_sequence WHERE name = 'run';
                DROP TABLE run;
                ALTER TABLE run_new RENAME TO run;
                """)
        }
        migrator.registerMigration("v8: run.ref, run.author") { db in
            // A reconcile records which ref it was asked for and who wrote the commit it applied.
            try db.execute(sql: """
                ALTER TABLE run ADD COLUMN ref TEXT;
                ALTER TABLE run ADD COLUMN author TEXT;
                """)
        }
        migrator.registerMigration("v9: lock lease, lock_event, identity.serial") { db in
            // The lock becomes a lease: its holder renews heartbeat_at every lease/3, and a lock whose
            // heartbeat is older than lease_seconds is stale. expires_at stays heartbeat_at + lease_seconds.
            // lock_id is a random token: `vmplan state unlock ID` releases the lock only when it matches.
            // lock_event records who ended a lock they did not hold (a stale takeover, an unlock).
            // identity.serial counts the writes that changed resource or owned_storage: a writer
            // whose serial moved, or whose lock is gone, is refused instead of overwriting.
            try db.execute(sql: """
                ALTER TABLE lock ADD COLUMN lock_id TEXT;
                ALTER TABLE lock ADD COLUMN operation TEXT;
                ALTER TABLE lock ADD COLUMN commit_id TEXT;
                ALTER TABLE lock ADD COLUMN heartbeat_at DATETIME;
                ALTER TABLE lock ADD COLUMN lease_seconds REAL CHECK (lease_seconds > 0);
                CREATE TABLE lock_event (
                    id INTEGER PRIMARY KEY AUTOINCREMENT,
                    at DATETIME NOT NULL,
                    event TEXT NOT NULL CHECK (event IN ('taken-over', 'unlocked')),
                    lock_id TEXT,
                    holder TEXT NOT NULL,
                    actor TEXT NOT NULL,
                    reason TEXT NOT NULL
                );
                ALTER TABLE identity ADD COLUMN serial INTEGER NOT NULL DEFAULT 0 CHECK (serial >= 0);
                """)
        }
        return migrator
    }
}
