import Foundation
import Testing
import TestSupport

/// State files that are not vmplan's are refused before any host is contacted: no libvirt needed.
@Suite("vmplan with a state file that is not its own")
struct ForeignStateTests {
    @Test func aForeignSQLiteFileAsStateIsRefusedAndLeftAsItWas() throws {
        let workspace = try Workspace()
        defer { workspace.delete() }
        let foreign = workspace.directory.appendingPathComponent("notes.db").path
        _ = try TestSQL.query(foreign, "CREATE TABLE notes (body TEXT); INSERT INTO notes VALUES ('keep me');")
        let before = try Data(contentsOf: URL(fileURLWithPath: foreign))

        for command in [["plan"], ["apply", "--auto-approve"]] {
            let refused = try TestHost.run(CLI.binary, command + [workspace.path, "--state", foreign])
            #expect(refused.status == 1, "\(command): \(refused.stdout)\(refused.stderr)")
            #expect(refused.stderr.contains("cannot open state database \(foreign): it is an SQLite database with table notes"), "\(refused.stderr)")
            #expect(refused.stderr.contains("Nothing was changed."))
            #expect(try Data(contentsOf: URL(fileURLWithPath: foreign)) == before, "\(command) left the file's bytes as they were")
        }
    }
}

/// `plan` reads state and never writes it into being.
@Suite("vmplan plan without a state file", .enabled(if: TestHost.shouldRun(), "needs a libvirt host: run scripts/host-up"))
struct PlanWritesNoStateTests {
    @Test func aPlanOnAFreshDirectoryLeavesNoStateBehind() throws {
        let name = TestHost.uniqueName("fresh")
        let workspace = try Workspace()
        defer { TestHost.removeDomains([name]); workspace.delete() }
        try workspace.write("vm.yaml", Workspace.vm(name, state: "stopped"))

        let plan = try CLI.run("plan", workspace.path)
        #expect(plan.status == 0, "\(plan.stderr)")
        #expect(plan.stdout.contains("+ \(name) (local)"))
        #expect(!FileManager.default.fileExists(atPath: workspace.directory.appendingPathComponent(".vmplan").path))

        // An empty file is a new state: said, and left empty by a plan.
        let empty = workspace.directory.appendingPathComponent("empty.db").path
        FileManager.default.createFile(atPath: empty, contents: Data())
        let onEmpty = try CLI.run("plan", workspace.path, "--state", empty)
        #expect(onEmpty.status == 0, "\(onEmpty.stderr)")
        #expect(onEmpty.stderr.contains("note: state \(empty) is empty (0 bytes)"), "\(onEmpty.stderr)")
        #expect(try Data(contentsOf: URL(fileURLWithPath: empty)).isEmpty)
    }

    @Test func aPlanWhileAnApplyHoldsTheLockSaysItIsRunning() throws {
        let workspace = try Workspace()
        defer { workspace.delete() }
        #expect(try CLI.run("apply", workspace.path, "--auto-approve").status == 0)
        // This test process stands in for the running apply: its pid is alive (a lock row without a start time
        // is checked by pid alone, as one written by an older vmplan).
        _ = try TestSQL.query(workspace.statePath, """
            INSERT INTO run (id, kind, started_at, actor, result) VALUES (100, 'apply', '2026-01-01 00:00:00.000', 'alice@ci', 'running');
            INSERT INTO journal (run_id, kind, name, host, action, detail, status, started_at)
                VALUES (100, 'VirtualMachine', 'web-9', 'local', 'create', '', 'pending', '2026-01-01 00:00:00.000');
            INSERT INTO lock (id, holder, pid, hostname, acquired_at, expires_at)
                VALUES (1, 'vmplan apply (alice@ci)', \(getpid()), '\(ProcessInfo.processInfo.hostName)', '2026-01-01 00:00:00.000', '2999-01-01 00:00:00.000');
            """)
        let plan = try CLI.run("plan", workspace.path)
        #expect(plan.status == 0, "\(plan.stderr)")
        #expect(plan.stdout.contains("An apply is running now: vmplan apply (alice@ci) (pid \(getpid()) on "), "\(plan.stdout)")
        #expect(plan.stdout.contains("has begun 1 change (web-9) it has not finished"))
        #expect(!plan.stdout.contains("An earlier apply stopped"))
    }
}
