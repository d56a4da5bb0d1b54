import Foundation
import Testing
import TestSupport
@testable import PostgresState
import State

/// The test PostgreSQL server scripts/postgres-up starts (VMPLAN_TEST_POSTGRES is its URL).
enum TestPostgres {
    static let url = ProcessInfo.processInfo.environment["VMPLAN_TEST_POSTGRES"].flatMap { $0.isEmpty ? nil : $0 }
    /// scripts/test sets VMPLAN_REQUIRE_POSTGRES=1: a missing server then fails the tests instead of skipping them.
    static let required = ProcessInfo.processInfo.environment["VMPLAN_REQUIRE_POSTGRES"] == "1"

    static func shouldRun() -> Bool {
        if required { return true }
        if url == nil { print("SKIP: needs VMPLAN_TEST_POSTGRES: run scripts/postgres-up (as root) and export the URL it prints") }
        return url != nil
    }

    /// A state of its own: a new schema in the test database.
    static func newState() throws -> String {
        let url = try #require(url, "VMPLAN_REQUIRE_POSTGRES=1 but VMPLAN_TEST_POSTGRES is not set: run scripts/postgres-up")
        return url + (url.contains("?") ? "&" : "?") + "schema=cli_" + UUID().uuidString.prefix(8).lowercased()
    }

    /// Drops the state's schema, if it was created.
    static func drop(_ state: String) {
        guard let location = try? PostgresLocation(url: state) else { return }
        _ = try? PostgresLink(location).statement { sql in try sql.execute(unsafeSQL: "DROP SCHEMA IF EXISTS \"\(location.schema)\" CASCADE") }
    }
}

@Suite("vmplan with a PostgreSQL state on a real libvirtd",
       .enabled(if: TestHost.shouldRun(), "needs a libvirt host: run scripts/host-up"),
       .enabled(if: TestPostgres.shouldRun(), "needs a PostgreSQL server: run scripts/postgres-up"))
struct PostgresStateCLITests {
    @Test func anApplyRecordsThereAndASecondApplyFromAnotherProcessIsRefusedNamingTheHolder() throws {
        let name = TestHost.uniqueName("pgstate")
        let workspace = try Workspace()
        defer {
            TestHost.removeDomains([name])
            workspace.delete()
        }
        let state = try TestPostgres.newState()
        defer { TestPostgres.drop(state) }
        let shown = try PostgresLocation(url: state).redacted
        try workspace.write("vms.yaml", Workspace.vm(name, state: "stopped"))

        let first = try CLI.run("apply", workspace.path, "--auto-approve", "--state", state)
        #expect(first.status == 0, "\(first.stderr)")
        #expect(try TestHost.domainState(name) == "shut off")
        #expect(!FileManager.default.fileExists(atPath: workspace.statePath), "no SQLite file beside the manifests")
        let store = try PostgresStateStore(url: state)
        #expect(try store.resources().map(\.name) == [name])
        #expect(try store.runs().first?.result == .succeeded)
        #expect(try store.lockHolder() == nil)

        // This test process holds the lock, as another runner's apply would.
        let lock = try store.acquireLock(LockRequest(holder: "first@runner", operation: .apply, warn: { _ in }))
        try workspace.write("vms.yaml", Workspace.vm(name, memory: "96MiB", state: "stopped"))
        let second = try CLI.run("apply", workspace.path, "--auto-approve", "--state", state)
        #expect(second.status == 1)
        #expect(second.stderr.contains("state \(shown) is locked by vmplan apply (first@runner) (pid \(getpid()) on "), "\(second.stderr)")
        #expect(second.stderr.contains("vmplan state unlock \(lock.id) --state '\(shown)'") || second.stderr.contains("--state \(shown)"))
        #expect(try store.resources().first?.generation == 1, "a refused apply records nothing")

        let list = try CLI.run("state", "list", workspace.path, "--state", state)
        #expect(list.status == 0 && list.stdout.contains(name) && list.stdout.contains(shown), "\(list.stderr)")
        let unlock = try CLI.run("state", "unlock", lock.id, workspace.path, "--state", state)
        #expect(unlock.status == 0, "\(unlock.stderr)")
        #expect(try store.lockHolder() == nil)
        try lock.release()
    }

    @Test func aPlanOrADriftCheckAgainstAStateThatDoesNotExistYetCreatesNothing() throws {
        let name = TestHost.uniqueName("pgabsent")
        let workspace = try Workspace()
        let state = try TestPostgres.newState()
        defer {
            TestHost.removeDomains([name])
            workspace.delete()
            TestPostgres.drop(state)
        }
        let shown = try PostgresLocation(url: state).redacted
        try workspace.write("vms.yaml", Workspace.vm(name, state: "stopped"))

        let plan = try CLI.run("plan", workspace.path, "--state", state, "--detailed-exitcode")
        #expect(plan.status == 2 && plan.stdout.contains("+ \(name)"), "\(plan.stdout)\(plan.stderr)")
        #expect(plan.stderr.contains("note: state \(shown) is empty (database vmplan_test has no schema "), "\(plan.stderr)")
        #expect(try CLI.run("drift", workspace.path, "--state", state).status == 0)
        #expect(try !PostgresStateStore.exists(url: state), "a plan and a drift check never create a state")
        let list = try CLI.run("state", "list", workspace.path, "--state", state)
        #expect(list.status == 1 && list.stderr.contains("no state database at \(shown)"), "\(list.stderr)")
        #expect(try !PostgresStateStore.exists(url: state))

        #expect(try CLI.run("apply", workspace.path, "--auto-approve", "--state", state).status == 0)
        #expect(try PostgresStateStore(url: state).resources().map(\.name) == [name])
    }

