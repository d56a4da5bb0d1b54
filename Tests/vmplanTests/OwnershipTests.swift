import Foundation
import Testing
import TestSupport

/// Who owns a domain, and what the plan says about it, on a real libvirtd.
@Suite("Ownership and identity on a real libvirtd", .enabled(if: TestHost.shouldRun(), "needs a libvirt host: run scripts/host-up"))
struct OwnershipTests {
    @Test func twoHostDocumentsForOneHypervisorAreRefused() throws {
        let workspace = try Workspace()
        defer { workspace.delete() }
        // The same libvirtd under a second spelling of its URI.
        let alias = TestHost.uri + (TestHost.uri.contains("?") ? "&" : "?") + "no_verify=1"
        try workspace.write("alias.yaml", """
            apiVersion: vmplan/v1
            kind: Host
            metadata: {name: alias}
            spec: {uri: "\(alias)", hypervisor: kvm}
            """)
        let plan = try CLI.run("plan", workspace.path)
        #expect(plan.status == 1)
        #expect(plan.stderr.contains("\(workspace.path)/host.yaml:1:1: error: Host 'local' (\(TestHost.uri)) reaches the same hypervisor as Host 'alias' "
            + "(\(alias), declared at \(workspace.path)/alias.yaml:1:1): libvirt reports host UUID "), "\(plan.stderr)")
        #expect(plan.stderr.contains("The plan failed; nothing was changed."))
    }

    @Test func aMarkedDomainInNoManifestAndNoStateIsListed() throws {
        let name = TestHost.uniqueName("orphan")
        let owner = try Workspace()
        let other = try Workspace()
        defer { TestHost.removeDomains([name]); owner.delete(); other.delete() }
        try owner.write("vm.yaml", Workspace.vm(name, state: "stopped"))
        #expect(try CLI.run("apply", owner.path, "--auto-approve").status == 0)

        let plan = try CLI.run("plan", other.path)
        #expect(plan.status == 0, "\(plan.stderr)")
        #expect(plan.stdout.contains("Domains with vmplan's marker that no manifest names and this state did not record"), "\(plan.stdout)")
        let ownerState = try TestSQL.query(owner.statePath, "SELECT state_id FROM identity").trimmingCharacters(in: .whitespacesAndNewlines)
        #expect(plan.stdout.contains("    local: \(name) (shut off, state \(ownerState))"), "\(plan.stdout)")
        let json = try CLI.run("plan", other.path, "--json")
        let document = try #require(try JSONSerialization.jsonObject(with: Data(json.stdout.utf8)) as? [String: Any])
        let orphaned = try #require(document["orphaned"] as? [[String: Any]])
        #expect(orphaned.contains { $0["name"] as? String == name && $0["host"] as? String == "local" && $0["state"] as? String == ownerState })
        // The owner's own plan does not call it an orphan (other tests' domains may be listed there).
        #expect(!(try CLI.run("plan", owner.path).stdout.contains("    local: \(name) (")))
    }

    @Test func aMarkerRemovedByHandIsSaidAndTheDomainIsNeverDeleted() throws {
        let name = TestHost.uniqueName("unmarked")
        let workspace = try Workspace()
        defer { TestHost.removeDomains([name]); workspace.delete() }
        try workspace.write("vm.yaml", Workspace.vm(name, state: "stopped"))
        #expect(try CLI.run("apply", workspace.path, "--auto-approve").status == 0)
        let removed = try TestHost.virsh("metadata", name, "--uri", "urn:vmplan:1", "--remove", "--config")
        #expect(removed.status == 0, "\(removed.stderr)")

        let kept = try CLI.run("plan", workspace.path)
        #expect(kept.status == 1)
        #expect(kept.stderr.contains("VirtualMachine '\(name)' is recorded as applied, but the domain '\(name)' on host 'local' no longer carries vmplan's marker"),
                "\(kept.stderr)")

        try workspace.remove("vm.yaml")
        let plan = try CLI.run("plan", workspace.path)
        #expect(plan.stdout.contains("  - \(name) (kept on the host; vmplan forgets it)"), "\(plan.stdout)\(plan.stderr)")
        #expect(plan.stdout.contains("still exists on local but no longer carries vmplan's marker (removed by hand)"))
        #expect(plan.stdout.contains("Plan: 0 to add, 0 to change, 0 to destroy."))
        let apply = try CLI.run("apply", workspace.path, "--auto-approve")
        #expect(apply.status == 0, "\(apply.stdout)\(apply.stderr)")
        #expect(try TestHost.domainState(name) == "shut off", "the unmarked domain is left alone")
        #expect(!(try CLI.run("state", "list", workspace.path).stdout.contains(name)), "only the record went")
    }

    @Test func valuesCannotDrawLinesOfTheirOwnInAPlan() throws {
        let name = TestHost.uniqueName("forged")
        let workspace = try Workspace()
        defer { TestHost.removeDomains([name]); workspace.delete() }
        let forged = #"web\n\n  - prod-db (local)\n      # removed from the manifests\n\nPlan: 0 to add, 0 to change, 0 to destroy.\u202E"#
        try workspace.write("vm.yaml", Workspace.vm(name, state: "stopped", description: forged))
        let plan = try CLI.run("plan", workspace.path)
        #expect(plan.status == 0, "\(plan.stderr)")
        let lines = plan.stdout.components(separatedBy: "\n")
        #expect(!lines.contains("  - prod-db (local)"), "\(plan.stdout)")
        #expect(lines.filter { $0.hasPrefix("Plan: ") } == ["Plan: 1 to add, 0 to change, 0 to destroy."])
        #expect(lines.contains(#"      + description = web\n\n  - prod-db (local)\n      # removed from the manifests\n\nPlan: 0 to add, 0 to change, 0 to destroy.\u{202E}"#),
                "\(plan.stdout)")
        #expect(!plan.stdout.contains("\u{202E}"))
    }
}
