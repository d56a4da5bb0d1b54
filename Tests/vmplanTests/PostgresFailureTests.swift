import Foundation
import Testing
import TestSupport
import PostgresState
import State

/// The test cluster scripts/postgres-up runs (/var/lib/vmplan-postgres), driven with its own pg_ctl.
enum TestCluster {
    static let root = "/var/lib/vmplan-postgres"
    static let data = root + "/data"
    /// The newest installed server's programs, as scripts/postgres-up picks them.
    static let bin: String? = {
        let versions = (try? FileManager.default.contentsOfDirectory(atPath: "/usr/lib/postgresql")) ?? []
        return versions.compactMap { Int($0) }.sorted().last.map { "/usr/lib/postgresql/\($0)/bin" }
    }()
    static let port = TestPostgres.url.flatMap { URLComponents(string: $0)?.port } ?? 5432

    /// Why the cluster cannot be restarted from here, or nil when it can.
    static let unavailable: String? = {
        guard getuid() == 0 else { return "restarting the test PostgreSQL needs root (it runs pg_ctl as the postgres user)" }
        guard bin != nil, FileManager.default.fileExists(atPath: data + "/PG_VERSION") else {
            return "no test cluster in \(data): run scripts/postgres-up"
        }
        guard (try? pgCtl("status").status) == 0 else { return "the test cluster in \(data) is not running: run scripts/postgres-up" }
        return nil
    }()

    /// `pg_ctl -D DATA ARGUMENTS…` as the postgres user, with what it says (stdout and stderr); the
    /// server's own output goes to the cluster's log (`-l`).
    static func pgCtl(_ arguments: String...) throws -> (status: Int32, said: String) {
        let output = try TestHost.run("runuser", ["-u", "postgres", "--", (bin ?? "") + "/pg_ctl", "-D", data] + arguments)
        return (output.status, output.stdout + output.stderr)
    }

    /// A fast restart: connections are ended, the server stops and starts with the options it ran with.
    static func restart() throws -> (status: Int32, said: String) {
        try pgCtl("restart", "-m", "fast", "-w", "-t", "60", "-l", root + "/postgres.log")
    }

    /// Whether the server answers within `timeout` seconds.
    static func waitUntilReady(timeout: TimeInterval) -> Bool {
        let deadline = Date().addingTimeInterval(timeout)
        repeat {
            if (try? TestHost.run((bin ?? "") + "/pg_isready", ["-q", "-h", "127.0.0.1", "-p", String(port), "-U", "postgres"]).status) == 0 { return true }
            Thread.sleep(forTimeInterval: 0.2)
        } while Date() < deadline
        return false
    }

    /// Starts the server again if a test left it down: others' tests use it too.
    static func ensureRunning() {
        guard !waitUntilReady(timeout: 5) else { return }
        _ = try? restart()
        _ = waitUntilReady(timeout: 60)
    }
}

/// A `vmplan` run in the background, its output in files beside the manifests.
struct BackgroundRun {
    let process = Process()
    let stdout: URL
    let stderr: URL

    /// Runs `command` (a program found on PATH, then its arguments) with `environment` added.
    init(_ command: [String], environment: [String: String] = [:], in workspace: Workspace) throws {
        let id = UUID().uuidString.prefix(8)
        stdout = workspace.directory.appendingPathComponent("run-\(id).out")
        stderr = workspace.directory.appendingPathComponent("run-\(id).err")
        _ = FileManager.default.createFile(atPath: stdout.path, contents: nil)
        _ = FileManager.default.createFile(atPath: stderr.path, contents: nil)
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = command
        process.environment = ProcessInfo.processInfo.environment.merging(environment) { $1 }
        process.standardInput = FileHandle.nullDevice
        process.standardOutput = try FileHandle(forWritingTo: stdout)
        process.standardError = try FileHandle(forWritingTo: stderr)
        try process.run()
    }

    var output: (stdout: String, stderr: String) {
        ((try? String(contentsOf: stdout, encoding: .utf8)) ?? "", (try? String(contentsOf: stderr, encoding: .utf8)) ?? "")
    }

    /// Waits up to `timeout` seconds for it to end; false if it did not.
    func wait(timeout: TimeInterval) -> Bool {
        let deadline = Date().addingTimeInterval(timeout)
        while process.isRunning && Date() < deadline { Thread.sleep(forTimeInterval: 0.1) }
        return !process.isRunning
    }

    /// `kill -9`, and waits for it to end.
    func stop() {
        if process.isRunning { kill(process.processIdentifier, SIGKILL) }
        process.waitUntilExit()
    }
}

/// Polls `condition` every 50 ms for up to `timeout` seconds.
func eventually(timeout: TimeInterval, _ condition: () -> Bool) -> Bool {
    let deadline = Date().addingTimeInterval(timeout)
    while Date() < deadline {
        if condition() { return true }
        Thread.sleep(forTimeInterval: 0.05)
    }
    return condition()
}

