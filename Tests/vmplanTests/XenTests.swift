import Foundation
import Testing
import TestSupport

/// vmplan against a real Xen 4.17 host (dom0 booted under QEMU by scripts/xen/up), through
/// libvirt's libxl driver over a remote URI. Results are read back with virsh and `xl` in dom0.
@Suite("Xen host", .serialized, .enabled(if: XenTestHost.shouldRun(), "needs the Xen test host: run scripts/xen/up"))
struct XenTests {
    static func workspace(_ vms: String...) throws -> Workspace {
        let workspace = try Workspace()
        try workspace.write("host.yaml", """
            apiVersion: vmplan/v1
            kind: Host
            metadata: {name: xen-01}
            spec: {uri: "\(XenTestHost.uri)", hypervisor: xen}
            """)
        try workspace.write("vms.yaml", vms.joined(separator: "\n---\n"))
        return workspace
    }

    static func pvGuest(_ name: String, memory: String = "128MiB", state: String = "running", extra: String = "") -> String {
        """
        apiVersion: vmplan/v1
        kind: VirtualMachine
        metadata: {name: \(name)}
        spec:
          host: xen-01
          vcpus: 1
          maxVcpus: 2
          memory: \(memory)
          maxMemory: 256MiB
          state: \(state)
          boot: {type: pv, kernel: \(XenTestHost.guestKernel), initrd: \(XenTestHost.guestInitrd), cmdline: "console=hvc0"}
        \(extra)
        """
    }

    static func apply(_ workspace: Workspace) throws -> TestHost.Output {
        try TestHost.run(CLI.binary, ["apply", workspace.path, "--auto-approve", "--shutdown-timeout", "5"])
    }

    static func kib(_ xml: String, _ tag: String) -> String? { TestHost.element(tag, in: xml) }

    @Test func aPVGuestRunsChangesMemoryLiveStopsAndIsDeleted() throws {
        let name = TestHost.uniqueName("xen-pv")
        let workspace = try Self.workspace(Self.pvGuest(name))
        defer { XenTestHost.removeDomains([name]); workspace.delete() }

        let apply = try Self.apply(workspace)
        #expect(apply.status == 0, "\(apply.stdout)\(apply.stderr)")
        #expect(try XenTestHost.domainState(name) == "running")
        let xml = try XenTestHost.virsh("dumpxml", "--inactive", name).stdout
        #expect(xml.contains("<domain type='xen'"))
        #expect(Self.kib(xml, "currentMemory") == "131072")
        #expect(Self.kib(xml, "memory") == "262144")
        #expect(TestHost.openingTag("vcpu", in: xml)?.contains("current='1'") == true)
        #expect(try XenTestHost.virsh("dominfo", name).stdout.split(separator: "\n").contains { $0.hasPrefix("Autostart:") && $0.hasSuffix("enable") },
                "libxl keeps the autostart flag of a running VM")
        // xl in dom0 agrees: the guest runs with 128 MiB and one vCPU.
        let xl = try XenTestHost.dom0("xl list \(name)")
        #expect(xl.status == 0, "\(xl.stdout)\(xl.stderr)")
        let row = xl.stdout.split(separator: "\n").first { $0.hasPrefix(name) }?.split(separator: " ", omittingEmptySubsequences: true)
        #expect(row?[2] == "128", "xl list: \(xl.stdout)")
        #expect(row?[3] == "1")

        let noop = try CLI.run("plan", workspace.path, "--detailed-exitcode")
        #expect(noop.status == 0, "\(noop.stdout)\(noop.stderr)")

