import Foundation
import Testing
import TestSupport

/// The repository's own files (examples/, docs/), as shipped.
enum RepositoryFile {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    static func path(_ relative: String) -> String { root.appendingPathComponent(relative).path }
}

/// A bare repository with the shipped server hooks installed, and a clone of it that pushes.
struct HookedRepository {
    let bare: URL
    let clone: GitWorkspace
    var barePath: String { bare.path }
    /// Where the hooks keep the state for `vmplan.path fleet`, as `vmplan reconcile` would by default.
    var statePath: String { bare.appendingPathComponent(".vmplan/fleet.db").path }

    init() throws {
        bare = FileManager.default.temporaryDirectory.appendingPathComponent("vmplan-bare-\(UUID().uuidString)")
        clone = try GitWorkspace()
        try Self.git(["init", "--quiet", "--bare", "--initial-branch=main", bare.path])
        for hook in ["pre-receive", "post-receive"] {
            try FileManager.default.copyItem(atPath: RepositoryFile.path("examples/hooks/\(hook)"),
                                             toPath: bare.appendingPathComponent("hooks/\(hook)").path)
        }
        try Self.git(["-C", bare.path, "config", "vmplan.path", "fleet"])
        try clone.git("remote", "add", "origin", bare.path)
    }

    /// `git push` from the clone, with `VMPLAN` naming the built binary in the environment the hooks inherit.
    func push(_ arguments: String..., environment: [String: String] = [:]) throws -> TestHost.Output {
        try TestHost.run("git", ["-C", clone.path, "push", "origin"] + arguments,
                         environment: environment.merging(["VMPLAN": CLI.binary]) { old, _ in old })
    }

    /// The commit the bare repository's `ref` names.
    func head(_ ref: String = "main") throws -> String? {
        let output = try TestHost.run("git", ["-C", bare.path, "rev-parse", "--verify", "--quiet", ref])
        return output.status == 0 ? output.stdout.trimmingCharacters(in: .whitespacesAndNewlines) : nil
    }

    func runs() throws -> String { try CLI.run("state", "runs", "--state", statePath).stdout }

    func delete() {
        clone.delete()
        try? FileManager.default.removeItem(at: bare)
    }

    private static func git(_ arguments: [String]) throws {
        let output = try TestHost.run("git", arguments)
        guard output.status == 0 else { throw CocoaError(.fileWriteUnknown, userInfo: [NSLocalizedDescriptionKey: output.stderr]) }
    }
}

extension GitWorkspace {
    /// Writes fleet/host.yaml (the test host) and fleet/vm.yaml (one stopped VM), commits, and returns the commit id.
    func commitVM(_ name: String, memory: String = "64MiB", _ message: String) throws -> String {
        try write("fleet/host.yaml", GitWorkspace.host)
        try write("fleet/vm.yaml", Workspace.vm(name, memory: memory, maxMemory: "128MiB", state: "stopped"))
        return try commit(message)
    }
}

