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
    /// creation is recorded as done. It is a compare-and-swap on the state's serial: refused, with
    /// nothing written and the entry left pending, when `condition` no longer holds (see
    /// `WriteCondition`). An update that changes a resource or owned storage bumps the serial by one.
    /// - Returns: the condition the writer's next write must meet (its serial moved on by its own write).
    func journalDone(_ id: Int64, update: RecordUpdate, ownership: OwnershipUpdate, condition: WriteCondition) throws -> WriteCondition
    func journalFailed(_ id: Int64, error: String) throws
    /// Changes whose outcome is unknown: an apply stopped between intent and result.
    func pendingJournal() throws -> [JournalEntry]
    func journal(runID: Int64) throws -> [JournalEntry]
    /// After re-observing, pending entries are settled: their outcome is whatever is live now.
    func resolvePending(_ ids: [Int64], note: String) throws

    /// The count of writes that changed `resource` or `owned_storage`; a run reads it when it
    /// begins its plan and carries it in its `WriteCondition`.
    func serial() throws -> Int64

    /// Takes the single-writer lock as a lease with a fresh random id, or throws `StateError.locked`
    /// naming who holds it. A stale lock (no heartbeat for longer than its lease), or one whose
    /// process on this machine is gone, is taken over: the returned lock's `takeover` says so, and
    /// a `LockEvent` records it. The returned lock renews its heartbeat until released.
    func acquireLock(_ request: LockRequest) throws -> StateLock
    func lockHolder() throws -> LockHolder?
    /// Releases the lock only when its id is `id`, whoever holds it, and records `actor` as having
    /// unlocked it. Throws `StateError.notLocked`, or `.wrongLockID` changing nothing.
    /// - Returns: the lock that was released.
    func unlock(id: String, by actor: String) throws -> LockHolder
    /// Locks ended by someone other than their holder, newest first.
    func lockEvents(limit: Int) throws -> [LockEvent]

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

    /// Every record, read in one transaction (the lock is not among them).
    func snapshot() throws -> StateSnapshot
    /// Writes every record of `snapshot`, with their ids, and takes its state id and serial, in one
    /// transaction. Only into a state that holds nothing yet: no record, no lock, serial 0; anything
    /// else is refused with `StateError.notEmpty`, changing nothing.
    func restore(_ snapshot: StateSnapshot) throws
}

extension StateStore {
    public func resources() throws -> [ResourceRecord] { try resources(kind: nil) }

    public func beginRun(_ kind: RunKind, actor: String) throws -> Int64 { try beginRun(kind, actor: actor, commit: nil) }

    /// The commit the last reconcile that applied (all of it, or part of it) came from.
    public func lastReconciledCommit() throws -> String? {
        try runs(limit: 1000).first { $0.kind == .reconcile && ($0.result == .succeeded || $0.result == .failed) && $0.commitID != nil }?.commitID
    }

    public func runs() throws -> [RunRecord] { try runs(limit: 20) }

    /// A lock with the default lease, named by `holder` alone.
    public func acquireLock(holder: String) throws -> StateLock { try acquireLock(LockRequest(holder: holder)) }
}

/// What a state write must find for it to land. A writer under the lock names the lock's id: its
/// write is refused once the lock is no longer that one (taken over as stale, or unlocked), even
/// if nothing was written since. Every writer names the serial it last saw: its write is refused
/// if another writer changed the state since. A writer without the lock is also refused while
/// someone holds it. The normal path, one writer holding the lock, meets it every time.
public struct WriteCondition: Sendable, Hashable {
    public var serial: Int64
    public var lockID: String?

