import Crypto
import Foundation

/// Every record of a state, read at one moment: what `vmplan state push` and `pull` copy into
/// another state. The lock is not in it: a copy starts unlocked. Rows keep their ids (journal
/// entries name their run by id, drift rows count earlier occurrences by id), and the state keeps
/// its id, which the markers of its domains carry.
public struct StateSnapshot: Sendable, Hashable {
    public var stateID: String
    public var serial: Int64
    /// By kind and name.
    public var resources: [ResourceRecord]
    /// By id, as are the journal, drift rows and lock events.
    public var runs: [RunRecord]
    public var journal: [JournalEntry]
    public var drift: [DriftRecord]
    /// By kind, host, pool and name.
    public var ownedStorage: [OwnedStorage]
    public var lockEvents: [LockEvent]

    public init(stateID: String, serial: Int64, resources: [ResourceRecord], runs: [RunRecord], journal: [JournalEntry],
                drift: [DriftRecord], ownedStorage: [OwnedStorage], lockEvents: [LockEvent]) {
        self.stateID = stateID
        self.serial = serial
        self.resources = resources
        self.runs = runs
        self.journal = journal
        self.drift = drift
        self.ownedStorage = ownedStorage
        self.lockEvents = lockEvents
    }

    /// The snapshot with every date rounded to the millisecond, the precision an SQLite state keeps
    /// (PostgreSQL keeps microseconds): what a copy writes, so that it reads back as it was written
    /// in either backend.
    public var toTheMillisecond: StateSnapshot {
        var copy = self
        let round = TableDigest.millisecond
        copy.resources = resources.map { var row = $0; row.appliedAt = round(row.appliedAt); return row }
        copy.runs = runs.map { var row = $0; row.startedAt = round(row.startedAt); row.finishedAt = row.finishedAt.map(round); return row }
        copy.journal = journal.map { var row = $0; row.startedAt = round(row.startedAt); row.finishedAt = row.finishedAt.map(round); return row }
        copy.drift = drift.map { row in
            var row = row
            (row.firstSeen, row.lastSeen, row.resolvedAt) = (round(row.firstSeen), round(row.lastSeen), row.resolvedAt.map(round))
            return row
        }
        copy.ownedStorage = ownedStorage.map { var row = $0; row.createdAt = round(row.createdAt); return row }
        copy.lockEvents = lockEvents.map { var row = $0; row.at = round(row.at); return row }
        return copy
    }

    /// How many records it holds, for messages: `3 resources, 12 runs, 40 journal entries`.
    public var recordCounts: String {
        Self.said(counts: ["resource": resources.count, "run": runs.count, "journal": journal.count, "drift": drift.count,
                           "owned_storage": ownedStorage.count, "lock_event": lockEvents.count]) ?? "no records"
    }

    /// The tables whose rows a snapshot carries besides the identity, as people name their rows.
    static let recordTables: [(table: String, one: String, many: String)] = [
        ("resource", "resource", "resources"), ("run", "run", "runs"), ("journal", "journal entry", "journal entries"),
        ("drift", "drift row", "drift rows"), ("owned_storage", "owned storage record", "owned storage records"),
        ("lock_event", "lock event", "lock events"),
    ]

    /// One row with each table's row count in a column named after it: the same SQL in every backend.
    public static let countRowsSQL = "SELECT " + recordTables.map { "(SELECT count(*) FROM \($0.table)) AS \($0.table)" }
        .joined(separator: ", ")

    /// What a state that is to receive a copy holds already (`StateError.notEmpty`), or nil when it
    /// holds nothing: no row in `counts` (by table), serial 0, no lock.
    public static func occupancy(counts: [String: Int], serial: Int64, lock: LockHolder?) -> String? {
        let said = [Self.said(counts: counts), lock.map { "a lock (\($0))" }, serial == 0 ? nil : "serial \(serial)"].compactMap { $0 }
        return said.isEmpty ? nil : said.joined(separator: ", ")
    }

