import Foundation
import Testing
import TestSupport
import State

/// The state lock between two processes: this test holds or leaves a lock, `vmplan` meets it.
@Suite("vmplan and the state lock lease", .enabled(if: TestHost.shouldRun(), "needs a libvirt host: run scripts/host-up"))
struct LockCLITests {
    @Test func aRefusalNamesTheUnlockCommandAndOnlyTheRightIDReleasesTheLock() throws {
        let name = TestHost.uniqueName("unlock")
        let workspace = try Workspace()
        defer {
            TestHost.removeDomains([name])
            workspace.delete()
        }
        try workspace.write("vms.yaml", Workspace.vm(name, state: "stopped"))
        let database = try StateDatabase(path: workspace.statePath)
        let lock = try database.acquireLock(LockRequest(holder: "first@runner", operation: .apply, warn: { _ in }))

        let second = try CLI.run("apply", workspace.path, "--auto-approve")
        #expect(second.status == 1)
        #expect(second.stderr.contains("is locked by vmplan apply (first@runner) (pid \(getpid()) on "), "\(second.stderr)")
        #expect(second.stderr.contains("last heartbeat ") && second.stderr.contains("(lease 1 min)"))
        #expect(second.stderr.contains("vmplan state unlock \(lock.id) --state \(workspace.statePath)"))
        #expect(try TestHost.domainState(name) == nil, "a refused apply must not touch the host")

        let wrong = try CLI.run("state", "unlock", "000000000000", workspace.path)
        #expect(wrong.status == 1)
        #expect(wrong.stderr.contains("whose lock id is not 000000000000") && wrong.stderr.contains("nothing was changed"), "\(wrong.stderr)")
        #expect(try database.lockHolder()?.lockID == lock.id)
        #expect(try database.lockEvents(limit: 5).isEmpty)

        let right = try CLI.run("state", "unlock", lock.id, workspace.path)
        #expect(right.status == 0, "\(right.stderr)")
        // As vmplan names who runs it: USER, else LOGNAME, else the account's name.
        let environment = ProcessInfo.processInfo.environment
        let user = environment["USER"] ?? environment["LOGNAME"] ?? getpwuid(getuid()).flatMap { String(validatingCString: $0.pointee.pw_name) } ?? "unknown"
        let actor = "\(user)@\(ProcessInfo.processInfo.hostName)"
        #expect(right.stdout.contains("Released the lock \(lock.id) of state \(workspace.statePath), held by vmplan apply (first@runner)"))
        #expect(right.stdout.contains("Recorded as unlocked by \(actor)."))
        #expect(right.stdout.contains("its next state write will be refused"), "the lease was still running")
        #expect(try database.lockHolder() == nil)
        let event = try #require(try database.lockEvents(limit: 5).first)
        #expect(event.event == .unlocked && event.lockID == lock.id && event.actor == actor)

        #expect(try CLI.run("apply", workspace.path, "--auto-approve").status == 0)
        #expect(try TestHost.domainState(name) == "shut off")
        try lock.release()
    }

    @Test func aStaleLockOfAnotherMachineIsTakenOverAndSaidSo() throws {
        let name = TestHost.uniqueName("stale")
        let workspace = try Workspace()
        defer {
            TestHost.removeDomains([name])
            workspace.delete()
        }
        try workspace.write("vms.yaml", Workspace.vm(name, state: "stopped"))
        let database = try StateDatabase(path: workspace.statePath)
        // A holder on another machine whose heartbeat stopped ten minutes ago: its process cannot be checked, its lease tells.
        _ = try TestSQL.query(workspace.statePath, """
            INSERT INTO lock (id, holder, pid, hostname, acquired_at, expires_at, lock_id, operation, heartbeat_at, lease_seconds)
            VALUES (1, 'gone@runner', 4242, 'other-machine', strftime('%Y-%m-%d %H:%M:%f', 'now', '-3600 seconds'),
                    strftime('%Y-%m-%d %H:%M:%f', 'now', '-540 seconds'), 'abcdefabcdef', 'apply',
                    strftime('%Y-%m-%d %H:%M:%f', 'now', '-600 seconds'), 60)
            """)
        #expect(try database.lockHolder()?.isAlive() == false)

        let apply = try CLI.run("apply", workspace.path, "--auto-approve")
        #expect(apply.status == 0, "\(apply.stderr)")
        #expect(apply.stderr.contains("note: took over the lock of vmplan apply (gone@runner) (pid 4242 on other-machine, since "))
        #expect(apply.stderr.contains("stale: no heartbeat for 10 min") && apply.stderr.contains("(lease 1 min)."), "\(apply.stderr)")
        #expect(try TestHost.domainState(name) == "shut off")
        #expect(try database.lockHolder() == nil)
        let event = try #require(try database.lockEvents(limit: 5).first)
        #expect(event.event == .takenOver && event.lockID == "abcdefabcdef" && event.actor.hasPrefix("vmplan apply ("))
    }
}
