import Foundation
import GRDB

/// What vmplan last applied for one resource.
public struct ResourceRecord: Codable, Sendable, Hashable, FetchableRecord, PersistableRecord {
    public static let databaseTableName = "resource"

    public var kind: String
    public var name: String
    public var host: String
    /// The applied spec as JSON (sorted keys).
    public var specJSON: String
    public var specHash: String
    /// Counts the applies that changed this resource, starting at 1.
    public var generation: Int
    /// The git commit the manifests came from, when known.
    public var commitID: String?
    public var appliedAt: Date
    /// Fields applied to the config that the running VM has not booted with yet.
    public var pendingRestart: [String]

    public init(kind: String, name: String, host: String, specJSON: String, specHash: String,
                generation: Int, commitID: String?, appliedAt: Date, pendingRestart: [String] = []) {
        self.kind = kind
        self.name = name
        self.host = host
        self.specJSON = specJSON
        self.specHash = specHash
        self.generation = generation
        self.commitID = commitID
        self.appliedAt = appliedAt
        self.pendingRestart = pendingRestart
    }

    enum CodingKeys: String, CodingKey {
        case kind, name, host, generation
        case specJSON = "spec_json", specHash = "spec_hash", commitID = "commit_id", appliedAt = "applied_at"
        case pendingRestart = "pending_restart"
    }

    /// Written by hand: GRDB would make a JSONEncoder for the one array, once per change an apply
    /// records. `pending_restart` holds the same JSON text (`["vcpus","memory"]`) it reads back.
    public func encode(to container: inout PersistenceContainer) throws {
        container[CodingKeys.kind.stringValue] = kind
        container[CodingKeys.name.stringValue] = name
        container[CodingKeys.host.stringValue] = host
        container[CodingKeys.specJSON.stringValue] = specJSON
        container[CodingKeys.specHash.stringValue] = specHash
        container[CodingKeys.generation.stringValue] = generation
        container[CodingKeys.commitID.stringValue] = commitID
        container[CodingKeys.appliedAt.stringValue] = appliedAt
        container[CodingKeys.pendingRestart.stringValue] = Self.jsonArray(pendingRestart)
    }

    /// A JSON array of strings; field names need no escaping beyond quotes and backslashes, but
    /// every control character is escaped all the same.
    static func jsonArray(_ strings: [String]) -> String {
        let items = strings.map { string in
            var escaped = "\""
            for scalar in string.unicodeScalars {
                switch scalar {
                case "\"": escaped += "\\\""
                case "\\": escaped += "\\\\"
                case _ where scalar.value < 0x20: escaped += String(format: "\\u%04x", scalar.value)
                default: escaped.unicodeScalars.append(scalar)
                }
            }
            return escaped + "\""
        }
        return "[" + items.joined(separator: ",") + "]"
    }
}

public enum RunKind: String, Codable, Sendable { case plan, apply, drift, reconcile }

public enum RunResult: String, Codable, Sendable {
    case running, succeeded, failed, refused
    /// Finished, but some hosts did not answer: what it says of them is unknown.
    case partial
}

/// The git commit a run works from.
public struct RunCommit: Sendable, Hashable {
    public var id: String
    public var ref: String?
    public var author: String?

    public init(id: String, ref: String? = nil, author: String? = nil) {
        self.id = id
        self.ref = ref
        self.author = author
    }
}

/// One plan, apply, drift check or reconcile.
public struct RunRecord: Codable, Sendable, Hashable, FetchableRecord, MutablePersistableRecord {
    public static let databaseTableName = "run"

    public var id: Int64?
    public var kind: RunKind
    public var startedAt: Date
    public var finishedAt: Date?
    public var commitID: String?
    public var actor: String
    public var result: RunResult
    public var summary: String?
    /// For a reconcile: the ref it was asked for and the commit's author.
    public var ref: String?
    public var author: String?

    public init(id: Int64?, kind: RunKind, startedAt: Date, finishedAt: Date?, commitID: String?, actor: String,
                result: RunResult, summary: String?, ref: String?, author: String?) {
        self.id = id
        self.kind = kind
        self.startedAt = startedAt
        self.finishedAt = finishedAt
        self.commitID = commitID
        self.actor = actor
        self.result = result
        self.summary = summary
        self.ref = ref
        self.author = author
    }

    enum CodingKeys: String, CodingKey {
        case id, kind, actor, result, summary, ref, author
        case startedAt = "started_at", finishedAt = "finished_at", commitID = "commit_id"
    }

    public mutating func didInsert(_ inserted: InsertionSuccess) { id = inserted.rowID }
}

public enum JournalStatus: String, Codable, Sendable { case pending, done, failed }