@Suite("Server hooks: push to deploy on a real libvirtd", .enabled(if: TestHost.shouldRun(), "needs a libvirt host: run scripts/host-up"))
struct GitHooksTests {
    static func vmXML(_ name: String) throws -> String { try #require(try TestHost.inactiveXML(name)) }

    @Test func pushesAreReconciledAndABadManifestIsRefusedWithItsPlaceInTheCommit() throws {
        let name = TestHost.uniqueName("hook")
        let repo = try HookedRepository()
        defer { TestHost.removeDomains([name]); repo.delete() }
        let first = try repo.clone.commitVM(name, "first VM")

        let pushed = try repo.push("main")
        #expect(pushed.status == 0, "\(pushed.stderr)")
        #expect(pushed.stderr.contains("remote: Valid: 1 host, 1 virtual machine."), "pre-receive validated: \(pushed.stderr)")
        #expect(pushed.stderr.contains("remote: vmplan: main is applied: the hosts match \(first)."), "\(pushed.stderr)")
        #expect(try TestHost.domainState(name) == "shut off")
        let runs = try repo.runs()
        #expect(runs.contains("reconcile") && runs.contains(String(first.prefix(12))) && runs.contains("Ann Example"), "\(runs)")

        let second = try repo.clone.commitVM(name, memory: "96MiB", "more memory")
        let edited = try repo.push("main")
        #expect(edited.status == 0, "\(edited.stderr)")
        #expect(TestHost.element("currentMemory", in: try Self.vmXML(name)) == "98304")
        #expect(try repo.runs().contains(String(second.prefix(12))))

        // Refused before any ref moves: the pusher reads the error at its place in the commit.
        try repo.clone.write("fleet/vm.yaml", "apiVersion: vmplan/v1\nkind: VirtualMachine\nmetadata: {name: \(name)}\nspec: {host: local, vcpus: 1, memory: 8}\n")
        let bad = try repo.clone.commit("bad memory")
        let refused = try repo.push("main")
        #expect(refused.status != 0)
        #expect(refused.stderr.contains("remote: \(bad.prefix(12)):fleet/vm.yaml:4:39: error: memory must be a size"),
                "\(refused.stderr)")
        #expect(refused.stderr.contains("pre-receive hook declined"))
        #expect(!refused.stderr.contains("vmplan-pre-receive."), "no scratch paths shown: \(refused.stderr)")
        #expect(try repo.head() == second, "the branch did not move")
        #expect(TestHost.element("currentMemory", in: try Self.vmXML(name)) == "98304", "nothing changed on the host")
        #expect(try !repo.runs().contains(String(bad.prefix(12))))
    }

    @Test func otherBranchesAreCheckedButNeverApplied() throws {
        let name = TestHost.uniqueName("hook-topic")
        let repo = try HookedRepository()
        defer { TestHost.removeDomains([name]); repo.delete() }
        try repo.clone.git("checkout", "--quiet", "-b", "topic")
        try repo.clone.write("fleet/host.yaml", GitWorkspace.host)
        try repo.clone.write("fleet/vm.yaml", "apiVersion: vmplan/v1\nkind: VirtualMachine\nmetadata: {name: \(name)}\nspec: {host: elsewhere, vcpus: 1, memory: 64MiB}\n")
        let bad = try repo.clone.commit("unknown host")
        let refused = try repo.push("topic")
        #expect(refused.status != 0)
        #expect(refused.stderr.contains("remote: \(bad.prefix(12)):fleet/vm.yaml:4:"), "\(refused.stderr)")
        #expect(refused.stderr.contains("host 'elsewhere' is not defined"), "\(refused.stderr)")

        try repo.clone.write("fleet/vm.yaml", Workspace.vm(name, state: "stopped"))
        _ = try repo.clone.commit("good")
        let accepted = try repo.push("topic")
        #expect(accepted.status == 0, "\(accepted.stderr)")
        #expect(!accepted.stderr.contains("reconciling"), "only main is reconciled: \(accepted.stderr)")
        #expect(try TestHost.domainState(name) == nil)
        #expect(!FileManager.default.fileExists(atPath: repo.statePath))

        let deleted = try repo.push("--delete", "topic")
        #expect(deleted.status == 0, "a deletion has nothing to check: \(deleted.stderr)")
        #expect(try repo.head("topic") == nil)
    }

