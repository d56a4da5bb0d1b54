import Foundation
import Testing
import TestSupport

/// Two state files, one host: each state's domains carry its id, and moving a VM between
/// states is an explicit `--adopt`. On a real libvirtd.
@Suite("Two states on one host, on a real libvirtd", .enabled(if: TestHost.shouldRun(), "needs a libvirt host: run scripts/host-up"))
struct StateOwnershipTests {
    static func stateID(_ workspace: Workspace) throws -> String {
        try TestSQL.query(workspace.statePath, "SELECT state_id FROM identity").trimmingCharacters(in: .whitespacesAndNewlines)
    }

    @Test func anotherStatesDomainIsNeverTakenSilentlyAndMovesOnlyWithAdopt() throws {
        let name = TestHost.uniqueName("shared")
        let teamA = try Workspace()
        let teamB = try Workspace()
        defer { TestHost.removeDomains([name]); teamA.delete(); teamB.delete() }
        try teamA.write("vm.yaml", Workspace.vm(name, memory: "64MiB", maxMemory: "128MiB", state: "stopped"))
        #expect(try CLI.run("apply", teamA.path, "--auto-approve").status == 0)
        let stateA = try Self.stateID(teamA)
        #expect(try #require(try TestHost.inactiveXML(name)).contains("state=\"\(stateA)\"") || (try TestHost.inactiveXML(name) ?? "").contains("state='\(stateA)'"))

        // Team B names the same VM (and wants more memory): refused, naming team A's state.
        try teamB.write("vm.yaml", Workspace.vm(name, memory: "96MiB", maxMemory: "128MiB", state: "stopped"))
        let refused = try CLI.run("apply", teamB.path, "--auto-approve")
        #expect(refused.status == 1)
        #expect(refused.stderr.contains("the domain on host 'local' belongs to vmplan state \(stateA); vmplan never takes over another state's domain"),
                "\(refused.stderr)")
        #expect(TestHost.element("currentMemory", in: try #require(try TestHost.inactiveXML(name))) == "65536", "nothing changed")
        // Team A's own plan does not see team B at all.
        #expect(try CLI.run("plan", teamA.path, "--detailed-exitcode").status == 0)

        // The explicit hand-over: B adopts, the marker names B, A only forgets.
        let plan = try CLI.run("plan", teamB.path, "--adopt", name)
        #expect(plan.stdout.contains("taken over from vmplan state \(stateA) with --adopt"), "\(plan.stdout)\(plan.stderr)")
        #expect(try CLI.run("apply", teamB.path, "--auto-approve", "--adopt", name).status == 0)
        let stateB = try Self.stateID(teamB)
        let xml = try #require(try TestHost.inactiveXML(name))
        #expect(xml.contains(stateB) && !xml.contains(stateA), "\(xml)")
        #expect(TestHost.element("currentMemory", in: xml) == "98304")

        let stillA = try CLI.run("plan", teamA.path)
        #expect(stillA.status == 1 && stillA.stderr.contains("belongs to vmplan state \(stateB)"), "\(stillA.stderr)")
        try teamA.remove("vm.yaml")
        let forget = try CLI.run("plan", teamA.path)
        #expect(forget.stdout.contains("  - \(name) (kept on the host; vmplan forgets it)"), "\(forget.stdout)\(forget.stderr)")
        #expect(forget.stdout.contains("now belongs to vmplan state \(stateB) (handed over)"))
        #expect(try CLI.run("apply", teamA.path, "--auto-approve").status == 0)
        #expect(try TestHost.domainState(name) == "shut off", "team A never deletes what it handed over")
        #expect(try CLI.run("plan", teamB.path, "--detailed-exitcode").status == 0, "team B owns it in sync")
    }
}
