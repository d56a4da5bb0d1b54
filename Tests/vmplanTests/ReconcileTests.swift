import Foundation
import Testing
import TestSupport

/// A git repository of manifests, reconciled commit by commit into a real libvirtd.
struct GitWorkspace {
    let directory: URL
    var path: String { directory.path }

    init() throws {
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("vmplan-git-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        try git("init", "--quiet", "--initial-branch=main")
    }

    @discardableResult
    func git(_ arguments: String...) throws -> TestHost.Output {
        let output = try TestHost.run("git", ["-C", path, "-c", "user.name=Ann Example", "-c", "user.email=ann@example.com"] + arguments)
        if output.status != 0 { Issue.record("git \(arguments.joined(separator: " ")): \(output.stderr)") }
        return output
    }

    func write(_ file: String, _ text: String) throws {
        let url = directory.appendingPathComponent(file)
        try FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
        try text.write(to: url, atomically: true, encoding: .utf8)
    }

    /// Commits everything written so far; returns the commit id.
    func commit(_ message: String) throws -> String {
        try git("add", "-A")
        try git("commit", "--quiet", "-m", message)
        return try git("rev-parse", "HEAD").stdout.trimmingCharacters(in: .whitespacesAndNewlines)
    }

    static var host: String {
        "apiVersion: vmplan/v1\nkind: Host\nmetadata: {name: local}\nspec: {uri: \"\(TestHost.uri)\", hypervisor: kvm}\n"
    }

    func delete() { try? FileManager.default.removeItem(at: directory) }
}

@Suite("Reconciling git commits on a real libvirtd", .enabled(if: TestHost.shouldRun(), "needs a libvirt host: run scripts/host-up"))
struct ReconcileTests {
    static func reconcile(_ repo: GitWorkspace, _ extra: String...) throws -> TestHost.Output {
        try CLI.run(["reconcile", "--repo", repo.path, "--path", "fleet", "--shutdown-timeout", "1"] + extra)
    }

    @Test func commitsAreAppliedAndRecordedAndOnlyCommittedFilesCount() throws {
        let (name, stray) = (TestHost.uniqueName("git"), TestHost.uniqueName("git-stray"))
        let repo = try GitWorkspace()
        defer { TestHost.removeDomains([name, stray]); repo.delete() }
        try repo.write("fleet/host.yaml", GitWorkspace.host)
        try repo.write("fleet/vm.yaml", Workspace.vm(name, memory: "64MiB", maxMemory: "128MiB", state: "stopped"))
        let first = try repo.commit("first VM")
        // Written, never committed: never applied.
        try repo.write("fleet/stray.yaml", Workspace.vm(stray, state: "stopped"))

        let applied = try Self.reconcile(repo, "--ref", "main")
        #expect(applied.status == 0, "\(applied.stdout)\(applied.stderr)")
        #expect(applied.stderr.contains("Reconciling \(repo.path)@\(first.prefix(12)):fleet (Ann Example <ann@example.com>)"), "\(applied.stderr)")
        #expect(try TestHost.domainState(name) == "shut off")
        #expect(try TestHost.domainState(stray) == nil, "an uncommitted file is never applied")
        let state = repo.directory.appendingPathComponent(".vmplan/fleet.db").path
        let runs = try CLI.run("state", "runs", "--state", state)
        #expect(runs.stdout.contains("reconcile") && runs.stdout.contains(String(first.prefix(12))) && runs.stdout.contains("Ann Example"),
                "\(runs.stdout)")
        #expect(try CLI.run("state", "list", "--state", state).stdout.contains("Host local: commit \(first)"))

        // The same commit again: nothing to do.
        let again = try Self.reconcile(repo, "--ref", "main")
        #expect(again.status == 0 && again.stdout.contains("No changes."), "\(again.stdout)")

        try repo.git("rm", "--quiet", "--cached", "--ignore-unmatch", "fleet/stray.yaml")
        try FileManager.default.removeItem(at: repo.directory.appendingPathComponent("fleet/stray.yaml"))
        try repo.write("fleet/vm.yaml", Workspace.vm(name, memory: "96MiB", maxMemory: "128MiB", state: "stopped"))
        let second = try repo.commit("more memory")
        #expect(try Self.reconcile(repo, "--ref", "main").status == 0)
        #expect(TestHost.element("currentMemory", in: try #require(try TestHost.inactiveXML(name))) == "98304")
        #expect(try CLI.run("state", "list", "--state", state).stdout.contains("Host local: commit \(second)"))

