import Foundation
import GRDB

/// The SQLite file where vmplan records what it applied (`.vmplan/state.db` by default).
public final class StateDatabase: Sendable {
    public let path: String
    let queue: DatabaseQueue

    /// Opens (creating the file and its directory if needed) and migrates the database.
    public init(path: String) throws {
        let directory = (path as NSString).deletingLastPathComponent
        if !directory.isEmpty {
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        }
        var configuration = Configuration()
        configuration.foreignKeysEnabled = true
        configuration.busyMode = .timeout(5)
        do {
            queue = try DatabaseQueue(path: path, configuration: configuration)
            try Migrations.migrator.migrate(queue)
        } catch {
            throw StateError.unreadable(path: path, reason: "\(error)")
        }
        self.path = path
    }

    // MARK: Resources

    public func resources(kind: String? = nil) throws -> [ResourceRecord] {
        try queue.read { db in
            var request = ResourceRecord.order(Column("kind"), Column("name"))
            if let kind { request = request.filter(Column("kind") == kind) }
            return try request.fetchAll(db)
        }
    }

    // MARK: Runs

    public func beginRun(_ kind: RunKind, actor: String, commitID: String? = nil) throws -> Int64 {
        try queue.write { db in
            var run = RunRecord(id: nil, kind: kind, startedAt: Date(), finishedAt: nil,
                                commitID: commitID, actor: actor, result: .running, summary: nil)
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

    public func runs(limit: Int = 20) throws -> [RunRecord] {
        try queue.read { db in
            try RunRecord.order(Column("id").desc).limit(limit).fetchAll(db)
        }
    }

    // MARK: Journal

    /// Records the intent before the driver is called.
    public func journalBegin(_ entry: JournalEntry) throws -> Int64 {
        try queue.write { db in
            var entry = entry
            try entry.insert(db)
            return entry.id ?? db.lastInsertedRowID
        }
    }

    /// What a finished change does to the recorded resources.
    public enum RecordUpdate: Sendable {
        case keep
        case upsert(ResourceRecord)
        case remove(kind: String, name: String)
    }

    /// Marks a journal entry done and updates the resource it changed, in one transaction,
    /// so the recorded state never disagrees with the journal.
    public func journalDone(_ id: Int64, update: RecordUpdate) throws {
        try queue.write { db in
            try db.execute(sql: "UPDATE journal SET status = 'done', finished_at = ? WHERE id = ?",
                           arguments: [Date(), id])
            switch update {
            case .keep: break
            case .upsert(let record): try record.save(db)
            case .remove(let kind, let name):
                try db.execute(sql: "DELETE FROM resource WHERE kind = ? AND name = ?", arguments: [kind, name])
            }
        }
    }

    public func journalFailed(_ id: Int64, error: String) throws {
        try queue.write { db in
            try db.execute(sql: "UPDATE journal SET status = 'failed', error = ?, finished_at = ? WHERE id = ?",
                           arguments: [error, Date(), id])
        }
    }

    /// Changes whose outcome is unknown: an apply stopped between intent and result.
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

    /// After re-observing, pending entries are settled: their outcome is whatever is live now.
    public func resolvePending(_ ids: [Int64], note: String) throws {
        guard !ids.isEmpty else { return }
        try queue.write { db in
            for id in ids {
                try db.execute(sql: "UPDATE journal SET status = 'failed', error = ?, finished_at = ? WHERE id = ? AND status = 'pending'",
                               arguments: [note, Date(), id])
            }
        }
    }

    // MARK: Lock

    /// Takes the single-writer lock, or throws `StateError.locked` naming who holds it.
    /// A lock whose holder process is gone (same machine) or that has expired is taken over.
    public func acquireLock(holder: String, ttl: TimeInterval = 3600) throws -> StateLock {
        let pid = ProcessInfo.processInfo.processIdentifier
        let hostname = ProcessInfo.processInfo.hostName
        try queue.inTransaction(.immediate) { db in
            if let current = try LockHolder.fetchOne(db) {
                let now = Date()
                let holderGone = current.hostname == hostname && kill(current.pid, 0) != 0 && errno == ESRCH
                if current.expiresAt > now && !holderGone {
                    throw StateError.locked(current, path: path)
                }
            }
            let now = Date()
            try LockHolder(holder: holder, pid: pid, hostname: hostname, acquiredAt: now,
                           expiresAt: now.addingTimeInterval(ttl)).save(db)
            return .commit
        }
        return StateLock(database: self, pid: pid, hostname: hostname)
    }

    public func lockHolder() throws -> LockHolder? {
        try queue.read { db in try LockHolder.fetchOne(db) }
    }

    fileprivate func releaseLock(pid: Int32, hostname: String) throws {
        try queue.write { db in
            try db.execute(sql: "DELETE FROM lock WHERE pid = ? AND hostname = ?", arguments: [pid, hostname])
        }
    }
}

/// The held writer lock; `release()` it when done (a crashed holder's lock is taken over).
public final class StateLock: Sendable {
    private let database: StateDatabase
    private let pid: Int32
    private let hostname: String

    fileprivate init(database: StateDatabase, pid: Int32, hostname: String) {
        self.database = database
        self.pid = pid
        self.hostname = hostname
    }

    public func release() throws {
        try database.releaseLock(pid: pid, hostname: hostname)
    }
}

public enum StateError: Error, Sendable, CustomStringConvertible {
    case locked(LockHolder, path: String)
    case unreadable(path: String, reason: String)

    public var description: String {
        switch self {
        case .locked(let holder, let path):
            let since = ISO8601DateFormatter().string(from: holder.acquiredAt)
            return "state \(path) is locked by \(holder.holder) (pid \(holder.pid) on \(holder.hostname), since \(since)); "
                + "wait for it to finish, or if that process is gone, run again after \(ISO8601DateFormatter().string(from: holder.expiresAt))"
        case .unreadable(let path, let reason):
            return "cannot open state database \(path): \(reason)"
        }
    }
}
