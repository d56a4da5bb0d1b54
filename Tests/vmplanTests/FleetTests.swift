import Foundation
import Testing
import TestSupport
#if canImport(Glibc)
import Glibc
#endif

/// Three real hosts from scripts/hosts-up (each its own libvirtd on 127.0.10.N): VMs spread over
/// them are applied, planned again and deleted; with one host killed and one stopped (SIGSTOP),
/// plans and applies finish in bounded time, change the host that answers and end partial (5).
/// The hosts are restarted and continued at the end of every test, whatever happened.
@Suite("Fleet: several hosts", .serialized, .enabled(if: TestHosts.shouldRun(count: 3), "needs scripts/hosts-up 3"))
struct FleetTests {
    static let hosts = [1, 2, 3]

    static func workspace() throws -> Workspace {
        let workspace = try Workspace()
        try workspace.write("host.yaml", hosts.map { index in
            """
            apiVersion: vmplan/v1
            kind: Host
            metadata: {name: host\(index)}
            spec: {uri: "\(TestHosts.uri(index))", hypervisor: kvm}
            """
        }.joined(separator: "\n---\n"))
        return workspace
    }

    /// Writes `names[i]` on host i+1 (a stopped VM: defined, never started), one file per host.
    static func write(_ workspace: Workspace, _ names: [[String]]) throws {
        for (index, onHost) in names.enumerated() {
            try workspace.write("vms-host\(index + 1).yaml", onHost.map { Workspace.vm($0, state: "stopped", host: "host\(index + 1)") }
                .joined(separator: "\n---\n"))
        }
    }

