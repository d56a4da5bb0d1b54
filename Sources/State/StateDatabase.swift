import Foundation
import GRDB

/// The SQLite file where vmplan records what it applied (`.vmplan/state.db` by default).
public final class StateDatabase: StateStore {
    public let path: String
    /// Where the state came from; `notice` says it to people when that is worth knowing.
    public let origin: Origin
    let queue: DatabaseQueue

    /// What to do when there is no state at the path yet (no file, or an empty one).
    public enum Absent: Sendable {
        /// Create the file (and its directory): for runs that record what they change.
        case create
        /// Write nothing to disk and use an empty state in memory: for runs that only read, such as plan.
        case useEmptyInMemory
    }

    public enum Origin: Sendable, Equatable {
        /// A vmplan state file that was there.
        case existing
        /// There was no file; it was created.
        case created
        /// The file was empty (`found` says how); the schema was written into it.
        case initialisedEmptyFile(found: String)
        /// There was no file, or an empty one (`found`); nothing was written, the state is in memory.
        case inMemory(found: String?)
    }

    /// Opens and migrates the state at `path`, after checking, without writing, that it is a vmplan
    /// state this build can read: another program's file, a file that is not SQLite, or a state a
    /// newer vmplan migrated is refused with `StateError`, unchanged.
    public init(path: String, whenAbsent: Absent = .create) throws {
        let contents = try StateFile.inspect(path, knownMigrations: Migrations.migrator.migrations)
        switch (contents, whenAbsent) {
        case (.vmplan, _): origin = .existing
        case (.missing, .create): origin = .created
        case (.empty(let found), .create): origin = .initialisedEmptyFile(found: found)
        case (.missing, .useEmptyInMemory): origin = .inMemory(found: nil)
        case (.empty(let found), .useEmptyInMemory): origin = .inMemory(found: found)
        }
        do {
            if case .inMemory = origin {
                queue = try DatabaseQueue(configuration: Self.configuration)
            } else {
                let directory = (path as NSString).deletingLastPathComponent
                if origin == .created && !directory.isEmpty {
                    try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
                }
                // Two runs that open a new state at once (two reconciles of one push) must not
                // both migrate it: the second waits, then finds every migration applied.
                queue = try Self.exclusively(in: directory.isEmpty ? "." : directory) {
                    let queue = try DatabaseQueue(path: path, configuration: Self.fileConfiguration)
                    try Migrations.migrator.migrate(queue)
                    return queue
                }
            }
            if case .inMemory = origin { try Migrations.migrator.migrate(queue) }
        } catch {
            throw StateError.unreadable(path: path, reason: "\(error)")
        }
        self.path = path
    }

    /// An empty state in memory standing for `path`, a state of another backend that does not exist
    /// yet (`found` says how): a run that only reads plans against it, and nothing is written anywhere.
    public init(emptyInMemoryFor path: String, found: String) throws {
        origin = .inMemory(found: found)
        do {
            queue = try DatabaseQueue(configuration: Self.configuration)
            try Migrations.migrator.migrate(queue)
        } catch {
            throw StateError.unreadable(path: path, reason: "\(error)")
        }
        self.path = path
    }

    private static var configuration: Configuration {
        var configuration = Configuration()
        configuration.foreignKeysEnabled = true
        configuration.busyMode = .timeout(5)
        return configuration
    }

    /// A state file is written ahead (WAL) and synced at checkpoints, not at every commit: an
    /// apply journals each change twice, and two fsyncs per change cost more than libvirt's own
    /// define. A commit is in the file's WAL as soon as it returns, so a SIGKILL at any point
    /// loses nothing committed; a power cut may lose the last commits but never corrupts the
    /// file (the next run then finds what reached the host from its markers and the journal).
    /// The WAL (`state.db-wal`, `state.db-shm`) lives beside the file while vmplan has it open
    /// and is folded back into it when the last connection closes.
    private static var fileConfiguration: Configuration {
        var configuration = configuration
        configuration.prepareDatabase { db in
            try db.execute(sql: "PRAGMA journal_mode = WAL")
            try db.execute(sql: "PRAGMA synchronous = NORMAL")
        }
        return configuration
    }

    /// Runs `body` holding an exclusive lock on `directory` (flock; released when the process ends).
    private static func exclusively<T>(in directory: String, _ body: () throws -> T) throws -> T {
        let descriptor = open(directory, O_RDONLY)
        guard descriptor >= 0 else { return try body() }
        defer { close(descriptor) }
        flock(descriptor, LOCK_EX)
        defer { flock(descriptor, LOCK_UN) }
        return try body()
    }