    public init(serial: Int64, lockID: String?) {
        self.serial = serial
        self.lockID = lockID
    }
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

public enum StateError: Error, Sendable, CustomStringConvertible {
    case locked(LockHolder, path: String)
    /// `vmplan state unlock` found no lock.
    case notLocked(path: String)
    /// `vmplan state unlock ID` found a lock with another id (another holder's, since); nothing was changed.
    case wrongLockID(given: String, holder: LockHolder, path: String)
    /// A write under lock `lockID` found the lock no longer that one: `current` holds it now, or nobody.
    case lockLost(lockID: String, current: LockHolder?, path: String)
    /// A write found the state's serial moved since the writer read it: another writer changed it.
    case serialMoved(expected: Int64, found: Int64, path: String)
    case unreadable(path: String, reason: String)
    /// A state backend failed a read or a write (a server's error, a lost connection); nothing of it was recorded.
    case failed(path: String, reason: String)
    /// The file is not an SQLite database; `found` says what it starts with ("starts with …").
    case notSQLite(path: String, found: String)
    /// An SQLite database another program made; `found` names its application id or tables.
    case notVMPlan(path: String, found: String)
    /// A vmplan state migrated by a newer vmplan: `migrations` are the ones this build does not know.
    case newerVMPlan(path: String, migrations: [String])
    /// A copy was to go into a state that already holds something (`found` says what); nothing was written.
    case notEmpty(path: String, found: String)

    public var description: String {
        switch self {
        case .locked(let holder, let path):
            return Self.lockedMessage(holder, path: path)
        case .notLocked(let path):
            return "state \(path) is not locked; nothing was changed."
        case .wrongLockID(let given, let holder, let path):
            return "state \(path) is locked by \(holder), whose lock id is not \(given) (the lock changed hands since that id was shown?); "
                + "nothing was changed. Run the apply again to see who holds it now and that lock's id."
        case .lockLost(let lockID, let current, let path):
            return "this run's lock \(lockID) on state \(path) is gone: "
                + (current.map { "\($0) holds the state now" } ?? "nobody holds it now")
                + " (this run stopped renewing it for longer than its lease, or it was released with vmplan state unlock). "
                + "The write was refused; nothing was recorded"
        case .serialMoved(let expected, let found, let path):
            return "state \(path) changed under this run: its serial is \(found), and this run planned at \(expected) "
                + "(another writer recorded changes since). The write was refused; nothing was recorded"
        case .unreadable(let path, let reason):
            return "cannot open state database \(path): \(reason)"
        case .failed(let path, let reason):
            return "state \(path): \(reason)"
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
        case .notEmpty(let path, let found):
            return "state \(path) already holds \(found); a state is copied only into a new, empty one, never over another. "
                + "Nothing was changed. Name a file that does not exist yet, or a PostgreSQL schema of its own (?schema=NAME)."
        }
    }

    /// Names the holder, its run, since when, its last heartbeat, and the command that releases it.
    private static func lockedMessage(_ holder: LockHolder, path: String, now: Date = Date()) -> String {
        let heartbeat = holder.heartbeatText(at: now).map { "; \($0)" } ?? ""
        guard let id = holder.lockID else {
            return "state \(path) is locked by \(holder)\(heartbeat); wait for it to finish, "
                + "or if that process is gone, run again after \(ISO8601DateFormatter().string(from: holder.expiresAt))"
        }
        return "state \(path) is locked by \(holder)\(heartbeat). Wait for it to finish: if its holder stops, the lock goes stale "
            + "\(LeaseTime.text(max(0, holder.expiresAt.timeIntervalSince(now)))) from now and the next run takes it over. "
            + "If that process is gone and you cannot wait, release the lock: vmplan state unlock \(id) --state \(ShellQuote.word(path))"
    }

    /// Whether a state write was refused because another writer owns the state now.
    public var refusedWrite: Bool {
        switch self {
        case .lockLost, .serialMoved, .locked: true
        default: false
        }
    }

    private static let useAVMPlanState =
        "Pass --state with the path of vmplan's state file, or of a file that does not exist yet to start a new state."
}

/// A path as a POSIX shell reads it back unchanged: as it is when plain, in single quotes otherwise;
/// `./` before one that starts with `-`. (Reports' `ShellWord` also spells out hidden characters;
/// State cannot import it.)
enum ShellQuote {
    static func word(_ path: String) -> String {
        let word = path.hasPrefix("-") ? "./" + path : path
        let plain = CharacterSet(charactersIn: "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_./-+=:,@%")
        if !word.isEmpty, word.unicodeScalars.allSatisfy(plain.contains) { return word }
        return "'" + word.replacingOccurrences(of: "'", with: "'\\''") + "'"
    }
}
