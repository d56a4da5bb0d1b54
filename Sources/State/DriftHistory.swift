import Foundation
import GRDB

/// A field of a resource whose live value differs from the recorded one at a drift check. A
/// resource gone from its host is field "exists", recorded "yes", live "no".
public struct DriftObservation: Sendable, Hashable {
    public var kind: String
    public var name: String
    public var host: String
    public var field: String
    public var recorded: String?
    public var live: String?

    public init(kind: String, name: String, host: String, field: String, recorded: String?, live: String?) {
        self.kind = kind
        self.name = name
        self.host = host
        self.field = field
        self.recorded = recorded
        self.live = live
    }

    var key: DriftKey { DriftKey(kind: kind, name: name, host: host, field: field) }
}

/// One occurrence of a drifted field: open (`resolvedAt` nil) while checks keep seeing it.
public struct DriftRecord: Codable, Sendable, Hashable, FetchableRecord, MutablePersistableRecord {
    public static let databaseTableName = "drift"

    public var id: Int64?
    public var kind: String
    public var name: String
    public var host: String
    public var field: String
    /// The values at the latest check that saw it.
    public var recorded: String?
    public var live: String?
    public var firstSeen: Date
    public var lastSeen: Date
    /// How many checks saw it.
    public var timesSeen: Int
    public var resolvedAt: Date?
    /// 'apply' (an apply finished after it was last seen), 'by-hand' (no apply did), or 'gone'
    /// (the resource left the state).
    public var resolution: String?
    /// Resolved occurrences of the same field before this one: more than 0 means it recurs.
    /// Queried with the row, not a column.
    public var earlierOccurrences: Int = 0

    public var isOpen: Bool { resolvedAt == nil }

    public init(id: Int64?, kind: String, name: String, host: String, field: String, recorded: String?, live: String?,
                firstSeen: Date, lastSeen: Date, timesSeen: Int, resolvedAt: Date?, resolution: String?, earlierOccurrences: Int = 0) {
        self.id = id
        self.kind = kind
        self.name = name
        self.host = host
        self.field = field
        self.recorded = recorded
        self.live = live
        self.firstSeen = firstSeen
        self.lastSeen = lastSeen
        self.timesSeen = timesSeen
        self.resolvedAt = resolvedAt
        self.resolution = resolution
        self.earlierOccurrences = earlierOccurrences
    }

    enum CodingKeys: String, CodingKey {
        case id, kind, name, host, field, recorded, live, resolution
        case firstSeen = "first_seen", lastSeen = "last_seen", timesSeen = "times_seen", resolvedAt = "resolved_at"
    }

    public mutating func didInsert(_ inserted: InsertionSuccess) { id = inserted.rowID }

    var key: DriftKey { DriftKey(kind: kind, name: name, host: host, field: field) }
}

struct DriftKey: Hashable {
    var kind: String
    var name: String
    var host: String
    var field: String
}

extension StateDatabase {
    public func recordDriftCheck(_ observations: [DriftObservation], checkedHosts: Set<String>, at date: Date) throws -> [DriftRecord] {
        // One sighting per field, in the order given: a repeated one is the same sighting, its last values win.
        var sightings: [DriftObservation] = []
        var observed: [DriftKey: Int] = [:]
        for observation in observations {
            if let index = observed[observation.key] {
                sightings[index] = observation
            } else {
                observed[observation.key] = sightings.count
                sightings.append(observation)
            }
        }
        return try queue.write { db in
            let openRows = try DriftRecord.filter(Column("resolved_at") == nil).fetchAll(db)
            let open = Dictionary(uniqueKeysWithValues: openRows.map { ($0.key, $0) })
            for observation in sightings {
                if let row = open[observation.key], let id = row.id {
                    try db.execute(sql: """
                        UPDATE drift SET last_seen = ?, times_seen = times_seen + 1, recorded = ?, live = ? WHERE id = ?
                        """, arguments: [date, observation.recorded, observation.live, id])
                } else {
                    var row = DriftRecord(id: nil, kind: observation.kind, name: observation.name, host: observation.host,
                                          field: observation.field, recorded: observation.recorded, live: observation.live,
                                          firstSeen: date, lastSeen: date, timesSeen: 1, resolvedAt: nil, resolution: nil)
                    try row.insert(db)
                }
            }
            // Gone from a host that answered: fixed. An apply that ran since it was last seen fixed it,
            // or else someone did by hand. Rows of hosts that did not answer say nothing new.
            for (key, row) in open where checkedHosts.contains(key.host) && observed[key] == nil {
                try db.execute(sql: """
                    UPDATE drift SET resolved_at = ?, resolution = CASE WHEN EXISTS (
                        SELECT 1 FROM run WHERE run.kind = 'apply' AND run.result IN ('succeeded', 'failed')
                            AND run.finished_at > drift.last_seen
                    ) THEN 'apply' ELSE 'by-hand' END
                    WHERE id = ?
                    """, arguments: [date, row.id])
            }
            return try Self.driftRows(db, where: "resolved_at IS NULL", order: "kind, name, host, field")
        }
    }

    public func driftHistory(name: String?) throws -> [DriftRecord] {
        try queue.read { db in
            if let name {
                try Self.driftRows(db, where: "name = ?", arguments: [name], order: "first_seen DESC, id DESC")
            } else {
                try Self.driftRows(db, order: "first_seen DESC, id DESC")
            }
        }
    }

    public func resolveDrift(kind: String, name: String, host: String, resolution: String, at date: Date) throws {
        try queue.write { db in
            try db.execute(sql: """
                UPDATE drift SET resolved_at = ?, resolution = ?
                WHERE kind = ? AND name = ? AND host = ? AND resolved_at IS NULL
                """, arguments: [date, resolution, kind, name, host])
        }
    }

    /// Drift rows with `earlierOccurrences` counted.
    private static func driftRows(_ db: Database, where condition: String = "TRUE", arguments: StatementArguments = [],
                                  order: String) throws -> [DriftRecord] {
        let rows = try Row.fetchAll(db, sql: DriftRecord.selectWithEarlierOccurrences + " WHERE \(condition) ORDER BY \(order)",
                                    arguments: arguments)
        return try rows.map { row in
            var record = try DriftRecord(row: row)
            record.earlierOccurrences = row["earlier_occurrences"]
            return record
        }
    }
}

extension DriftRecord {
    /// The drift rows with how often each key was resolved before (`earlier_occurrences`): the
    /// same SQL in every backend; callers add `WHERE` and `ORDER BY`.
    public static let selectWithEarlierOccurrences = """
        SELECT drift.*, (
            SELECT COUNT(*) FROM drift AS earlier
            WHERE earlier.kind = drift.kind AND earlier.name = drift.name AND earlier.host = drift.host
                AND earlier.field = drift.field AND earlier.resolved_at IS NOT NULL AND earlier.id < drift.id
        ) AS earlier_occurrences
        FROM drift
        """
}
