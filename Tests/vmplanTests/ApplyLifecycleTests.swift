import Foundation
import Testing
import TestSupport
import State

/// The CLI end to end against the real private libvirtd. What vmplan did is read back with virsh.
@Suite("vmplan plan/apply on a real libvirtd", .enabled(if: TestHost.shouldRun(), "needs a libvirt host: run scripts/host-up"))
struct ApplyLifecycleTests {
    @Test func applyThenNoOpThenUpdateThenDelete() throws {
        let web = TestHost.uniqueName("web")
        let batch = TestHost.uniqueName("batch")
        let workspace = try Workspace()
        defer {
            TestHost.removeDomains([web, batch])
            workspace.delete()
        }
        try workspace.write("vms.yaml", Workspace.vm(web, vcpus: 2, memory: "128MiB", maxMemory: "256MiB")
            + "\n---\n" + Workspace.vm(batch, memory: "64MiB", state: "stopped"))

        let plan = try CLI.run("plan", workspace.path, "--detailed-exitcode")
        #expect(plan.status == 2, "\(plan.stderr)")
        #expect(plan.stdout.contains("+ \(web) (local)"))
        #expect(plan.stdout.contains("Plan: 2 to add, 0 to change, 0 to destroy."))

        let apply = try CLI.run("apply", workspace.path, "--auto-approve", "--shutdown-timeout", "1")
        #expect(apply.status == 0, "\(apply.stdout)\(apply.stderr)")
        #expect(apply.stdout.contains("Apply complete! Resources: 2 added, 0 changed, 0 destroyed."))

        // Read back through libvirt, not through vmplan.
        #expect(try TestHost.domainState(web) == "running")
        #expect(try TestHost.domainState(batch) == "shut off")
        let webXML = try #require(try TestHost.inactiveXML(web))
        #expect(TestHost.element("vcpu", in: webXML) == "2")
        #expect(TestHost.element("currentMemory", in: webXML) == "131072")
        #expect(TestHost.element("memory", in: webXML) == "262144")
        #expect(TestHost.element("currentMemory", in: try #require(try TestHost.inactiveXML(batch))) == "65536")

        let noop = try CLI.run("plan", workspace.path, "--detailed-exitcode")
        #expect(noop.status == 0, "\(noop.stdout)\(noop.stderr)")
        #expect(noop.stdout.contains("No changes."))

        let list = try CLI.run("state", "list", workspace.path)
        #expect(list.status == 0)
        #expect(list.stdout.contains(web) && list.stdout.contains(batch))

        // A memory edit within maxMemory: one in-place update, applied live.
        let webID = try TestHost.virsh("domid", web).stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        try workspace.write("vms.yaml", Workspace.vm(web, vcpus: 2, memory: "192MiB", maxMemory: "256MiB")
            + "\n---\n" + Workspace.vm(batch, memory: "64MiB", state: "stopped"))
        let updatePlan = try CLI.run("plan", workspace.path, "--detailed-exitcode")
        #expect(updatePlan.status == 2)
        #expect(updatePlan.stdout.contains("~ \(web) (live)"))
        #expect(updatePlan.stdout.contains("~ memory = 128MiB -> 192MiB"))
        #expect(updatePlan.stdout.contains("Plan: 0 to add, 1 to change, 0 to destroy."))
        let update = try CLI.run("apply", workspace.path, "--auto-approve", "--shutdown-timeout", "1")
        #expect(update.status == 0, "\(update.stdout)\(update.stderr)")
        #expect(TestHost.element("currentMemory", in: try #require(try TestHost.inactiveXML(web))) == "196608")
        #expect(try TestHost.virsh("domid", web).stdout.trimmingCharacters(in: .whitespacesAndNewlines) == webID)
        #expect(try CLI.run("plan", workspace.path, "--detailed-exitcode").status == 0)

        // Removing a VM from the manifests deletes it.
        try workspace.write("vms.yaml", Workspace.vm(web, vcpus: 2, memory: "192MiB", maxMemory: "256MiB"))
        let deletePlan = try CLI.run("plan", workspace.path)
        #expect(deletePlan.stdout.contains("- \(batch) (local)"))
        #expect(deletePlan.stdout.contains("Plan: 0 to add, 0 to change, 1 to destroy."))
        let delete = try CLI.run("apply", workspace.path, "--auto-approve", "--shutdown-timeout", "1")
        #expect(delete.status == 0, "\(delete.stdout)\(delete.stderr)")
        #expect(try TestHost.domainState(batch) == nil)
        #expect(try TestHost.domainState(web) == "running")
        #expect(!(try CLI.run("state", "list", workspace.path).stdout.contains(batch)))
    }

