import Foundation
import GRDB
import Synchronization
import Testing
@testable import State

/// The writer lock as a lease with heartbeats, `unlock`, and the compare-and-swap on state writes.
@Suite("State lock lease and write serial (real SQLite file and PostgreSQL; a lock of an older vmplan: SQLite only)")
struct LeaseTests {
    let path = FileManager.default.temporaryDirectory.appendingPathComponent("vmplan-lease-\(UUID().uuidString).db").path

    func request(_ holder: String, lease: TimeInterval = 60, heartbeat: TimeInterval? = nil,
                 warnings: Warnings = Warnings()) -> LockRequest {
        LockRequest(holder: holder, operation: .apply, commitID: "0123456789abcdef", lease: lease, heartbeat: heartbeat,
                    warn: { message in warnings.lines.withLock { $0.append(message) } })
    }

    func record(_ name: String) -> ResourceRecord {
        ResourceRecord(kind: "VirtualMachine", name: name, host: "kvm-01", specJSON: "{}", specHash: "0000000000000001",
                       generation: 1, commitID: nil, appliedAt: Date())
    }

    final class Warnings: Sendable {
        let lines = Mutex<[String]>([])
    }

    @Test(arguments: Backend.all)
    func theHeartbeatAdvancesWhileHeldAndStopsAtRelease(_ backend: Backend) async throws {
        let state = try TestState(backend)
        defer { state.delete() }
        let database = try state.open()
        let lock = try database.acquireLock(request("alice@ci", lease: 0.6, heartbeat: 0.1))
        let taken = try #require(try database.lockHolder())
        #expect(taken.lockID == lock.id && lock.id.count == 12)
        #expect(taken.operation == .apply && taken.commitID == "0123456789abcdef" && taken.lease == 0.6)
        #expect(taken.name == "vmplan apply (alice@ci)")
        let first = try #require(taken.heartbeatAt)

        try await Task.sleep(for: .milliseconds(450))
        let renewed = try #require(try database.lockHolder())
        let later = try #require(renewed.heartbeatAt)
        #expect(later > first)
        // SQLite stores dates to the millisecond: the lease end and the heartbeat are rounded apart.
        #expect(abs(renewed.expiresAt.timeIntervalSince(later.addingTimeInterval(0.6))) < 0.002)
        #expect(renewed.acquiredAt == taken.acquiredAt)
        #expect(renewed.status() == .held)

        try lock.release()
        try await Task.sleep(for: .milliseconds(250))
        #expect(try database.lockHolder() == nil, "a released lock is not renewed back into the table")
    }

    @Test(arguments: Backend.all)
    func aLeaseWhoseHeartbeatStoppedIsStaleAndTakenOverAndALiveOneIsRefused(_ backend: Backend) async throws {
        let state = try TestState(backend)
        defer { state.delete() }
        let path = state.shown
        let first = try state.open()
        let lock = try first.acquireLock(request("alice@ci", lease: 0.4, heartbeat: 0.1))
        let second = try state.open()

        // Live: refused, naming holder, operation, since when, the last heartbeat and the unlock command.
        #expect {
            _ = try second.acquireLock(request("bob@laptop"))
        } throws: { error in
            let message = "\(error)"
            return message.hasPrefix("state \(path) is locked by vmplan apply (alice@ci) (pid \(getpid()) on ")
                && message.contains("commit 0123456789ab, since ") && message.contains("last heartbeat ")
                && message.contains("ago (lease 0.4 s)")
                && message.hasSuffix("vmplan state unlock \(lock.id) --state \(ShellQuote.word(path))")
        }

        // A holder that hangs: its lease runs out although its process is alive.
        lock.stopHeartbeat()
        try await Task.sleep(for: .milliseconds(600))
        let stale = try #require(try second.lockHolder())
        guard case .stale(let silence) = stale.status() else {
            Issue.record("expected a stale lock, found \(stale.status())")
            return
        }
        #expect(silence >= 0.4)

        let taker = try second.acquireLock(request("bob@laptop"))
        let takeover = try #require(taker.takeover)
        #expect(takeover.previous.lockID == lock.id)
        #expect(takeover.description.hasPrefix("note: took over the lock of vmplan apply (alice@ci) (pid \(getpid())"))
        #expect(takeover.reason.hasPrefix("stale: no heartbeat for ") && takeover.reason.hasSuffix(" (lease 0.4 s)"))
        let event = try #require(try second.lockEvents(limit: 10).first)
        #expect(event.event == .takenOver && event.lockID == lock.id)
        #expect(event.holder.hasPrefix("vmplan apply (alice@ci)"))
        #expect(event.actor == "vmplan apply (bob@laptop) (pid \(getpid()) on \(ProcessInfo.processInfo.hostName))")
        #expect(event.reason == takeover.reason)