/// What a PostgreSQL state lives through: its lock holder killed, the server restarted mid-apply.
/// Each test applies a running VM's stop, which waits for a guest that never answers ACPI, so the
/// apply is reliably in the middle of a change when the test strikes. Serialized: the restart ends
/// every connection to the server, the other test's too.
@Suite("A PostgreSQL state through crashes and restarts, on a real libvirtd", .serialized,
       .enabled(if: TestHost.shouldRun(), "needs a libvirt host: run scripts/host-up"),
       .enabled(if: TestPostgres.shouldRun(), "needs a PostgreSQL server: run scripts/postgres-up"))
struct PostgresFailureTests {
    /// As vmplan names who runs it: USER, else LOGNAME, else the account's name.
    static let user: String = {
        let environment = ProcessInfo.processInfo.environment
        return environment["USER"] ?? environment["LOGNAME"] ?? getpwuid(getuid()).flatMap { String(validatingCString: $0.pointee.pw_name) } ?? "unknown"
    }()

    /// Whether this process may run another under a hostname of its own (a UTS namespace: root).
    static let canSetHostname = (try? TestHost.run("unshare", ["--uts", "sh", "-c", "hostname vmplan-test-probe"]).status) == 0

    /// A workspace whose state is a new PostgreSQL schema, with `slow` applied running; its manifests
    /// then ask to stop it (the change that waits) and to create `fresh` after it.
    static func runningVM() throws -> (workspace: Workspace, state: String, slow: String, fresh: String) {
        let (slow, fresh) = (TestHost.uniqueName("a-slow"), TestHost.uniqueName("z-fresh"))
        let workspace = try Workspace()
        let state = try TestPostgres.newState()
        try workspace.write("slow.yaml", Workspace.vm(slow))
        let first = try CLI.run("apply", workspace.path, "--auto-approve", "--state", state)
        #expect(first.status == 0, "\(first.stdout)\(first.stderr)")
        #expect(try TestHost.domainState(slow) == "running")
        try workspace.write("slow.yaml", Workspace.vm(slow, state: "stopped"))
        try workspace.write("fresh.yaml", Workspace.vm(fresh, state: "stopped"))
        return (workspace, state, slow, fresh)
    }

    /// The apply after a crash: converges, each domain and record once, nothing left pending or locked.
    static func expectConverged(_ workspace: Workspace, _ state: String, _ names: [String]) throws {
        let store = try PostgresStateStore(url: state)
        for name in names {
            #expect(try TestHost.domainState(name) == "shut off", "\(name)")
            let listed = try TestHost.virsh("list", "--all", "--name").stdout.split(separator: "\n").filter { $0 == name }
            #expect(listed.count == 1, "one domain \(name)")
        }
        #expect(try store.resources().map(\.name) == names.sorted())
        #expect(try store.pendingJournal().isEmpty)
        #expect(try store.lockHolder() == nil)
        let created = try store.snapshot().journal.filter { $0.action == "create" && $0.status == .done }.map(\.name)
        #expect(created.sorted() == names.sorted(), "each domain created once: \(created)")
        let plan = try CLI.run("plan", workspace.path, "--state", state, "--detailed-exitcode")
        #expect(plan.status == 0, "nothing left to do: \(plan.stdout)\(plan.stderr)")
    }

