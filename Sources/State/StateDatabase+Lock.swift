import Foundation
import GRDB

extension StateDatabase {
    /// A stale lock, or one whose holder on this machine is gone (`LockHolder.status`), is taken over.
    public func acquireLock(_ request: LockRequest) throws -> StateLock {
        let taker = LockHolder.current(request, lockID: Self.newLockID())
        var takeover: LockTakeover?
        try queue.inTransaction(.immediate) { db in
            if let current = try LockHolder.fetchOne(db) {
                let status = current.status()
                guard status != .held else { throw StateError.locked(current, path: path) }
                takeover = LockTakeover(previous: current, status: status)
                var event = LockEvent(at: taker.acquiredAt, event: .takenOver, lockID: current.lockID, holder: current.description,
                                      actor: "\(taker.name) (pid \(taker.pid) on \(taker.hostname))", reason: takeover?.reason ?? "")
                try event.insert(db)
            }
            try taker.save(db)
            return .commit
        }
        let lockID = taker.lockID ?? ""
        return StateLock(id: lockID, holder: taker, takeover: takeover, heartbeat: request.heartbeat, warn: request.warn,
                         renew: { [self] in try renewLock(lockID, lease: request.lease) },
                         release: { [self] in try releaseLock(lockID) })
    }

    public func lockHolder() throws -> LockHolder? {
        try queue.read { db in try LockHolder.fetchOne(db) }
    }

    public func unlock(id: String, by actor: String) throws -> LockHolder {
        var released: LockHolder?
        try queue.inTransaction(.immediate) { db in
            guard let current = try LockHolder.fetchOne(db) else { throw StateError.notLocked(path: path) }
            guard current.lockID == id else { throw StateError.wrongLockID(given: id, holder: current, path: path) }
            try db.execute(sql: "DELETE FROM lock WHERE lock_id = ?", arguments: [id])
            var event = LockEvent(at: Date(), event: .unlocked, lockID: id, holder: current.description, actor: actor,
                                  reason: "vmplan state unlock" + (current.heartbeatText().map { "; \($0)" } ?? ""))
            try event.insert(db)
            released = current
            return .commit
        }
        guard let released else { throw StateError.notLocked(path: path) }
        return released
    }

    public func lockEvents(limit: Int) throws -> [LockEvent] {
        try queue.read { db in try LockEvent.order(Column("id").desc).limit(limit).fetchAll(db) }
    }

    /// Refuses a write whose `WriteCondition` no longer holds; runs inside the write's transaction.
    func check(_ condition: WriteCondition, _ db: Database) throws {
        let current = try LockHolder.fetchOne(db)
        if let lockID = condition.lockID {
            guard current?.lockID == lockID else { throw StateError.lockLost(lockID: lockID, current: current, path: path) }
        } else if let current, current.isAlive() {
            throw StateError.locked(current, path: path)
        }
        let serial = try Self.serial(db)
        guard serial == condition.serial else {
            throw StateError.serialMoved(expected: condition.serial, found: serial, path: path)
        }
    }

    /// Moves the lease on from now; false once the lock is no longer `lockID` (taken over or unlocked).
    private func renewLock(_ lockID: String, lease: TimeInterval) throws -> Bool {
        try queue.write { db in
            let now = Date()
            try db.execute(sql: "UPDATE lock SET heartbeat_at = ?, expires_at = ? WHERE lock_id = ?",
                           arguments: [now, now.addingTimeInterval(lease), lockID])
            return db.changesCount > 0
        }
    }

    /// Deletes the lock only if it is still this one: a lock taken over since is the new holder's.
    private func releaseLock(_ lockID: String) throws {
        try queue.write { db in
            try db.execute(sql: "DELETE FROM lock WHERE lock_id = ?", arguments: [lockID])
        }
    }

    /// 12 hexadecimal digits: short enough to type into `vmplan state unlock`, random enough never to repeat.
    public static func newLockID() -> String {
        let value = UInt64.random(in: 0..<(1 << 48))
        let digits = String(value, radix: 16)
        return String(repeating: "0", count: 12 - digits.count) + digits
    }
}