    static func defined(on index: Int) throws -> Set<String> {
        let output = try TestHosts.virsh(index, "list", "--all", "--name")
        return Set(output.stdout.split(separator: "\n").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty })
    }

    static func remove(_ names: [[String]]) {
        for (index, onHost) in names.enumerated() {
            for name in onHost {
                _ = try? TestHosts.virsh(index + 1, "destroy", name)
                _ = try? TestHosts.virsh(index + 1, "undefine", name, "--nvram")
            }
        }
    }

    static func timed(_ arguments: String...) throws -> (output: TestHost.Output, seconds: Double) {
        let started = Date()
        // `timeout` turns a hang into a failed assertion instead of a hung test run.
        let output = try TestHost.run("timeout", ["120", CLI.binary] + arguments)
        return (output, Date().timeIntervalSince(started))
    }

    @Test func vmsSpreadOverThreeHostsAreAppliedPlannedAgainAndDeleted() throws {
        let names = Self.hosts.map { index in [TestHost.uniqueName("fleet\(index)a"), TestHost.uniqueName("fleet\(index)b")] }
        let workspace = try Self.workspace()
        defer {
            Self.remove(names)
            workspace.delete()
        }
        try Self.write(workspace, names)
        let apply = try CLI.run("apply", workspace.path, "--auto-approve", "--parallelism", "2")
        #expect(apply.status == 0, "\(apply.stdout)\n\(apply.stderr)")
        // Several hosts at once: each progress line names its host.
        #expect(apply.stdout.contains("[host2] \(names[1][0]): Creation complete"), "\(apply.stdout)")
        for index in Self.hosts {
            let defined = try Self.defined(on: index)
            #expect(defined.isSuperset(of: names[index - 1]), "host\(index): \(defined)")
            #expect(defined.isDisjoint(with: names.enumerated().filter { $0.offset != index - 1 }.flatMap(\.element)))
        }
        let noop = try CLI.run("plan", workspace.path, "--detailed-exitcode")
        #expect(noop.status == 0, "\(noop.stdout)\n\(noop.stderr)")
        #expect(noop.stdout.contains("No changes. The hosts match the manifests."))

        for index in Self.hosts { try workspace.remove("vms-host\(index).yaml") }
        let delete = try CLI.run("apply", workspace.path, "--auto-approve")
        #expect(delete.status == 0, "\(delete.stdout)\n\(delete.stderr)")
        #expect(delete.stdout.contains("Resources: 0 added, 0 changed, 6 destroyed."), "\(delete.stdout)")
        for index in Self.hosts {
            #expect(try Self.defined(on: index).isDisjoint(with: names[index - 1]))
        }
    }

    @Test func aKilledAndAStoppedHostMakeAPartialResultAndTheNextApplyConverges() throws {
        let first = Self.hosts.map { [TestHost.uniqueName("fleet\($0)")] }
        let added = Self.hosts.map { [TestHost.uniqueName("fleet\($0)new")] }
        let all = zip(first, added).map { $0 + $1 }
        let workspace = try Self.workspace()
        defer {
            TestHosts.restore(count: 3)
            Self.remove(all)
            workspace.delete()
        }
        try Self.write(workspace, first)
        let setUp = try CLI.run("apply", workspace.path, "--auto-approve")
        try #require(setUp.status == 0, "\(setUp.stdout)\n\(setUp.stderr)")

        // Each host gets one more VM; then host2 dies and host3 hangs.
        try Self.write(workspace, all)
        let killed = try #require(TestHosts.pid(2)), stopped = try #require(TestHosts.pid(3))
        #expect(kill(killed, SIGKILL) == 0)
        #expect(kill(stopped, SIGSTOP) == 0)
        defer { kill(stopped, SIGCONT) }

        let timeout = 3.0
        let (plan, planSeconds) = try Self.timed("plan", workspace.path, "--connect-timeout", "\(timeout)", "--detailed-exitcode")
        #expect(plan.status == 5, "status \(plan.status): \(plan.stdout)\n\(plan.stderr)")
        #expect(planSeconds < timeout + 15, "the plan took \(planSeconds)s")
        #expect(plan.stdout.contains("Unreachable hosts"), "\(plan.stdout)")
        #expect(plan.stdout.contains("host2 (\(TestHosts.uri(2))): "), "\(plan.stdout)")
        #expect(plan.stdout.contains("host3 (\(TestHosts.uri(3))): host 'host3' (\(TestHosts.uri(3))) did not answer within 3s"), "\(plan.stdout)")
        #expect(plan.stdout.contains("        ? \(added[1][0])"), "\(plan.stdout)")
        #expect(plan.stdout.contains("  + \(added[0][0]) (host1)"))
        #expect(!plan.stdout.contains("  + \(added[2][0])"))
        #expect(plan.stderr.contains("partial: 2 hosts unreachable (host2, host3), 4 resources unknown"), "\(plan.stderr)")

        let (json, _) = try Self.timed("plan", workspace.path, "--connect-timeout", "\(timeout)", "--json")
        #expect(json.status == 5)
        let document = try JSONSerialization.jsonObject(with: Data(json.stdout.utf8)) as? [String: Any]
        let unreachable = (document?["unreachableHosts"] as? [[String: Any]])?.compactMap { $0["host"] as? String }
        #expect(unreachable == ["host2", "host3"], "\(json.stdout)")
        #expect((document?["unknown"] as? [Any])?.count == 4)

        let (apply, applySeconds) = try Self.timed("apply", workspace.path, "--auto-approve", "--connect-timeout", "\(timeout)")
        #expect(apply.status == 5, "status \(apply.status): \(apply.stdout)\n\(apply.stderr)")
        #expect(applySeconds < timeout + 15, "the apply took \(applySeconds)s")
        #expect(try Self.defined(on: 1).contains(added[0][0]), "the host that answered was not applied")

        // Back: host2 restarted, host3 continued; the next apply does what was left.
        kill(stopped, SIGCONT)
        TestHosts.restore(count: 3)
        let converge = try CLI.run("apply", workspace.path, "--auto-approve")
        #expect(converge.status == 0, "\(converge.stdout)\n\(converge.stderr)")
        #expect(converge.stdout.contains("Resources: 2 added, 0 changed, 0 destroyed."), "\(converge.stdout)")
        for index in Self.hosts {
            #expect(try Self.defined(on: index).isSuperset(of: all[index - 1]), "host\(index)")
        }
        let noop = try CLI.run("plan", workspace.path, "--detailed-exitcode")
        #expect(noop.status == 0, "\(noop.stdout)\n\(noop.stderr)")

        for index in Self.hosts { try workspace.remove("vms-host\(index).yaml") }
        let delete = try CLI.run("apply", workspace.path, "--auto-approve")
        #expect(delete.status == 0, "\(delete.stdout)\n\(delete.stderr)")
    }

    @Test func aRunningVMMigratesLiveAndAStoppedOneMovesWithoutStarting() throws {
        let running = TestHost.uniqueName("migrate"), stopped = TestHost.uniqueName("moved")
        let workspace = try Self.workspace()
        defer {
            Self.remove([[running, stopped], [running, stopped]])
            workspace.delete()
        }
        let write = { (host: String) in
            try workspace.write("vms.yaml", Workspace.vm(running, host: host) + "\n---\n" + Workspace.vm(stopped, state: "stopped", host: host))
        }
        try write("host1")
        let setUp = try CLI.run("apply", workspace.path, "--auto-approve")
        try #require(setUp.status == 0, "\(setUp.stdout)\n\(setUp.stderr)")
        let uuid = try TestHosts.virsh(1, "domuuid", running).stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        let stoppedUUID = try TestHosts.virsh(1, "domuuid", stopped).stdout.trimmingCharacters(in: .whitespacesAndNewlines)

        try write("host2")
        let plan = try CLI.run("plan", workspace.path)
        #expect(plan.stdout.contains("  ~> \(running) (migrate: host1 -> host2)"), "\(plan.stdout)")
        #expect(plan.stdout.contains("migrated live, keeping its UUID"))
        #expect(plan.stdout.contains("  ~> \(stopped) (migrate: host1 -> host2)"))
        #expect(plan.stdout.contains("Plan: 0 to add, 2 to change, 0 to destroy."))

        let apply = try CLI.run("apply", workspace.path, "--auto-approve")
        #expect(apply.status == 0, "\(apply.stdout)\n\(apply.stderr)")
        #expect(apply.stdout.contains("\(running): Migration complete"), "\(apply.stdout)")
        #expect(try TestHosts.virsh(2, "domstate", running).stdout.contains("running"))
        #expect(try TestHosts.virsh(2, "domuuid", running).stdout.trimmingCharacters(in: .whitespacesAndNewlines) == uuid)
        #expect(try TestHosts.virsh(2, "domstate", stopped).stdout.contains("shut off"))
        #expect(try TestHosts.virsh(2, "domuuid", stopped).stdout.trimmingCharacters(in: .whitespacesAndNewlines) == stoppedUUID)
        #expect(try Self.defined(on: 1).isDisjoint(with: [running, stopped]))
        let list = try CLI.run("state", "list", workspace.path)
        let line = list.stdout.split(separator: "\n").first { $0.contains(running) }.map(String.init) ?? ""
        #expect(line.contains("host2") && !line.contains("host1"), "\(list.stdout)")
        let noop = try CLI.run("plan", workspace.path, "--detailed-exitcode")
        #expect(noop.status == 0, "\(noop.stdout)\n\(noop.stderr)")

        try workspace.remove("vms.yaml")
        // The test guest has no OS to answer the ACPI shutdown: force it off after a second.
        let delete = try CLI.run("apply", workspace.path, "--auto-approve", "--shutdown-timeout", "1")
        #expect(delete.status == 0, "\(delete.stdout)\n\(delete.stderr)")
    }
}
