import Foundation
import PostgresNIO
import State

/// Recorded state in a PostgreSQL schema, for teams and CI runners that share one state. It keeps
/// the `StateStore` contract as `StateDatabase` does: every multi-row write in one transaction,
/// the lock taken atomically, and lock times (heartbeats, leases, staleness) in the server's clock,
/// so that runners whose clocks disagree still agree on when a lease ran out.
public final class PostgresStateStore: StateStore {
    public let location: PostgresLocation
    let link: PostgresLink

    /// Connects, then creates the schema or migrates it forward; refuses (unchanged) a schema that is
    /// another program's or that a newer vmplan migrated.
    public convenience init(url: String) throws {
        let location = try PostgresLocation(url: url)
        try self.init(location, link: PostgresLink(location))
    }

    private init(_ location: PostgresLocation, link: PostgresLink) throws {
        self.location = location
        self.link = link
        try PostgresMigrations.migrate(link)
    }

    /// The state at `url` for a run: connected to and created or migrated as `init(url:)` does, unless
    /// `whenAbsent` is `.useEmptyInMemory` and the state does not exist yet (no schema, or one without
    /// tables): then, as for an SQLite state, an empty state in memory stands for it and nothing is
    /// written to the server, so that a plan or a drift check never creates a state.
    public static func open(url: String, whenAbsent: StateDatabase.Absent) throws -> any StateStore {
        let location = try PostgresLocation(url: url)
        let link = PostgresLink(location)
        if whenAbsent == .useEmptyInMemory, try !exists(link) {
            return try StateDatabase(emptyInMemoryFor: location.redacted,
                                     found: "database \(location.database) has no schema \(location.schema) with tables yet")
        }
        return try PostgresStateStore(location, link: link)
    }

    /// Whether the state at `url` exists (its schema has tables), without creating it.
    public static func exists(url: String) throws -> Bool {
        try exists(PostgresLink(try PostgresLocation(url: url)))
    }

    private static func exists(_ link: PostgresLink) throws -> Bool {
        try link.statement { sql in try !PostgresMigrations.tables(in: link.location.schema, sql).isEmpty }
    }

    /// The URL without its password: what messages, plans and `vmplan state unlock --state` show.
    public var path: String { location.redacted }

    // MARK: Identity

    public func stateID() throws -> String {
        try link.statement { sql in
            guard let row = try sql.rows("SELECT state_id FROM identity WHERE id = 1").first else {
                throw StateError.unreadable(path: path, reason: "it has no state id (its identity table is empty)")
            }
            return try row.value("state_id")
        }
    }

    public func serial() throws -> Int64 {
        try link.statement { sql in try Self.serial(sql) }
    }

    /// The serial, with the identity row locked until the transaction ends: state writes and lock
    /// changes go one at a time, as SQLite's immediate transactions make them there.
    static func serial(_ sql: PostgresLink.Statements, forUpdate: Bool = false) throws -> Int64 {
        let rows = try sql.rows(forUpdate ? "SELECT serial FROM identity WHERE id = 1 FOR UPDATE" : "SELECT serial FROM identity WHERE id = 1")
        return try rows.first?.value("serial") ?? 0
    }

    // MARK: Resources

    public func resources(kind: String?) throws -> [ResourceRecord] {
        try link.statement { sql in
            let rows = if let kind {
                try sql.rows("SELECT * FROM resource WHERE kind = \(kind) ORDER BY kind, name")
            } else {
                try sql.rows("SELECT * FROM resource ORDER BY kind, name")
            }
            return try rows.map { try $0.resource() }
        }
    }

    // MARK: Runs

    public func beginRun(_ kind: RunKind, actor: String, commit: RunCommit?) throws -> Int64 {
        try link.statement { sql in
            let row = try sql.rows("""
                INSERT INTO run (kind, started_at, commit_id, actor, result, ref, author)
                VALUES (\(kind.rawValue), \(Date()), \(commit?.id), \(actor), \(RunResult.running.rawValue), \(commit?.ref), \(commit?.author))
                RETURNING id
                """)
            return try row[0].value("id")
        }
    }

    public func finishRun(_ id: Int64, result: RunResult, summary: String) throws {
        try link.statement { sql in
            try sql.execute("UPDATE run SET result = \(result.rawValue), summary = \(summary), finished_at = \(Date()) WHERE id = \(id)")
        }
    }

    public func runs(limit: Int) throws -> [RunRecord] {
        try link.statement { sql in
            try sql.rows("SELECT * FROM run ORDER BY id DESC LIMIT \(limit)").map { try $0.run() }
        }
    }