    @Test func aPreflightPlanRefusesAPushItsHostsCannotTake() throws {
        let name = TestHost.uniqueName("hook-plan")
        let repo = try HookedRepository()
        defer { TestHost.removeDomains([name]); repo.delete() }
        let preflight = ["VMPLAN_PREFLIGHT_PLAN": "1"]
        // Valid, but nothing answers there: only a plan against the host finds out.
        try repo.clone.write("fleet/host.yaml", "apiVersion: vmplan/v1\nkind: Host\nmetadata: {name: local}\nspec: {uri: \"qemu+tcp://127.0.0.1:1/system\", hypervisor: kvm}\n")
        try repo.clone.write("fleet/vm.yaml", Workspace.vm(name, state: "stopped"))
        _ = try repo.clone.commit("unreachable host")
        let refused = try repo.push("main", environment: preflight)
        #expect(refused.status != 0, "\(refused.stderr)")
        #expect(refused.stderr.contains("remote: vmplan: refs/heads/main: the plan for"), "\(refused.stderr)")
        #expect(refused.stderr.contains("127.0.0.1:1"), "the plan's error names the host: \(refused.stderr)")
        #expect(try repo.head() == nil)

        try repo.clone.write("fleet/host.yaml", GitWorkspace.host)
        _ = try repo.clone.commit("reachable host")
        let accepted = try repo.push("main", environment: preflight)
        #expect(accepted.status == 0, "\(accepted.stderr)")
        #expect(accepted.stderr.contains("remote: vmplan: planning"), "\(accepted.stderr)")
        #expect(accepted.stderr.components(separatedBy: "Plan: 1 to add, 0 to change, 0 to destroy.").count == 3,
                "planned before the push, then by the reconcile after it: \(accepted.stderr)")
        #expect(try TestHost.domainState(name) == "shut off")
    }

    @Test func aLockedStateOrARollbackIsReportedAndNeverUndoesThePush() throws {
        let name = TestHost.uniqueName("hook-lock")
        let repo = try HookedRepository()
        defer { TestHost.removeDomains([name]); repo.delete() }
        let first = try repo.clone.commitVM(name, "first VM")
        #expect(try repo.push("main").status == 0)

        // A run on another machine holds the state: post-receive retries, then says what to do.
        _ = try TestSQL.query(repo.statePath, """
            INSERT INTO lock (id, holder, pid, hostname, acquired_at, expires_at)
                VALUES (1, 'vmplan reconcile (bob@ci)', 1, 'elsewhere.example', '2026-01-01 00:00:00.000', '2999-01-01 00:00:00.000');
            """)
        let second = try repo.clone.commitVM(name, memory: "96MiB", "more memory")
        let locked = try repo.push("main", environment: ["VMPLAN_LOCK_RETRIES": "2", "VMPLAN_RETRY_SECONDS": "0"])
        #expect(locked.status == 0, "the push stands: \(locked.stderr)")
        #expect(locked.stderr.contains("attempt 1 of 2"), "\(locked.stderr)")
        #expect(locked.stderr.contains("remote: vmplan: NOT APPLIED: the state stayed locked by another run."), "\(locked.stderr)")
        #expect(try repo.head() == second)
        #expect(TestHost.element("currentMemory", in: try Self.vmXML(name)) == "65536")
        _ = try TestSQL.query(repo.statePath, "DELETE FROM lock")

        // The next push applies everything up to it.
        let third = try repo.clone.commitVM(name, memory: "112MiB", "even more memory")
        #expect(try repo.push("main").status == 0)
        #expect(TestHost.element("currentMemory", in: try Self.vmXML(name)) == "114688")

        // A force-push back to the first commit: git takes it, reconcile refuses to roll back.
        try repo.clone.git("reset", "--quiet", "--hard", first)
        let forced = try repo.push("--force", "main")
        #expect(forced.status == 0, "\(forced.stderr)")
        #expect(forced.stderr.contains("warning: \(first.prefix(12)) does not descend from \(third.prefix(12))"), "pre-receive warns: \(forced.stderr)")
        #expect(forced.stderr.contains("remote: vmplan: NOT APPLIED: \(first) does not descend from the last commit reconciled"), "\(forced.stderr)")
        #expect(forced.stderr.contains("--allow-rollback"))
        #expect(try repo.head() == first)
        #expect(TestHost.element("currentMemory", in: try Self.vmXML(name)) == "114688", "nothing rolled back")
    }
}
