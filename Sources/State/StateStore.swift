import Foundation

/// Everything the reconciler needs from recorded state: resources, runs, the journal, the
/// writer lock, the storage vmplan created and the history of drift checks. `StateDatabase`
/// keeps it in SQLite; another backend (PostgreSQL) implements the same requirements and the
/// reconciler does not change.
public protocol StateStore: Sendable {
    func resources(kind: String?) throws -> [ResourceRecord]

    func beginRun(_ kind: RunKind, actor: String, commit: RunCommit?) throws -> Int64
    func finishRun(_ id: Int64, result: RunResult, summary: String) throws
    /// The latest runs first.
    func runs(limit: Int) throws -> [RunRecord]

    /// Records the intent before the driver is called.
    func journalBegin(_ entry: JournalEntry) throws -> Int64
    /// Marks a journal entry done and applies both updates in one transaction, so the recorded
    /// state never disagrees with the journal and no storage is recorded as created before its
    /// creation is recorded as done.
    func journalDone(_ id: Int64, update: RecordUpdate, ownership: OwnershipUpdate) throws
    func journalFailed(_ id: Int64, error: String) throws
    /// Changes whose outcome is unknown: an apply stopped between intent and result.
    func pendingJournal() throws -> [JournalEntry]
    func journal(runID: Int64) throws -> [JournalEntry]
    /// After re-observing, pending entries are settled: their outcome is whatever is live now.
    func resolvePending(_ ids: [Int64], note: String) throws

    /// Takes the single-writer lock, or throws `StateError.locked` naming who holds it. A lock
    /// whose holder is gone or that has expired is taken over.
    func acquireLock(holder: String, ttl: TimeInterval) throws -> StateLock
    func lockHolder() throws -> LockHolder?

    func ownedStorage() throws -> [OwnedStorage]

    /// Records one drift check in one transaction: an observed field extends its open row (last
    /// seen, times seen, current values) or opens a new one; an open row of a host in `checkedHosts`
    /// that was not observed is resolved at `date`, 'apply' if an apply finished (succeeded or failed)
    /// after it was last seen, 'by-hand' otherwise. Rows of hosts not checked stay open as they were.
    /// Returns every open row after the check.
    func recordDriftCheck(_ observations: [DriftObservation], checkedHosts: Set<String>, at date: Date) throws -> [DriftRecord]
    /// Every drift occurrence, open and resolved, newest first; only `name`'s when given.
    func driftHistory(name: String?) throws -> [DriftRecord]
    /// Resolves the open drift of a resource that left the state (resolution 'gone').
    func resolveDrift(kind: String, name: String, host: String, resolution: String, at: Date) throws

    /// This state's own id, written once when it is created: the marker of every domain it
    /// creates carries it.
    func stateID() throws -> String
}

extension StateStore {
    public func resources() throws -> [ResourceRecord] { try resources(kind: nil) }

    public func beginRun(_ kind: RunKind, actor: String) throws -> Int64 { try beginRun(kind, actor: actor, commit: nil) }

    /// The commit the last reconcile that applied (all of it, or part of it) came from.
    public func lastReconciledCommit() throws -> String? {
        try runs(limit: 1000).first { $0.kind == .reconcile && ($0.result == .succeeded || $0.result == .failed) && $0.commitID != nil }?.commitID
    }

    public func runs() throws -> [RunRecord] { try runs(limit: 20) }

    public func journalDone(_ id: Int64, update: RecordUpdate) throws { try journalDone(id, update: update, ownership: .keep) }

    /// The lock expires after an hour: a holder that died on another machine blocks others no longer.
    public func acquireLock(holder: String) throws -> StateLock { try acquireLock(holder: holder, ttl: 3600) }
}

/// What a finished change does to the recorded resources.
public enum RecordUpdate: Sendable {
    case keep
    case upsert(ResourceRecord)
    case remove(kind: String, name: String)
}

/// What a finished storage change does to the records of storage vmplan created.
public enum OwnershipUpdate: Sendable {
    case keep
    case record(OwnedStorage)
    case forget(kind: String, host: String, pool: String, name: String)
}

/// The held writer lock; `release()` it when done (a crashed holder's lock is taken over).
public final class StateLock: Sendable {
    private let releaseLock: @Sendable () throws -> Void

    /// - Parameter release: gives the lock back in the store that granted it.
    public init(release: @escaping @Sendable () throws -> Void) {
        self.releaseLock = release
    }

    public func release() throws {
        try releaseLock()
    }
}

public enum StateError: Error, Sendable, CustomStringConvertible {
    case locked(LockHolder, path: String)
    case unreadable(path: String, reason: String)
    /// The file is not an SQLite database; `found` says what it starts with ("starts with …").
    case notSQLite(path: String, found: String)
    /// An SQLite database another program made; `found` names its application id or tables.
    case notVMPlan(path: String, found: String)
    /// A vmplan state migrated by a newer vmplan: `migrations` are the ones this build does not know.
    case newerVMPlan(path: String, migrations: [String])

    public var description: String {
        switch self {
        case .locked(let holder, let path):
            return "state \(path) is locked by \(holder); "
                + "wait for it to finish, or if that process is gone, run again after \(ISO8601DateFormatter().string(from: holder.expiresAt))"
        case .unreadable(let path, let reason):
            return "cannot open state database \(path): \(reason)"
        case .notSQLite(let path, let found):
            return "cannot open state database \(path): it is not an SQLite file (it \(found)). Nothing was changed. "
                + Self.useAVMPlanState
        case .notVMPlan(let path, let found):
            return "cannot open state database \(path): it is \(found), not a vmplan state database. Nothing was changed. "
                + Self.useAVMPlanState
        case .newerVMPlan(let path, let migrations):
            return "cannot open state database \(path): a newer vmplan wrote it (it records migration\(migrations.count == 1 ? "" : "s") "
                + "\(migrations.map { "'\($0)'" }.joined(separator: ", ")), which this vmplan does not know). Nothing was changed. "
                + "Use that vmplan version or a later one with this state."
        }
    }

    private static let useAVMPlanState =
        "Pass --state with the path of vmplan's state file, or of a file that does not exist yet to start a new state."
}