        // The first holder giving its lock back leaves the taker's alone.
        try lock.release()
        #expect(try second.lockHolder()?.lockID == taker.id)
        try taker.release()
        #expect(try second.lockHolder() == nil)
    }

    @Test(arguments: Backend.all)
    func unlockWithAnotherIDChangesNothingAndWithItsIDReleasesAndRecordsWho(_ backend: Backend) async throws {
        let state = try TestState(backend)
        defer { state.delete() }
        let database = try state.open()
        #expect(throws: StateError.self) { _ = try database.unlock(id: "0123456789ab", by: "carol@laptop") }
        let warnings = Warnings()
        let lock = try database.acquireLock(request("alice@ci", heartbeat: 0.05, warnings: warnings))
        let held = try #require(try database.lockHolder())

        #expect {
            _ = try database.unlock(id: "000000000000", by: "carol@laptop")
        } throws: { error in
            "\(error)".contains("is locked by vmplan apply (alice@ci)") && "\(error)".contains("whose lock id is not 000000000000")
                && "\(error)".contains("nothing was changed")
        }
        let unchanged = try #require(try database.lockHolder())
        #expect(unchanged.lockID == held.lockID && unchanged.acquiredAt == held.acquiredAt && unchanged.holder == held.holder)
        #expect(try database.lockEvents(limit: 10).isEmpty)

        let released = try database.unlock(id: lock.id, by: "carol@laptop")
        #expect(released.lockID == lock.id && released.holder == "alice@ci")
        #expect(try database.lockHolder() == nil)
        let event = try #require(try database.lockEvents(limit: 10).first)
        #expect(event.event == .unlocked && event.lockID == lock.id && event.actor == "carol@laptop")
        #expect(event.holder.hasPrefix("vmplan apply (alice@ci) (pid \(getpid())"))
        #expect(event.reason.hasPrefix("vmplan state unlock; last heartbeat "))

        // The unlocked holder's heartbeat finds the lock gone: it says so once, and does not take it back.
        try await Task.sleep(for: .milliseconds(300))
        #expect(try database.lockHolder() == nil)
        #expect(warnings.lines.withLock { $0 }.count == 1)
        #expect(warnings.lines.withLock { $0 }.first?.contains("is no longer this run's") == true)
        try lock.release()
    }

    @Test(arguments: Backend.all)
    func theHolderWritesAtItsOwnPaceAndOnlyChangesMoveTheSerial(_ backend: Backend) throws {
        let state = try TestState(backend)
        defer { state.delete() }
        let database = try state.open()
        let lock = try database.acquireLock(request("alice@ci"))
        let run = try database.beginRun(.apply, actor: "alice@ci")
        var condition = WriteCondition(serial: try database.serial(), lockID: lock.id)
        #expect(condition.serial == 0)
        for name in ["a", "b"] {
            let id = try database.journalBegin(JournalEntry(runID: run, kind: "VirtualMachine", name: name, host: "kvm-01", action: "create", detail: ""))
            condition = try database.journalDone(id, update: .upsert(record(name)), ownership: .keep, condition: condition)
        }
        let noop = try database.journalBegin(JournalEntry(runID: run, kind: "VirtualMachine", name: "a", host: "kvm-01", action: "update", detail: ""))
        condition = try database.journalDone(noop, update: .keep, ownership: .keep, condition: condition)
        #expect(try condition.serial == 2 && database.serial() == 2)
        #expect(try state.open().serial() == 2, "another run reads the serial the writes moved")
        if backend == .sqlite { #expect(try TestSQL.query(state.location, "SELECT serial FROM identity") == "2\n") }
        try lock.release()
    }

    @Test(arguments: Backend.all)
    func aWriterWhoseLockWasTakenOverIsRefusedAndRecordsNothing(_ backend: Backend) async throws {
        let state = try TestState(backend)
        defer { state.delete() }
        let first = try state.open()
        let lock = try first.acquireLock(request("alice@ci", lease: 0.3, heartbeat: 0.1))
        let run = try first.beginRun(.apply, actor: "alice@ci")
        let condition = WriteCondition(serial: try first.serial(), lockID: lock.id)
        let entry = try first.journalBegin(JournalEntry(runID: run, kind: "VirtualMachine", name: "web-1", host: "kvm-01", action: "create", detail: ""))
        lock.stopHeartbeat()
        try await Task.sleep(for: .milliseconds(500))
        let second = try state.open()
        let taker = try second.acquireLock(request("bob@laptop"))

        // Nothing was written since: the lock alone tells that this writer no longer owns the state.
        #expect {
            _ = try first.journalDone(entry, update: .upsert(record("web-1")), ownership: .keep, condition: condition)
        } throws: { error in
            guard let error = error as? StateError, case .lockLost(let id, let current, _) = error else { return false }
            return id == lock.id && current?.lockID == taker.id && error.refusedWrite
                && "\(error)".contains("vmplan apply (bob@laptop)") && "\(error)".contains("The write was refused")
        }
        #expect(try second.resources().isEmpty)
        #expect(try second.pendingJournal().map(\.id) == [entry])
        #expect(try second.serial() == condition.serial)

        // The taker writes as it planned.
        let next = try second.journalBegin(JournalEntry(runID: run, kind: "VirtualMachine", name: "db", host: "kvm-01", action: "create", detail: ""))
        _ = try second.journalDone(next, update: .upsert(record("db")), ownership: .keep,
                                   condition: WriteCondition(serial: condition.serial, lockID: taker.id))
        #expect(try second.resources().map(\.name) == ["db"])
        try taker.release()
    }

    @Test(arguments: Backend.all)
    func aWriterWithoutTheLockIsRefusedWhileItIsHeldOrOnceTheSerialMoved(_ backend: Backend) throws {
        let state = try TestState(backend)
        defer { state.delete() }
        let database = try state.open()
        let run = try database.beginRun(.apply, actor: "test")
        let lockless = WriteCondition(serial: try database.serial(), lockID: nil)
        let entry = try database.journalBegin(JournalEntry(runID: run, kind: "VirtualMachine", name: "x", host: "kvm-01", action: "create", detail: ""))

        let lock = try database.acquireLock(request("alice@ci"))
        #expect {
            _ = try database.journalDone(entry, update: .upsert(record("x")), ownership: .keep, condition: lockless)
        } throws: { error in
            "\(error)".contains("is locked by vmplan apply (alice@ci)")
        }
        let held = try database.journalBegin(JournalEntry(runID: run, kind: "VirtualMachine", name: "y", host: "kvm-01", action: "create", detail: ""))
        _ = try database.journalDone(held, update: .upsert(record("y")), ownership: .keep,
                                     condition: WriteCondition(serial: lockless.serial, lockID: lock.id))
        try lock.release()

        #expect {
            _ = try database.journalDone(entry, update: .upsert(record("x")), ownership: .keep, condition: lockless)
        } throws: { error in
            guard case .serialMoved(expected: 0, found: 1, _) = error as? StateError else { return false }
            return "\(error)".contains("changed under this run: its serial is 1, and this run planned at 0")
        }
        #expect(try database.resources().map(\.name) == ["y"])
        // At the serial it has now, a writer without the lock may write.
        _ = try database.journalDone(entry, update: .upsert(record("x")), ownership: .keep,
                                     condition: WriteCondition(serial: 1, lockID: nil))
        #expect(try database.resources().map(\.name) == ["x", "y"])
    }

    @Test func aLockFromAnOlderVMPlanMigratesAndReadsAsBefore() throws {
        defer { try? FileManager.default.removeItem(atPath: path) }
        try Migrations.migrator.migrate(try DatabaseQueue(path: path), upTo: "v8: run.ref, run.author")
        try TestSQL.execute(path, """
            INSERT INTO lock (id, holder, pid, hostname, acquired_at, expires_at)
            VALUES (1, 'vmplan apply (old@ci)', 1, 'other-machine', '2026-01-01 00:00:00.000', '2999-01-01 00:00:00.000')
            """)
        let database = try StateDatabase(path: path)
        let old = try #require(try database.lockHolder())
        #expect(old.lockID == nil && old.heartbeatAt == nil && old.name == "vmplan apply (old@ci)" && old.status() == .held)
        #expect(try database.serial() == 0)
        #expect {
            _ = try database.acquireLock(holder: "me")
        } throws: { error in
            "\(error)".contains("is locked by vmplan apply (old@ci)") && "\(error)".contains("run again after 2999-01-01")
        }
    }
}
