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

/// Who holds the writer lock.
public struct LockHolder: Codable, Sendable, Hashable, FetchableRecord, PersistableRecord {
    public static let databaseTableName = "lock"

    public var id: Int = 1
    public var holder: String
    public var pid: Int32
    public var hostname: String
    public var acquiredAt: Date
    public var expiresAt: Date
    /// When the holder's process started, in clock ticks after boot (field 22 of /proc/PID/stat), and
    /// the boot: a later process that reuses the pid differs in one of them. Nil where /proc is not
    /// there, and in locks taken by a vmplan before these were recorded.
    public var processStart: Int64?
    public var bootID: String?

    public init(holder: String, pid: Int32, hostname: String, acquiredAt: Date, expiresAt: Date,
                processStart: Int64? = nil, bootID: String? = nil) {
        self.holder = holder
        self.pid = pid
        self.hostname = hostname
        self.acquiredAt = acquiredAt
        self.expiresAt = expiresAt
        self.processStart = processStart
        self.bootID = bootID
    }

    enum CodingKeys: String, CodingKey {
        case id, holder, pid, hostname
        case acquiredAt = "acquired_at", expiresAt = "expires_at", processStart = "process_start", bootID = "boot_id"
    }
}
