import Foundation
import Testing
import TestSupport
import PostgresState
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
}