    @Test func aDomainDefinedByHandIsReportedAndLeftAlone() throws {
        let foreign = TestHost.uniqueName("byhand")
        let mine = TestHost.uniqueName("mine")
        let workspace = try Workspace()
        defer {
            TestHost.removeDomains([foreign, mine])
            workspace.delete()
        }
        let file = workspace.directory.appendingPathComponent("foreign.xml.txt")
        try """
            <domain type='qemu'><name>\(foreign)</name><memory unit='KiB'>65536</memory><vcpu>1</vcpu>
            <os><type arch='x86_64'>hvm</type></os></domain>
            """.write(to: file, atomically: true, encoding: .utf8)
        #expect(try TestHost.virsh("define", file.path).status == 0)
        let before = try #require(try TestHost.inactiveXML(foreign))

        try workspace.write("vms.yaml", Workspace.vm(mine, state: "stopped"))
        let apply = try CLI.run("apply", workspace.path, "--auto-approve", "--show-unmanaged")
        #expect(apply.status == 0, "\(apply.stdout)\(apply.stderr)")
        #expect(apply.stdout.contains("Unmanaged domains"))
        #expect(apply.stdout.contains(foreign))

        // Even a manifest that claims its name cannot take it over.
        try workspace.write("claim.yaml", Workspace.vm(foreign, memory: "128MiB"))
        let claim = try CLI.run("apply", workspace.path, "--auto-approve")
        #expect(claim.status == 1)
        #expect(claim.stderr.contains("claim.yaml:1:1: error: a domain named '\(foreign)' already exists on host 'local' and is not managed by vmplan"))
        #expect(try TestHost.inactiveXML(foreign) == before)
        #expect(try TestHost.domainState(foreign) == "shut off")
    }

    @Test func aSecondApplyIsRefusedByTheLock() throws {
        let name = TestHost.uniqueName("locked")
        let workspace = try Workspace()
        defer {
            TestHost.removeDomains([name])
            workspace.delete()
        }
        try workspace.write("vms.yaml", Workspace.vm(name, state: "stopped"))
        // Hold the lock as a first apply would, then start a second one.
        let database = try StateDatabase(path: workspace.statePath)
        let lock = try database.acquireLock(holder: "vmplan apply (first@runner)")
        let second = try CLI.run("apply", workspace.path, "--auto-approve")
        #expect(second.status == 1)
        #expect(second.stderr.contains("is locked by vmplan apply (first@runner)"))
        #expect(try TestHost.domainState(name) == nil, "a refused apply must not touch the host")
        try lock.release()
        #expect(try CLI.run("apply", workspace.path, "--auto-approve").status == 0)
        #expect(try TestHost.domainState(name) == "shut off")
    }

    @Test func applyWithoutATerminalNeedsAutoApprove() throws {
        let name = TestHost.uniqueName("noprompt")
        let workspace = try Workspace()
        defer {
            TestHost.removeDomains([name])
            workspace.delete()
        }
        try workspace.write("vms.yaml", Workspace.vm(name, state: "stopped"))
        let result = try CLI.run("apply", workspace.path, input: "yes\n")
        #expect(result.status == 1)
        #expect(result.stderr.contains("pass --auto-approve"))
        #expect(try TestHost.domainState(name) == nil)
    }
}