        // Back to the first commit: a rollback, refused with its own exit status, then allowed.
        let rollback = try Self.reconcile(repo, "--ref", first)
        #expect(rollback.status == 4, "\(rollback.stderr)")
        #expect(rollback.stderr.contains("does not descend from \(second.prefix(12)), the last commit reconciled"), "\(rollback.stderr)")
        #expect(TestHost.element("currentMemory", in: try #require(try TestHost.inactiveXML(name))) == "98304", "nothing changed")
        let allowed = try Self.reconcile(repo, "--ref", first, "--allow-rollback")
        #expect(allowed.status == 0, "\(allowed.stderr)")
        #expect(TestHost.element("currentMemory", in: try #require(try TestHost.inactiveXML(name))) == "65536")
    }

    @Test func aShallowCloneWithoutTheLastCommitIsNoRollbackButSaysToFetch() throws {
        let name = TestHost.uniqueName("git-shallow")
        let repo = try GitWorkspace()
        let shallow = FileManager.default.temporaryDirectory.appendingPathComponent("vmplan-shallow-\(UUID().uuidString)").path
        defer { TestHost.removeDomains([name]); repo.delete(); try? FileManager.default.removeItem(atPath: shallow) }
        try repo.write("fleet/host.yaml", GitWorkspace.host)
        try repo.write("fleet/vm.yaml", Workspace.vm(name, memory: "64MiB", maxMemory: "128MiB", state: "stopped"))
        _ = try repo.commit("first")
        let state = repo.directory.appendingPathComponent(".vmplan/fleet.db").path
        #expect(try Self.reconcile(repo, "--state", state).status == 0)
        try repo.write("fleet/vm.yaml", Workspace.vm(name, memory: "96MiB", maxMemory: "128MiB", state: "stopped"))
        _ = try repo.commit("second")
        // A CI checkout: one commit deep, the last reconciled one not in it.
        #expect(try TestHost.run("git", ["clone", "--quiet", "--depth", "1", "file://\(repo.path)", shallow]).status == 0)
        let result = try CLI.run(["reconcile", "--repo", shallow, "--path", "./fleet/", "--state", state])
        #expect(result.status == 1, "not a rollback (4): \(result.stderr)")
        #expect(result.stderr.contains("is a shallow clone without commit") && result.stderr.contains("git fetch --unshallow"), "\(result.stderr)")
        #expect(TestHost.element("currentMemory", in: try #require(try TestHost.inactiveXML(name))) == "65536", "nothing changed")
    }

    @Test func aBadManifestIsReportedAtItsPlaceInTheCommit() throws {
        let repo = try GitWorkspace()
        defer { repo.delete() }
        try repo.write("fleet/host.yaml", GitWorkspace.host)
        try repo.write("fleet/vm.yaml", "apiVersion: vmplan/v1\nkind: VirtualMachine\nmetadata: {name: bad}\nspec: {host: local, vcpus: 1, memory: 8}\n")
        let commit = try repo.commit("bad")
        let result = try Self.reconcile(repo)
        #expect(result.status == 1)
        #expect(result.stderr.contains("\(commit.prefix(12)):fleet/vm.yaml:4:39: error:"), "named as the commit has it: \(result.stderr)")
        #expect(result.stderr.contains("memory must be a size with a binary unit"))
    }

    @Test func twoReconcilesAtOnceApplyOnce() throws {
        let name = TestHost.uniqueName("git-race")
        let repo = try GitWorkspace()
        defer { TestHost.removeDomains([name]); repo.delete() }
        try repo.write("fleet/host.yaml", GitWorkspace.host)
        try repo.write("fleet/vm.yaml", Workspace.vm(name, state: "stopped"))
        _ = try repo.commit("one VM")
        let results = [0, 1].map { _ in
            let process = Process()
            process.executableURL = URL(fileURLWithPath: CLI.binary)
            process.arguments = ["reconcile", "--repo", repo.path, "--path", "fleet"]
            process.standardOutput = FileHandle.nullDevice
            let errors = Pipe()
            process.standardError = errors
            return (process, errors)
        }
        for (process, _) in results { try process.run() }
        let outcomes = results.map { process, errors in
            let text = String(decoding: errors.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
            process.waitUntilExit()
            return (process.terminationStatus, text)
        }
        #expect(outcomes.allSatisfy { $0.0 == 0 || $0.0 == 3 }, "\(outcomes)")
        #expect(outcomes.contains { $0.0 == 0 })
        for (status, text) in outcomes where status == 3 {
            #expect(text.contains("is locked by vmplan reconcile"), "the loser says who holds the state: \(text)")
        }
        let state = repo.directory.appendingPathComponent(".vmplan/fleet.db").path
        let created = try TestSQL.query(state, "SELECT count(*) FROM journal WHERE name = '\(name)' AND action = 'create' AND status = 'done'")
        #expect(created.hasPrefix("1"), "created exactly once: \(created)")
    }
}