        let id = try XenTestHost.virsh("domid", name).stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        try workspace.write("vms.yaml", Self.pvGuest(name, memory: "192MiB"))
        let plan = try CLI.run("plan", workspace.path)
        #expect(plan.stdout.contains("~ \(name) (live)"), "\(plan.stdout)")
        let grow = try Self.apply(workspace)
        #expect(grow.status == 0, "\(grow.stdout)\(grow.stderr)")
        #expect(try XenTestHost.virsh("domid", name).stdout.trimmingCharacters(in: .whitespacesAndNewlines) == id, "a live change keeps the domain")
        #expect(Self.kib(try XenTestHost.virsh("dumpxml", "--inactive", name).stdout, "currentMemory") == "196608")
        // The guest's balloon driver takes a few seconds to give the memory to the guest.
        var used = ""
        for _ in 0..<30 where !used.contains("196608") {
            used = try XenTestHost.virsh("dominfo", name).stdout.split(separator: "\n").first { $0.hasPrefix("Used memory:") }.map(String.init) ?? ""
            if !used.contains("196608") { Thread.sleep(forTimeInterval: 1) }
        }
        #expect(used.contains("196608"), "the PV guest's balloon follows: \(used)")

        try workspace.write("vms.yaml", Self.pvGuest(name, memory: "192MiB", state: "stopped"))
        let stop = try Self.apply(workspace)
        #expect(stop.status == 0, "\(stop.stdout)\(stop.stderr)")
        #expect(try XenTestHost.domainState(name) == "shut off")

        try workspace.remove("vms.yaml")
        let delete = try Self.apply(workspace)
        #expect(delete.status == 0, "\(delete.stdout)\(delete.stderr)")
        #expect(try XenTestHost.domainState(name) == nil)
    }

    @Test func aVGPUOnXenFailsAtPlanTime() throws {
        let name = TestHost.uniqueName("xen-vgpu")
        let workspace = try Self.workspace(Self.pvGuest(name, extra: "  vgpus: [{type: nvidia-222}]"))
        defer { XenTestHost.removeDomains([name]); workspace.delete() }
        let plan = try CLI.run("plan", workspace.path)
        #expect(plan.status == 1)
        #expect(plan.stderr.contains("vgpus are not available on Xen host 'xen-01': libxl, libvirt's Xen driver, has no mediated devices"))
        #expect(try XenTestHost.domainState(name) == nil)
    }

    @Test func aPCIPassthroughReachesLibxlAndItsFailureIsReported() throws {
        let name = TestHost.uniqueName("xen-pci")
        // The dom0 under QEMU has no such device; the Host only warns, so the request reaches libxl.
        let workspace = try Self.workspace(Self.pvGuest(name, extra: "  gpus: [{pci: \"0000:ff:1f.7\"}]"))
        try workspace.write("host.yaml", """
            apiVersion: vmplan/v1
            kind: Host
            metadata: {name: xen-01}
            spec: {uri: "\(XenTestHost.uri)", hypervisor: xen, deviceChecks: warn}
            """)
        defer { XenTestHost.removeDomains([name]); workspace.delete() }
        let apply = try Self.apply(workspace)
        #expect(apply.status == 1)
        #expect(apply.stderr.contains("error: \(name) (xen-01): "), "\(apply.stderr)")
        let xml = try XenTestHost.virsh("dumpxml", "--inactive", name).stdout
        #expect(xml.contains("bus='0xff' slot='0x1f' function='0x7'"), "libvirt keeps the hostdev: \(xml)")
        #expect(try XenTestHost.domainState(name) == "shut off")
        let again = try CLI.run("plan", workspace.path, "--detailed-exitcode")
        #expect(again.status == 2)
        #expect(again.stdout.contains("~ state = stopped -> running"), "only the start is still pending: \(again.stdout)")
    }

    @Test func networksOnXenFailAtPlanTimeWithTheReason() throws {
        let name = TestHost.uniqueName("xen-nic")
        let workspace = try Self.workspace(Self.pvGuest(name, extra: "  networks: [{bridge: xenbr0}]"))
        defer { XenTestHost.removeDomains([name]); workspace.delete() }
        let plan = try CLI.run("plan", workspace.path)
        #expect(plan.status == 1)
        #expect(plan.stderr.contains("networks on Xen host 'xen-01' is not supported by vmplan's Xen flavour yet"), "\(plan.stderr)")
        #expect(try XenTestHost.domainState(name) == nil)
    }
}
