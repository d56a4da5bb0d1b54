import Foundation
import PostgresNIO
import State

extension PostgresStateStore {
    /// Taken atomically: an INSERT that meets an existing row does nothing, and that row is then
    /// read FOR UPDATE and replaced only when it no longer binds (stale, or its process on this
    /// machine gone). Lease times are the server's `now()`.
    public func acquireLock(_ request: LockRequest) throws -> StateLock {
        let (taker, takeover) = try link.transaction { sql -> (LockHolder, LockTakeover?) in
            _ = try Self.serial(sql, forUpdate: true)
            let now = try Self.now(sql)
            let taker = LockHolder.current(request, lockID: StateDatabase.newLockID(), now: now)
            let inserted = try sql.execute("""
                INSERT INTO lock (id, lock_id, holder, pid, hostname, acquired_at, expires_at, process_start, boot_id, operation,
                                  commit_id, heartbeat_at, lease_seconds)
                VALUES (1, \(taker.lockID), \(taker.holder), \(taker.pid), \(taker.hostname), \(taker.acquiredAt), \(taker.expiresAt),
                        \(taker.processStart), \(taker.bootID), \(taker.operation?.rawValue), \(taker.commitID), \(taker.heartbeatAt),
                        \(request.lease))
                ON CONFLICT (id) DO NOTHING
                """)
            guard inserted == 0 else { return (taker, nil) }
            guard let current = try Self.lockHolder(sql, forUpdate: true) else {
                throw StateError.failed(path: path, reason: "the lock row vanished while it was being taken; run again")
            }
            let status = current.status(at: now)
            guard status != .held else { throw StateError.locked(current, path: path) }
            let takeover = LockTakeover(previous: current, status: status)
            try Self.record(LockEvent(at: now, event: .takenOver, lockID: current.lockID, holder: current.description,
                                      actor: "\(taker.name) (pid \(taker.pid) on \(taker.hostname))", reason: takeover.reason), sql)
            try sql.execute("""
                UPDATE lock SET lock_id = \(taker.lockID), holder = \(taker.holder), pid = \(taker.pid), hostname = \(taker.hostname),
                    acquired_at = \(taker.acquiredAt), expires_at = \(taker.expiresAt), process_start = \(taker.processStart),
                    boot_id = \(taker.bootID), operation = \(taker.operation?.rawValue), commit_id = \(taker.commitID),
                    heartbeat_at = \(taker.heartbeatAt), lease_seconds = \(request.lease)
                WHERE id = 1
                """)
            return (taker, takeover)
        }
        let lockID = taker.lockID ?? ""
        return StateLock(id: lockID, holder: taker, takeover: takeover, heartbeat: request.heartbeat, warn: request.warn,
                         renew: { [link] in try Self.renewLock(lockID, link) },
                         release: { [link] in try Self.releaseLock(lockID, link) })
    }

    public func lockHolder() throws -> LockHolder? {
        try link.statement { sql in try Self.lockHolder(sql) }
    }

    public func unlock(id: String, by actor: String) throws -> LockHolder {
        try link.transaction { sql in
            _ = try Self.serial(sql, forUpdate: true)
            guard let current = try Self.lockHolder(sql, forUpdate: true) else { throw StateError.notLocked(path: path) }
            guard current.lockID == id else { throw StateError.wrongLockID(given: id, holder: current, path: path) }
            let now = try Self.now(sql)
            try sql.execute("DELETE FROM lock WHERE lock_id = \(id)")
            try Self.record(LockEvent(at: now, event: .unlocked, lockID: id, holder: current.description, actor: actor,
                                      reason: "vmplan state unlock" + (current.heartbeatText(at: now).map { "; \($0)" } ?? "")), sql)
            return current
        }
    }

    public func lockEvents(limit: Int) throws -> [LockEvent] {
        try link.statement { sql in
            try sql.rows("SELECT * FROM lock_event ORDER BY id DESC LIMIT \(limit)").map { try $0.lockEvent() }
        }
    }

    /// Refuses a write whose `WriteCondition` no longer holds; runs inside the write's transaction,
    /// with the identity row locked so that no other write or lock change passes between.
    func check(_ condition: WriteCondition, _ sql: PostgresLink.Statements) throws {
        let serial = try Self.serial(sql, forUpdate: true)
        let current = try Self.lockHolder(sql)
        if let lockID = condition.lockID {
            guard current?.lockID == lockID else { throw StateError.lockLost(lockID: lockID, current: current, path: path) }
        } else if let current, current.isAlive(at: try Self.now(sql)) {
            throw StateError.locked(current, path: path)
        }
        guard serial == condition.serial else {
            throw StateError.serialMoved(expected: condition.serial, found: serial, path: path)
        }
    }

    static func now(_ sql: PostgresLink.Statements) throws -> Date {
        try sql.rows("SELECT now() AS now")[0].value("now")
    }

    static func lockHolder(_ sql: PostgresLink.Statements, forUpdate: Bool = false) throws -> LockHolder? {
        try sql.rows(forUpdate ? "SELECT * FROM lock WHERE id = 1 FOR UPDATE" : "SELECT * FROM lock WHERE id = 1").first?.lockHolder()
    }

    static func record(_ event: LockEvent, _ sql: PostgresLink.Statements) throws {
        try sql.execute("""
            INSERT INTO lock_event (at, event, lock_id, holder, actor, reason)
            VALUES (\(event.at), \(event.event.rawValue), \(event.lockID), \(event.holder), \(event.actor), \(event.reason))
            """)
    }

    /// Moves the lease on from the server's now; false once the lock is no longer `lockID`.
    private static func renewLock(_ lockID: String, _ link: PostgresLink) throws -> Bool {
        try link.statement { sql in
            try sql.execute("""
                UPDATE lock SET heartbeat_at = now(), expires_at = now() + make_interval(secs => lease_seconds) WHERE lock_id = \(lockID)
                """) > 0
        }
    }

    /// Deletes the lock only if it is still this one: a lock taken over since is the new holder's.
    private static func releaseLock(_ lockID: String, _ link: PostgresLink) throws {
        try link.statement { sql in
            try sql.execute("DELETE FROM lock WHERE lock_id = \(lockID)")
        }
    }
}