@Suite("The shipped demo on a real libvirtd", .enabled(if: TestGuest.shouldRun(), "needs a libvirt host and the test guest demo-web boots: run scripts/host-up and scripts/guest/build-image"))
struct DemoTests {
    /// Applies manifests/demo as shipped, with the VM and network names (and the network's subnet)
    /// made unique so the user's own demo stays untouched.
    @Test func theDemoManifestsApply() throws {
        let web = TestHost.uniqueName("demo-web")
        let batch = TestHost.uniqueName("demo-batch")
        let network = TestHost.uniqueName("demo-net")
        let subnet = "198.19.\(Int.random(in: 0...199))."  // as VirtualNetworkTests: off the demo's 198.18.200.0/24
        let workspace = try Workspace()
        let pool = try TestPool()
        defer {
            pool.delete(domains: [web, batch])
            _ = try? TestHost.virsh("net-destroy", network)
            _ = try? TestHost.virsh("net-undefine", network)
            workspace.delete()
        }
        let demo = ValidationTests.repository.appendingPathComponent("manifests/demo")
        for file in try FileManager.default.contentsOfDirectory(atPath: demo.path) where !file.hasPrefix(".") {
            // The pool goes under a temporary directory; volumes follow the VM's unique name.
            let text = try String(contentsOf: demo.appendingPathComponent(file), encoding: .utf8)
                .replacingOccurrences(of: "/var/lib/vmplan/demo-pool", with: pool.path)
                .replacingOccurrences(of: "demo-pool", with: pool.name)
                .replacingOccurrences(of: "demo-web-root", with: "\(web)-root")
                .replacingOccurrences(of: "name: demo-web", with: "name: \(web)")
                .replacingOccurrences(of: "name: demo-batch", with: "name: \(batch)")
                .replacingOccurrences(of: "demo-net", with: network)
                .replacingOccurrences(of: "198.18.200.", with: subnet)
            try workspace.write(file, text)
        }
        #expect(try String(contentsOf: workspace.directory.appendingPathComponent("vms.yaml"), encoding: .utf8).contains(web))

        let apply = try CLI.run("apply", workspace.path, "--auto-approve", "--shutdown-timeout", "1")
        #expect(apply.status == 0, "\(apply.stdout)\(apply.stderr)")
        #expect(try TestHost.domainState(web) == "running")
        #expect(try TestHost.domainState(batch) == "shut off")
        let webXML = try #require(try TestHost.inactiveXML(web))
        #expect(TestHost.openingTag("vcpu", in: webXML)?.contains("current='1'") == true)
        #expect(TestHost.element("vcpu", in: webXML) == "2")
        #expect(TestHost.element("currentMemory", in: webXML) == "131072")
        #expect(TestHost.element("memory", in: webXML) == "262144")
        #expect(TestHost.element("currentMemory", in: try #require(try TestHost.inactiveXML(batch))) == "65536")
        #expect(webXML.contains("volume='\(web)-root'") && webXML.contains("volume='\(web)-cidata.iso'"))
        #expect(webXML.contains("<source network='\(network)'/>"), "the demo VMs have a NIC on the demo network")
        #expect(try TestHost.virsh("net-info", network).stdout.split(separator: "\n").contains { $0.hasPrefix("Active:") && $0.hasSuffix(" yes") })
        #expect(try pool.info("\(web)-root")["virtual-size"] as? Int == 1 << 30)
        let userData = try TestHost.run("isoinfo", ["-R", "-x", "/user-data", "-i", pool.file("\(web)-cidata.iso")])
        #expect(userData.stdout.hasPrefix("#cloud-config\nhostname: \(web)\n"), "the demo-web.user-data file, with the renamed VM")
        let list = try CLI.run("state", "list", workspace.path)
        #expect(list.stdout.contains(web) && list.stdout.contains(batch))
        #expect(try CLI.run("plan", workspace.path, "--detailed-exitcode").status == 0)

        // demo-web boots the tiny guest, which asks the demo network's DHCP: `vmplan status` shows the lease.
        var status = try CLI.run("status", workspace.path)
        for _ in 0..<180 where !status.stdout.contains(subnet) {
            Thread.sleep(forTimeInterval: 1)
            status = try CLI.run("status", workspace.path)
        }
        let row = status.stdout.split(separator: "\n").first { $0.hasPrefix(web + " ") }.map(String.init) ?? ""
        #expect(row.contains("Running") && row.contains(subnet) && row.contains("Synced"), "\(status.stdout)\(status.stderr)")
    }
}
