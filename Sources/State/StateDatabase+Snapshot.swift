import Foundation
import GRDB

extension StateDatabase {
    public func snapshot() throws -> StateSnapshot {
        // One read transaction: a writer in another process waits, or its write is not seen at all.
        try queue.read { db in
            guard let stateID = try String.fetchOne(db, sql: "SELECT state_id FROM identity WHERE id = 1") else {
                throw StateError.unreadable(path: path, reason: "it has no state id (its identity table is empty)")
            }
            return StateSnapshot(
                stateID: stateID, serial: try Self.serial(db),
                resources: try ResourceRecord.order(Column("kind"), Column("name")).fetchAll(db),
                runs: try RunRecord.order(Column("id")).fetchAll(db),
                journal: try JournalEntry.order(Column("id")).fetchAll(db),
                drift: try DriftRecord.order(Column("id")).fetchAll(db),
                ownedStorage: try OwnedStorage.order(Column("kind"), Column("host"), Column("pool"), Column("name")).fetchAll(db),
                lockEvents: try LockEvent.order(Column("id")).fetchAll(db))
        }
    }

    public func restore(_ snapshot: StateSnapshot) throws {
        try queue.inTransaction(.immediate) { db in
            let counts = try Row.fetchOne(db, sql: StateSnapshot.countRowsSQL).map { row in
                Dictionary(uniqueKeysWithValues: row.columnNames.map { ($0, row[$0] as Int) })
            } ?? [:]
            if let found = StateSnapshot.occupancy(counts: counts, serial: try Self.serial(db), lock: try LockHolder.fetchOne(db)) {
                throw StateError.notEmpty(path: path, found: found)
            }
            try db.execute(sql: "UPDATE identity SET state_id = ?, serial = ? WHERE id = 1", arguments: [snapshot.stateID, snapshot.serial])
            for record in snapshot.resources { try record.insert(db) }
            // Inserted with their ids, runs before the journal entries that name them. AUTOINCREMENT
            // counts on from the highest id, so no id of the copy is ever given out again.
            for var run in snapshot.runs { try run.insert(db) }
            for var entry in snapshot.journal { try entry.insert(db) }
            for var row in snapshot.drift { try row.insert(db) }
            for owned in snapshot.ownedStorage { try owned.insert(db) }
            for var event in snapshot.lockEvents { try event.insert(db) }
            return .commit
        }
    }
}