    @Test(.enabled(if: canSetHostname, "needs root to run vmplan under another hostname (unshare --uts)"))
    func aHolderKilledOnAnotherMachineGoesStaleAfterItsLeaseAndTheNextApplyTakesOverAndConverges() throws {
        let (workspace, state, slow, fresh) = try Self.runningVM()
        let runner = "vmplan-test-runner-" + UUID().uuidString.prefix(6).lowercased()
        let lease = ["VMPLAN_LOCK_LEASE": "10"]
        // Another CI runner: the same libvirtd and server, another hostname, so its pid cannot be
        // checked from here and only its heartbeat tells whether it lives.
        let holder = try BackgroundRun(["unshare", "--uts", "sh", "-c", "hostname \"$0\" && exec \"$@\"", runner, CLI.binary,
                                        "apply", workspace.path, "--auto-approve", "--shutdown-timeout", "300", "--state", state],
                                       environment: lease, in: workspace)
        defer {
            holder.stop()
            TestHost.removeDomains([slow, fresh])
            workspace.delete()
            TestPostgres.drop(state)
        }
        let store = try PostgresStateStore(url: state)
        let stopping = eventually(timeout: 60) {
            (try? store.lockHolder())?.hostname == runner && (try? store.pendingJournal())?.contains { $0.name == slow } == true
        }
        #expect(stopping, "the holder should be stopping \(slow): \(holder.output.stderr)")
        let held = try #require(try store.lockHolder())
        let named = "is locked by vmplan apply (\(Self.user)@\(runner)) (pid \(holder.process.processIdentifier) on \(runner), since "

        let refused = try TestHost.run(CLI.binary, ["apply", workspace.path, "--auto-approve", "--state", state], environment: lease)
        #expect(refused.status == 1 && refused.stderr.contains(named), "\(refused.stderr)")
        #expect(refused.stderr.contains("(lease 10 s)") && refused.stderr.contains("vmplan state unlock \(held.lockID ?? "?")"))

        holder.stop()
        #expect(holder.process.terminationReason == .uncaughtSignal)
        // Killed on a machine this one cannot look into: the lease binds until its heartbeat is too old.
        if let holding = try store.lockHolder(), holding.expiresAt.timeIntervalSinceNow > 4 {
            let early = try TestHost.run(CLI.binary, ["apply", workspace.path, "--auto-approve", "--state", state], environment: lease)
            #expect(early.status == 1 && early.stderr.contains(named), "not taken over before its lease ran out: \(early.stderr)")
        } else {
            print("NOTE: the killed holder's lease was nearly over; the refusal right after the kill is not checked")
        }
        #expect(eventually(timeout: 30) {
            if case .stale = (try? store.lockHolder())?.status() { true } else { false }
        }, "the lock goes stale once its lease ran out")

        let takeover = try TestHost.run(CLI.binary, ["apply", workspace.path, "--auto-approve", "--shutdown-timeout", "1", "--state", state],
                                        environment: lease)
        #expect(takeover.status == 0, "\(takeover.stdout)\(takeover.stderr)")
        #expect(takeover.stderr.contains("note: took over the lock of vmplan apply (\(Self.user)@\(runner)) (pid \(holder.process.processIdentifier) on \(runner)"),
                "\(takeover.stderr)")
        #expect(takeover.stderr.contains("stale: no heartbeat for ") && takeover.stderr.contains("(lease 10 s)."))
        #expect(takeover.stdout.contains("An earlier apply stopped before finishing 1 change (\(slow))"), "\(takeover.stdout)")
        let event = try #require(try store.lockEvents(limit: 1).first)
        #expect(event.event == .takenOver && event.lockID == held.lockID)
        try Self.expectConverged(workspace, state, [slow, fresh])
    }

    @Test(.enabled(if: TestCluster.unavailable == nil, "\(TestCluster.unavailable ?? "")"))
    func theServerRestartedMidApplyFailsItCleanlyOrIsRiddenOutAndTheNextApplyConverges() throws {
        let (workspace, state, slow, fresh) = try Self.runningVM()
        let shown = try PostgresLocation(url: state).redacted
        let apply = try BackgroundRun([CLI.binary, "apply", workspace.path, "--auto-approve", "--shutdown-timeout", "8", "--state", state],
                                      in: workspace)
        defer {
            apply.stop()
            TestCluster.ensureRunning()
            TestHost.removeDomains([slow, fresh])
            workspace.delete()
            TestPostgres.drop(state)
        }
        let store = try PostgresStateStore(url: state)
        #expect(eventually(timeout: 60) { (try? store.pendingJournal())?.contains { $0.name == slow } == true },
                "the apply should be stopping \(slow): \(apply.output.stderr)")

        // While the apply waits for the guest: every connection is ended, and the server is down for a moment.
        let restarted = try TestCluster.restart()
        #expect(restarted.status == 0, "pg_ctl restart: \(restarted.said)")
        #expect(TestCluster.waitUntilReady(timeout: 60), "the server is back")

        #expect(apply.wait(timeout: 120), "the apply ends")
        let (stdout, stderr) = apply.output
        #expect(apply.process.terminationReason == .exit, "no crash: \(stderr)")
        #expect(!stderr.contains("Fatal error"), "\(stderr)")
        if apply.process.terminationStatus == 0 {
            // The link reconnected: the apply wrote through the restart.
            #expect(stdout.contains("Apply complete!"), "\(stdout)")
            print("NOTE: the apply rode out the restart: \(stderr)")
        } else {
            // Failed cleanly: exit 1, the state named, what to do next.
            #expect(apply.process.terminationStatus == 1)
            #expect(stderr.contains("state \(shown)") && stderr.contains("run again"), "\(stderr)")
            print("NOTE: the apply stopped at the restart: \(stderr)")
        }

        let next = try CLI.run("apply", workspace.path, "--auto-approve", "--shutdown-timeout", "1", "--state", state)
        #expect(next.status == 0, "\(next.stdout)\(next.stderr)")
        try Self.expectConverged(workspace, state, [slow, fresh])
    }
}
