import Foundation
import PostgresNIO
import State

extension PostgresStateStore {
    public func snapshot() throws -> StateSnapshot {
        try link.transaction { sql in
            // Every table as of one moment, whatever commits meanwhile.
            try sql.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
            guard let identity = try sql.rows("SELECT state_id, serial FROM identity WHERE id = 1").first else {
                throw StateError.unreadable(path: path, reason: "it has no state id (its identity table is empty)")
            }
            return StateSnapshot(
                stateID: try identity.value("state_id"), serial: try identity.value("serial"),
                resources: try sql.rows("SELECT * FROM resource ORDER BY kind, name").map { try $0.resource() },
                runs: try sql.rows("SELECT * FROM run ORDER BY id").map { try $0.run() },
                journal: try sql.rows("SELECT * FROM journal ORDER BY id").map { try $0.journalEntry() },
                drift: try sql.rows("SELECT *, 0 AS earlier_occurrences FROM drift ORDER BY id").map { try $0.drift() },
                ownedStorage: try sql.rows("SELECT * FROM owned_storage ORDER BY kind, host, pool, name").map { try $0.ownedStorage() },
                lockEvents: try sql.rows("SELECT * FROM lock_event ORDER BY id").map { try $0.lockEvent() })
        }
    }

    public func restore(_ snapshot: StateSnapshot) throws {
        try link.transaction { sql in
            let serial = try Self.serial(sql, forUpdate: true)
            let counts = try sql.rows(PostgresQuery(unsafeSQL: StateSnapshot.countRowsSQL)).first.map { row in
                try Dictionary(uniqueKeysWithValues: row.map { cell in (cell.columnName, Int(try cell.decode(Int64.self))) })
            } ?? [:]
            if let found = StateSnapshot.occupancy(counts: counts, serial: serial, lock: try Self.lockHolder(sql, forUpdate: true)) {
                throw StateError.notEmpty(path: path, found: found)
            }
            try sql.execute("UPDATE identity SET state_id = \(snapshot.stateID), serial = \(snapshot.serial) WHERE id = 1")
            for record in snapshot.resources { try Self.save(record, sql) }
            for run in snapshot.runs {
                try sql.execute("""
                    INSERT INTO run (id, kind, started_at, finished_at, commit_id, actor, result, summary, ref, author)
                    VALUES (\(run.id), \(run.kind.rawValue), \(run.startedAt), \(run.finishedAt), \(run.commitID), \(run.actor),
                            \(run.result.rawValue), \(run.summary), \(run.ref), \(run.author))
                    """)
            }
            for entry in snapshot.journal {
                try sql.execute("""
                    INSERT INTO journal (id, run_id, kind, name, host, action, detail, status, error, started_at, finished_at)
                    VALUES (\(entry.id), \(entry.runID), \(entry.kind), \(entry.name), \(entry.host), \(entry.action), \(entry.detail),
                            \(entry.status.rawValue), \(entry.error), \(entry.startedAt), \(entry.finishedAt))
                    """)
            }
            for row in snapshot.drift {
                try sql.execute("""
                    INSERT INTO drift (id, kind, name, host, field, recorded, live, first_seen, last_seen, times_seen, resolved_at, resolution)
                    VALUES (\(row.id), \(row.kind), \(row.name), \(row.host), \(row.field), \(row.recorded), \(row.live), \(row.firstSeen),
                            \(row.lastSeen), \(row.timesSeen), \(row.resolvedAt), \(row.resolution))
                    """)
            }
            for owned in snapshot.ownedStorage { try Self.save(owned, sql) }
            for event in snapshot.lockEvents {
                try sql.execute("""
                    INSERT INTO lock_event (id, at, event, lock_id, holder, actor, reason)
                    VALUES (\(event.id), \(event.at), \(event.event.rawValue), \(event.lockID), \(event.holder), \(event.actor), \(event.reason))
                    """)
            }
            // Rows inserted with their ids leave the identity columns' sequences behind: move each
            // past the highest id, so that the next run, entry or event gets a new one.
            for table in ["run", "journal", "drift", "lock_event"] {
                try sql.execute("SELECT setval(pg_get_serial_sequence(\(table), 'id'), max(id)) FROM \(unescaped: table)")
            }
        }
    }
}