    /// `3 resources, 12 runs`; nil when every count is 0.
    private static func said(counts: [String: Int]) -> String? {
        let said = recordTables.compactMap { table in
            counts[table.table].flatMap { $0 == 0 ? nil : "\($0) \($0 == 1 ? table.one : table.many)" }
        }
        return said.isEmpty ? nil : said.joined(separator: ", ")
    }

    /// Each table's canonical rows (`TableDigest.rows`) and their digest, in a fixed order: equal
    /// digests mean equal records, whichever backend they were read from.
    public var digests: [TableDigest] {
        let ms = TableDigest.canonical(_:)
        return [
            TableDigest(table: "identity", rows: [[stateID, String(serial)]]),
            TableDigest(table: "resource", rows: resources.map {
                [$0.kind, $0.name, $0.host, $0.specJSON, $0.specHash, String($0.generation), $0.commitID, ms($0.appliedAt),
                 TableDigest.line($0.pendingRestart)]
            }),
            TableDigest(table: "run", rows: runs.map {
                [$0.id.map(String.init), $0.kind.rawValue, ms($0.startedAt), $0.finishedAt.map(ms), $0.commitID, $0.actor,
                 $0.result.rawValue, $0.summary, $0.ref, $0.author]
            }),
            TableDigest(table: "journal", rows: journal.map {
                [$0.id.map(String.init), String($0.runID), $0.kind, $0.name, $0.host, $0.action, $0.detail, $0.status.rawValue,
                 $0.error, ms($0.startedAt), $0.finishedAt.map(ms)]
            }),
            TableDigest(table: "drift", rows: drift.map {
                [$0.id.map(String.init), $0.kind, $0.name, $0.host, $0.field, $0.recorded, $0.live, ms($0.firstSeen), ms($0.lastSeen),
                 String($0.timesSeen), $0.resolvedAt.map(ms), $0.resolution]
            }),
            TableDigest(table: "owned_storage", rows: ownedStorage.map {
                [$0.kind, $0.host, $0.pool, $0.name, $0.libvirtKey, ms($0.createdAt)]
            }),
            TableDigest(table: "lock_event", rows: lockEvents.map {
                [$0.id.map(String.init), ms($0.at), $0.event.rawValue, $0.lockID, $0.holder, $0.actor, $0.reason]
            }),
        ]
    }
}

/// One table of a state as a count and a SHA-256 of its rows, each row written canonically: its
/// columns in table order as a JSON array of strings and nulls, dates as milliseconds since 1970,
/// one row per line, rows in key order. Computed from the records each backend reads, the same
/// way for both.
public struct TableDigest: Sendable, Hashable {
    public var table: String
    public var count: Int
    /// 64 lower-case hexadecimal digits.
    public var sha256: String
    /// The canonical rows, kept so that a mismatch can name the first row that differs.
    public var rows: [String]

    public init(table: String, rows: [[String?]]) {
        self.table = table
        self.rows = rows.map { Self.line($0) }
        count = rows.count
        let digest = SHA256.hash(data: Data(self.rows.map { $0 + "\n" }.joined().utf8))
        sha256 = digest.map { String(format: "%02x", $0) }.joined()
    }

    /// A date as the milliseconds since 1970, rounded as SQLite's stored text rounds it.
    static func canonical(_ date: Date) -> String {
        String(Int64((date.timeIntervalSince1970 * 1000).rounded()))
    }

    static func millisecond(_ date: Date) -> Date {
        Date(timeIntervalSince1970: (date.timeIntervalSince1970 * 1000).rounded() / 1000)
    }

    /// Columns as a JSON array: strings and nulls, never ambiguous whatever the values hold.
    static func line(_ columns: [String?]) -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return String(decoding: (try? encoder.encode(columns)) ?? Data(), as: UTF8.self)
    }
}