    // MARK: Journal

    public func journalBegin(_ entry: JournalEntry) throws -> Int64 {
        try link.statement { sql in
            let row = try sql.rows("""
                INSERT INTO journal (run_id, kind, name, host, action, detail, status, error, started_at, finished_at)
                VALUES (\(entry.runID), \(entry.kind), \(entry.name), \(entry.host), \(entry.action), \(entry.detail),
                        \(entry.status.rawValue), \(entry.error), \(entry.startedAt), \(entry.finishedAt))
                RETURNING id
                """)
            return try row[0].value("id")
        }
    }

    public func journalDone(_ id: Int64, update: RecordUpdate, ownership: OwnershipUpdate,
                            condition: WriteCondition) throws -> WriteCondition {
        var next = condition
        try link.transaction { sql in
            try check(condition, sql)
            try sql.execute("UPDATE journal SET status = 'done', finished_at = \(Date()) WHERE id = \(id)")
            switch update {
            case .keep: break
            case .upsert(let record): try Self.save(record, sql)
            case .remove(let kind, let name):
                try sql.execute("DELETE FROM resource WHERE kind = \(kind) AND name = \(name)")
            }
            switch ownership {
            case .keep: break
            case .record(let owned): try Self.save(owned, sql)
            case .forget(let kind, let host, let pool, let name):
                try sql.execute("DELETE FROM owned_storage WHERE kind = \(kind) AND host = \(host) AND pool = \(pool) AND name = \(name)")
            }
            if case .keep = update, case .keep = ownership { return }
            try sql.execute("UPDATE identity SET serial = serial + 1 WHERE id = 1")
            next.serial += 1
        }
        return next
    }

    static func save(_ record: ResourceRecord, _ sql: PostgresLink.Statements) throws {
        let pending = String(decoding: try JSONEncoder().encode(record.pendingRestart), as: UTF8.self)
        try sql.execute("""
            INSERT INTO resource (kind, name, host, spec_json, spec_hash, generation, commit_id, applied_at, pending_restart)
            VALUES (\(record.kind), \(record.name), \(record.host), \(record.specJSON), \(record.specHash), \(record.generation),
                    \(record.commitID), \(record.appliedAt), \(pending))
            ON CONFLICT (kind, name) DO UPDATE SET host = EXCLUDED.host, spec_json = EXCLUDED.spec_json, spec_hash = EXCLUDED.spec_hash,
                generation = EXCLUDED.generation, commit_id = EXCLUDED.commit_id, applied_at = EXCLUDED.applied_at,
                pending_restart = EXCLUDED.pending_restart
            """)
    }

    static func save(_ owned: OwnedStorage, _ sql: PostgresLink.Statements) throws {
        try sql.execute("""
            INSERT INTO owned_storage (kind, host, pool, name, libvirt_key, created_at)
            VALUES (\(owned.kind), \(owned.host), \(owned.pool), \(owned.name), \(owned.libvirtKey), \(owned.createdAt))
            ON CONFLICT (kind, host, pool, name) DO UPDATE SET libvirt_key = EXCLUDED.libvirt_key, created_at = EXCLUDED.created_at
            """)
    }

    public func journalFailed(_ id: Int64, error: String) throws {
        try link.statement { sql in
            try sql.execute("UPDATE journal SET status = 'failed', error = \(error), finished_at = \(Date()) WHERE id = \(id)")
        }
    }

    public func pendingJournal() throws -> [JournalEntry] {
        try link.statement { sql in
            try sql.rows("SELECT * FROM journal WHERE status = 'pending' ORDER BY id").map { try $0.journalEntry() }
        }
    }

    public func journal(runID: Int64) throws -> [JournalEntry] {
        try link.statement { sql in
            try sql.rows("SELECT * FROM journal WHERE run_id = \(runID) ORDER BY id").map { try $0.journalEntry() }
        }
    }

    public func resolvePending(_ ids: [Int64], note: String) throws {
        guard !ids.isEmpty else { return }
        try link.transaction { sql in
            for id in ids {
                try sql.execute("""
                    UPDATE journal SET status = 'failed', error = \(note), finished_at = \(Date()) WHERE id = \(id) AND status = 'pending'
                    """)
            }
        }
    }

    // MARK: Owned storage

    public func ownedStorage() throws -> [OwnedStorage] {
        try link.statement { sql in
            try sql.rows("SELECT * FROM owned_storage ORDER BY kind, host, pool, name").map { try $0.ownedStorage() }
        }
    }
}