    /// Said on standard error when the state is not simply the file that was there or a new one.
    public var notice: String? {
        switch origin {
        case .existing, .created, .inMemory(found: nil): nil
        case .initialisedEmptyFile(let found): "note: state \(path) was empty (\(found)); it is now a new vmplan state database."
        case .inMemory(let found?): "note: state \(path) is empty (\(found)); treating it as a new, empty state and writing nothing to it."
        }
    }

    // MARK: Identity

    public func stateID() throws -> String {
        try queue.read { db in
            guard let id = try String.fetchOne(db, sql: "SELECT state_id FROM identity WHERE id = 1") else {
                throw StateError.unreadable(path: path, reason: "it has no state id (its identity table is empty)")
            }
            return id
        }
    }

    public func serial() throws -> Int64 {
        try queue.read { db in try Self.serial(db) }
    }

    static func serial(_ db: Database) throws -> Int64 {
        try Int64.fetchOne(db.cachedStatement(sql: "SELECT serial FROM identity WHERE id = 1")) ?? 0
    }

    // MARK: Resources

    public func resources(kind: String?) throws -> [ResourceRecord] {
        try queue.read { db in
            var request = ResourceRecord.order(Column("kind"), Column("name"))
            if let kind { request = request.filter(Column("kind") == kind) }
            return try request.fetchAll(db)
        }
    }

    // MARK: Runs

    public func beginRun(_ kind: RunKind, actor: String, commit: RunCommit?) throws -> Int64 {
        try queue.write { db in
            var run = RunRecord(id: nil, kind: kind, startedAt: Date(), finishedAt: nil, commitID: commit?.id, actor: actor,
                                result: .running, summary: nil, ref: commit?.ref, author: commit?.author)
            try run.insert(db)
            return run.id ?? db.lastInsertedRowID
        }
    }

    public func finishRun(_ id: Int64, result: RunResult, summary: String) throws {
        try queue.write { db in
            try db.execute(sql: "UPDATE run SET result = ?, summary = ?, finished_at = ? WHERE id = ?",
                           arguments: [result.rawValue, summary, Date(), id])
        }
    }

    public func runs(limit: Int) throws -> [RunRecord] {
        try queue.read { db in
            try RunRecord.order(Column("id").desc).limit(limit).fetchAll(db)
        }
    }

    // MARK: Journal

    public func journalBegin(_ entry: JournalEntry) throws -> Int64 {
        try queue.write { db in
            var entry = entry
            try entry.insert(db)
            return entry.id ?? db.lastInsertedRowID
        }
    }

    public func journalDone(_ id: Int64, update: RecordUpdate, ownership: OwnershipUpdate,
                            condition: WriteCondition) throws -> WriteCondition {
        var next = condition
        try queue.inTransaction(.immediate) { db in
            try check(condition, db)
            // Statements an apply runs once per change are prepared once (SQLite parses each anew otherwise).
            try db.cachedStatement(sql: "UPDATE journal SET status = 'done', finished_at = ? WHERE id = ?").execute(arguments: [Date(), id])
            switch update {
            case .keep: break
            case .upsert(let record): try record.save(db)
            case .remove(let kind, let name):
                try db.cachedStatement(sql: "DELETE FROM resource WHERE kind = ? AND name = ?").execute(arguments: [kind, name])
            }
            switch ownership {
            case .keep: break
            case .record(let owned): try owned.save(db)
            case .forget(let kind, let host, let pool, let name):
                try db.execute(sql: "DELETE FROM owned_storage WHERE kind = ? AND host = ? AND pool = ? AND name = ?",
                               arguments: [kind, host, pool, name])
            }
            if case .keep = update, case .keep = ownership { return .commit }
            try db.cachedStatement(sql: "UPDATE identity SET serial = serial + 1 WHERE id = 1").execute()
            next.serial += 1
            return .commit
        }
        return next
    }

    public func journalFailed(_ id: Int64, error: String) throws {
        try queue.write { db in
            try db.cachedStatement(sql: "UPDATE journal SET status = 'failed', error = ?, finished_at = ? WHERE id = ?")
                .execute(arguments: [error, Date(), id])
        }
    }

    public func pendingJournal() throws -> [JournalEntry] {
        try queue.read { db in
            try JournalEntry.filter(Column("status") == JournalStatus.pending.rawValue).order(Column("id")).fetchAll(db)
        }
    }

    public func journal(runID: Int64) throws -> [JournalEntry] {
        try queue.read { db in
            try JournalEntry.filter(Column("run_id") == runID).order(Column("id")).fetchAll(db)
        }
    }

    public func resolvePending(_ ids: [Int64], note: String) throws {
        guard !ids.isEmpty else { return }
        try queue.write { db in
            for id in ids {
                try db.execute(sql: "UPDATE journal SET status = 'failed', error = ?, finished_at = ? WHERE id = ? AND status = 'pending'",
                               arguments: [note, Date(), id])
            }
        }
    }
}
