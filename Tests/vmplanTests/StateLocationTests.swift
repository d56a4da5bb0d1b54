import Foundation
import Testing
import TestSupport

/// Sibling manifest files never share a default state: one never plans to remove the other's VMs.
@Suite("Default state location on a real libvirtd", .enabled(if: TestHost.shouldRun(), "needs a libvirt host: run scripts/host-up"))
struct StateLocationTests {
    static func manifest(vm: String) -> String {
        """
        apiVersion: vmplan/v1
        kind: Host
        metadata: {name: local}
        spec: {uri: "\(TestHost.uri)", hypervisor: kvm}
        ---
        \(Workspace.vm(vm, state: "stopped"))
        """
    }

    @Test func siblingFilesHaveTheirOwnState() throws {
        let (a, b) = (TestHost.uniqueName("team-a"), TestHost.uniqueName("team-b"))
        let workspace = try Workspace()
        defer { TestHost.removeDomains([a, b]); workspace.delete() }
        try workspace.remove("host.yaml")
        try workspace.write("team-a.yaml", Self.manifest(vm: a))
        try workspace.write("team-b.yaml", Self.manifest(vm: b))
        let fileA = workspace.directory.appendingPathComponent("team-a.yaml").path
        let fileB = workspace.directory.appendingPathComponent("team-b.yaml").path
        #expect(try CLI.run("apply", fileA, "--auto-approve").status == 0)

        let plan = try CLI.run("plan", fileB)
        #expect(plan.status == 0, "\(plan.stderr)")
        #expect(plan.stdout.contains("Plan: 1 to add, 0 to change, 0 to destroy."), "\(plan.stdout)")
        #expect(!plan.stdout.contains("- \(a)"), "team A's VM is not team B's to remove")
        #expect(try CLI.run("apply", fileB, "--auto-approve").status == 0)
        #expect(try TestHost.domainState(a) == "shut off" && TestHost.domainState(b) == "shut off")

        let states = try FileManager.default.contentsOfDirectory(atPath: workspace.directory.appendingPathComponent(".vmplan").path)
        #expect(Set(states.filter { $0.hasSuffix(".db") }) == ["team-a.yaml.db", "team-b.yaml.db"])
        #expect(try CLI.run("state", "list", fileA).stdout.contains(a))
        #expect(!(try CLI.run("state", "list", fileA).stdout.contains(b)))
    }
}
