import Foundation
import PostgresNIO
import State

extension PostgresStateStore {
    public func recordDriftCheck(_ observations: [DriftObservation], checkedHosts: Set<String>, at date: Date) throws -> [DriftRecord] {
        // One sighting per field, in the order given: a repeated one is the same sighting, its last values win.
        var sightings: [DriftObservation] = []
        var observed: [Key: Int] = [:]
        for observation in observations {
            let key = Key(observation.kind, observation.name, observation.host, observation.field)
            if let index = observed[key] {
                sightings[index] = observation
            } else {
                observed[key] = sightings.count
                sightings.append(observation)
            }
        }
        return try link.transaction { sql in
            let openRows = try Self.driftRows(sql, where: "resolved_at IS NULL", order: "id")
            let open = Dictionary(uniqueKeysWithValues: openRows.map { (Key($0.kind, $0.name, $0.host, $0.field), $0) })
            for observation in sightings {
                let key = Key(observation.kind, observation.name, observation.host, observation.field)
                if let row = open[key], let id = row.id {
                    try sql.execute("""
                        UPDATE drift SET last_seen = \(date), times_seen = times_seen + 1, recorded = \(observation.recorded),
                            live = \(observation.live) WHERE id = \(id)
                        """)
                } else {
                    try sql.execute("""
                        INSERT INTO drift (kind, name, host, field, recorded, live, first_seen, last_seen, times_seen)
                        VALUES (\(observation.kind), \(observation.name), \(observation.host), \(observation.field),
                                \(observation.recorded), \(observation.live), \(date), \(date), 1)
                        """)
                }
            }
            // Gone from a host that answered: fixed, by an apply that finished since it was last seen, or by hand.
            for (key, row) in open where checkedHosts.contains(key.host) && observed[key] == nil {
                guard let id = row.id else { continue }
                try sql.execute("""
                    UPDATE drift SET resolved_at = \(date), resolution = CASE WHEN EXISTS (
                        SELECT 1 FROM run WHERE run.kind = 'apply' AND run.result IN ('succeeded', 'failed')
                            AND run.finished_at > drift.last_seen
                    ) THEN 'apply' ELSE 'by-hand' END
                    WHERE id = \(id)
                    """)
            }
            return try Self.driftRows(sql, where: "resolved_at IS NULL", order: "kind, name, host, field")
        }
    }

    public func driftHistory(name: String?) throws -> [DriftRecord] {
        try link.statement { sql in
            var binds = PostgresBindings()
            if let name { binds.append(name) }
            return try Self.driftRows(sql, where: name == nil ? "TRUE" : "name = $1", binds: binds, order: "first_seen DESC, id DESC")
        }
    }

    public func resolveDrift(kind: String, name: String, host: String, resolution: String, at date: Date) throws {
        try link.statement { sql in
            try sql.execute("""
                UPDATE drift SET resolved_at = \(date), resolution = \(resolution)
                WHERE kind = \(kind) AND name = \(name) AND host = \(host) AND resolved_at IS NULL
                """)
        }
    }

    private struct Key: Hashable {
        var kind, name, host, field: String
        init(_ kind: String, _ name: String, _ host: String, _ field: String) {
            (self.kind, self.name, self.host, self.field) = (kind, name, host, field)
        }
    }

    /// Drift rows with `earlierOccurrences` counted; `condition` and `order` are this file's own SQL.
    static func driftRows(_ sql: PostgresLink.Statements, where condition: String, binds: PostgresBindings = PostgresBindings(),
                          order: String) throws -> [DriftRecord] {
        try sql.rows(PostgresQuery(unsafeSQL: DriftRecord.selectWithEarlierOccurrences + " WHERE \(condition) ORDER BY \(order)",
                                   binds: binds)).map { try $0.drift() }
    }
}