    @Test func aStateMovesToPostgreSQLAndBackWithItsRecordsAndStillOwnsItsDomain() throws {
        let name = TestHost.uniqueName("pgmove")
        let workspace = try Workspace()
        let shared = try TestPostgres.newState()
        let pulled = workspace.directory.appendingPathComponent("pulled.db").path
        defer {
            TestHost.removeDomains([name])
            workspace.delete()
            TestPostgres.drop(shared)
        }
        let shown = try PostgresLocation(url: shared).redacted
        try workspace.write("vms.yaml", Workspace.vm(name, state: "stopped"))
        #expect(try CLI.run("apply", workspace.path, "--auto-approve").status == 0)
        // Drift for the history: a description changed by hand.
        #expect(try TestHost.virsh("desc", name, "--config", "by hand").status == 0)
        #expect(try CLI.run("drift", workspace.path).status == 2)
        let original = try StateDatabase(path: workspace.statePath).snapshot()
        #expect(original.resources.map(\.name) == [name] && original.runs.map(\.kind) == [.apply, .drift])
        #expect(!original.journal.isEmpty && !original.drift.isEmpty && original.serial == 1)

        let push = try CLI.run("state", "push", workspace.path, "--to", shared)
        #expect(push.status == 0, "\(push.stdout)\(push.stderr)")
        #expect(push.stdout.contains("Copied state \(original.stateID) (serial 1) from \(workspace.statePath) to \(shown):"), "\(push.stdout)")
        for (table, rows) in [("identity", 1), ("resource", 1), ("run", 2), ("journal", original.journal.count), ("drift", original.drift.count),
                              ("owned_storage", 0), ("lock_event", 0)] {
            #expect(push.stdout.range(of: "\n\(table) +\(rows) +[0-9a-f]{64}  same\n", options: .regularExpression) != nil, "\(table): \(push.stdout)")
        }
        #expect(push.stdout.contains("Verified: the copy holds the source's rows, table by table"))
        #expect(push.stdout.contains("Use the copy from now on: --state '\(shown)', or VMPLAN_STATE, with the password in PGPASSWORD."))
        let remote = try PostgresStateStore(url: shared)
        let copied = try remote.snapshot()
        #expect(copied.toTheMillisecond == original.toTheMillisecond, "every record, every column")

        // Pushed again: the shared state holds something now, and is left as it is.
        let again = try CLI.run("state", "push", workspace.path, "--to", shared)
        #expect(again.status == 1, "\(again.stdout)")
        #expect(again.stderr.contains("error: state \(shown) already holds 1 resource, 2 runs, "), "\(again.stderr)")
        #expect(again.stderr.contains("never over another. Nothing was changed."))
        #expect(try remote.snapshot() == copied)

        // Pulled back into a new file: the same records again.
        let pull = try CLI.run("state", "pull", workspace.path, "--from", shared, "--state", pulled)
        #expect(pull.status == 0, "\(pull.stdout)\(pull.stderr)")
        #expect(pull.stdout.contains("This state, \(pulled), is now a copy of \(shown)."))
        #expect(try StateDatabase(path: pulled).snapshot().toTheMillisecond == original.toTheMillisecond)

        // The shared state is the domain's owner (its marker names the copied state id): an apply
        // there puts the description back, and the next plan has nothing to do.
        let apply = try CLI.run("apply", workspace.path, "--auto-approve", "--state", shared)
        #expect(apply.status == 0, "\(apply.stdout)\(apply.stderr)")
        #expect(try CLI.run("plan", workspace.path, "--state", shared, "--detailed-exitcode").status == 0)
    }

    @Test func aCopyOfAStateARunHoldsIsRefusedNamingItAndCreatesNothing() throws {
        let workspace = try Workspace()
        let shared = try TestPostgres.newState()
        defer {
            workspace.delete()
            TestPostgres.drop(shared)
        }
        let database = try StateDatabase(path: workspace.statePath)
        let lock = try database.acquireLock(LockRequest(holder: "first@runner", operation: .apply, warn: { _ in }))
        let push = try CLI.run("state", "push", workspace.path, "--to", shared)
        #expect(push.status == 1)
        #expect(push.stderr.contains("is locked by vmplan apply (first@runner) (pid \(getpid()) on ") && push.stderr.contains("nothing was copied"),
                "\(push.stderr)")
        #expect(try !PostgresStateStore.exists(url: shared))
        try lock.release()

        let same = try CLI.run("state", "push", workspace.path, "--to", workspace.statePath)
        #expect(same.status == 1 && same.stderr.contains("are the same state"), "\(same.stderr)")
        let nothing = try CLI.run("state", "pull", workspace.path, "--from", shared, "--state", workspace.directory.appendingPathComponent("new.db").path)
        let shown = try PostgresLocation(url: shared).redacted
        #expect(nothing.status == 1 && nothing.stderr.contains("no state at \(shown): nothing to copy"), "\(nothing.stderr)")
        #expect(try !PostgresStateStore.exists(url: shared))
    }
}
