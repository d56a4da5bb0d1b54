import Foundation
import PostgresNIO
import State

/// The records of the state's tables, read from rows that selected all their columns.
extension PostgresRandomAccessRow {
    func value<T: PostgresDecodable>(_ column: String, as type: T.Type = T.self) throws -> T {
        try self[column].decode(T.self)
    }

    func resource() throws -> ResourceRecord {
        let pending = try value("pending_restart", as: String.self)
        return ResourceRecord(kind: try value("kind"), name: try value("name"), host: try value("host"), specJSON: try value("spec_json"),
                              specHash: try value("spec_hash"), generation: try value("generation"), commitID: try value("commit_id"),
                              appliedAt: try value("applied_at"),
                              pendingRestart: try JSONDecoder().decode([String].self, from: Data(pending.utf8)))
    }

    func run() throws -> RunRecord {
        RunRecord(id: try value("id"), kind: try enumValue("kind"), startedAt: try value("started_at"), finishedAt: try value("finished_at"),
                  commitID: try value("commit_id"), actor: try value("actor"), result: try enumValue("result"), summary: try value("summary"),
                  ref: try value("ref"), author: try value("author"))
    }

    func journalEntry() throws -> JournalEntry {
        var entry = JournalEntry(runID: try value("run_id"), kind: try value("kind"), name: try value("name"), host: try value("host"),
                                 action: try value("action"), detail: try value("detail"))
        entry.id = try value("id")
        entry.status = try enumValue("status")
        entry.error = try value("error")
        entry.startedAt = try value("started_at")
        entry.finishedAt = try value("finished_at")
        return entry
    }

    func ownedStorage() throws -> OwnedStorage {
        OwnedStorage(kind: try value("kind"), host: try value("host"), pool: try value("pool"), name: try value("name"),
                     libvirtKey: try value("libvirt_key"), createdAt: try value("created_at"))
    }

    func lockHolder() throws -> LockHolder {
        LockHolder(holder: try value("holder"), pid: try value("pid"), hostname: try value("hostname"), acquiredAt: try value("acquired_at"),
                   expiresAt: try value("expires_at"), processStart: try value("process_start"), bootID: try value("boot_id"),
                   lockID: try value("lock_id"), operation: try value("operation", as: String?.self).flatMap(RunKind.init(rawValue:)),
                   commitID: try value("commit_id"), heartbeatAt: try value("heartbeat_at"), lease: try value("lease_seconds"))
    }

    func lockEvent() throws -> LockEvent {
        var event = LockEvent(at: try value("at"), event: try enumValue("event"), lockID: try value("lock_id"), holder: try value("holder"),
                              actor: try value("actor"), reason: try value("reason"))
        event.id = try value("id")
        return event
    }

    /// A drift row with its `earlier_occurrences` counted by the query.
    func drift() throws -> DriftRecord {
        var record = DriftRecord(id: try value("id"), kind: try value("kind"), name: try value("name"), host: try value("host"),
                                 field: try value("field"), recorded: try value("recorded"), live: try value("live"),
                                 firstSeen: try value("first_seen"), lastSeen: try value("last_seen"), timesSeen: try value("times_seen"),
                                 resolvedAt: try value("resolved_at"), resolution: try value("resolution"))
        record.earlierOccurrences = try value("earlier_occurrences")
        return record
    }

    private func enumValue<T: RawRepresentable>(_ column: String) throws -> T where T.RawValue == String {
        let raw = try value(column, as: String.self)
        guard let value = T(rawValue: raw) else {
            throw StateError.failed(path: "", reason: "column \(column) holds '\(raw)', which this vmplan does not know")
        }
        return value
    }
}