/// One change of an apply: written as pending before the driver is called, then done or failed.
public struct JournalEntry: Codable, Sendable, Hashable, FetchableRecord, MutablePersistableRecord {
    public static let databaseTableName = "journal"

    public var id: Int64?
    public var runID: Int64
    public var kind: String
    public var name: String
    public var host: String
    public var action: String
    public var detail: String
    public var status: JournalStatus
    public var error: String?
    public var startedAt: Date
    public var finishedAt: Date?

    public init(runID: Int64, kind: String, name: String, host: String, action: String, detail: String) {
        self.runID = runID
        self.kind = kind
        self.name = name
        self.host = host
        self.action = action
        self.detail = detail
        self.status = .pending
        self.startedAt = Date()
    }

    enum CodingKeys: String, CodingKey {
        case id, kind, name, host, action, detail, status, error
        case runID = "run_id", startedAt = "started_at", finishedAt = "finished_at"
    }

    public mutating func didInsert(_ inserted: InsertionSuccess) { id = inserted.rowID }
}

/// Who holds the writer lock: a lease its holder renews with a heartbeat.
public struct LockHolder: Codable, Sendable, Hashable, FetchableRecord, PersistableRecord {
    public static let databaseTableName = "lock"

    public var id: Int = 1
    /// Who took it: `user@host` (or, in a lock taken without an operation, the whole name).
    public var holder: String
    public var pid: Int32
    public var hostname: String
    public var acquiredAt: Date
    /// The end of the lease: the last heartbeat plus the lease. A lock past it is stale.
    public var expiresAt: Date
    /// When the holder's process started, in clock ticks after boot (field 22 of /proc/PID/stat), and
    /// the boot: a later process that reuses the pid differs in one of them. Nil where /proc is not
    /// there, and in locks taken by a vmplan before these were recorded.
    public var processStart: Int64?
    public var bootID: String?
    /// The random token `vmplan state unlock ID` must name. Nil in locks taken by an older vmplan.
    public var lockID: String?
    /// The run that holds it (apply, reconcile) and the commit it applies, when known.
    public var operation: RunKind?
    public var commitID: String?
    /// The holder's last renewal, and how long a lease lasts after it.
    public var heartbeatAt: Date?
    public var lease: TimeInterval?

    public init(holder: String, pid: Int32, hostname: String, acquiredAt: Date, expiresAt: Date,
                processStart: Int64? = nil, bootID: String? = nil, lockID: String? = nil, operation: RunKind? = nil,
                commitID: String? = nil, heartbeatAt: Date? = nil, lease: TimeInterval? = nil) {
        self.holder = holder
        self.pid = pid
        self.hostname = hostname
        self.acquiredAt = acquiredAt
        self.expiresAt = expiresAt
        self.processStart = processStart
        self.bootID = bootID
        self.lockID = lockID
        self.operation = operation
        self.commitID = commitID
        self.heartbeatAt = heartbeatAt
        self.lease = lease
    }

    enum CodingKeys: String, CodingKey {
        case id, holder, pid, hostname, operation
        case acquiredAt = "acquired_at", expiresAt = "expires_at", processStart = "process_start", bootID = "boot_id"
        case lockID = "lock_id", commitID = "commit_id", heartbeatAt = "heartbeat_at", lease = "lease_seconds"
    }
}

/// A lock ended by someone other than its holder: taken over when stale or its process was gone,
/// or released with `vmplan state unlock`.
public struct LockEvent: Codable, Sendable, Hashable, FetchableRecord, MutablePersistableRecord {
    public static let databaseTableName = "lock_event"

    public enum Kind: String, Codable, Sendable {
        case takenOver = "taken-over"
        case unlocked
    }

    public var id: Int64?
    public var at: Date
    public var event: Kind
    /// The id of the lock that ended (nil for a lock an older vmplan took).
    public var lockID: String?
    /// The lock's holder, as `LockHolder.description` says it.
    public var holder: String
    /// Who ended it: the taker's name, or the `user@host` who ran `vmplan state unlock`.
    public var actor: String
    /// Why: `stale: no heartbeat for 3 min 10 s (lease 60 s)`, `vmplan state unlock`.
    public var reason: String

    public init(at: Date, event: Kind, lockID: String?, holder: String, actor: String, reason: String) {
        self.at = at
        self.event = event
        self.lockID = lockID
        self.holder = holder
        self.actor = actor
        self.reason = reason
    }

    enum CodingKeys: String, CodingKey {
        case id, at, event, holder, actor, reason
        case lockID = "lock_id"
    }

    public mutating func didInsert(_ inserted: InsertionSuccess) { id = inserted.rowID }
}
