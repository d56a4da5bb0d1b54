import Foundation
import Testing
import TestSupport

/// A VM with a passed-through GPU and a vGPU on the real private libvirtd. This machine has no
/// IOMMU and no such devices, so libvirt defines the VM but cannot start it; vmplan must say so
/// for that VM and keep its state consistent. The addresses used exist on no machine's bus 0xff
/// slot 0x1f here, so nothing of the host's own is ever touched.
@Suite("GPU VM on a real libvirtd", .enabled(if: TestHost.shouldRun(), "needs a libvirt host: run scripts/host-up"))
struct GPUOnRealHostTests {
    @Test func definedWithHostdevsAndTheStartFailureIsReportedAndRecorded() throws {
        let name = TestHost.uniqueName("gpu")
        let uuid = "7d1f0c52-90a4-4f0b-9d8e-5c6b7a8f9e01"
        let workspace = try Workspace()
        defer { TestHost.removeDomains([name]); workspace.delete() }
        // The inventory cannot confirm a device this host lacks: this Host only warns about it.
        try workspace.write("host.yaml", """
            apiVersion: vmplan/v1
            kind: Host
            metadata: {name: local}
            spec: {uri: "\(TestHost.uri)", hypervisor: kvm, deviceChecks: warn}
            """)
        try workspace.write("vm.yaml", Workspace.vm(name) + """

              gpus: [{pci: "0000:ff:1f.7"}]
              vgpus: [{type: nvidia-222, uuid: \(uuid)}]
            """)

        let plan = try CLI.run("plan", workspace.path)
        #expect(plan.status == 0, "\(plan.stderr)")
        #expect(plan.stdout.contains("warning: host 'local' has no PCI device 0000:ff:1f.7"))
        #expect(plan.stdout.contains("warning: mdev type nvidia-222 for '\(name)' is not offered by any GPU on host 'local'"))

        let apply = try CLI.run("apply", workspace.path, "--auto-approve")
        #expect(apply.status == 1)
        #expect(apply.stderr.contains("error: \(name) (local): cannot start domain \(name): "), "\(apply.stderr)")

        // libvirt has the definition with both hostdevs (read back with virsh, not vmplan).
        let xml = try #require(try TestHost.inactiveXML(name))
        #expect(xml.contains("<hostdev mode='subsystem' type='pci' managed='yes'>"))
        #expect(xml.contains("bus='0xff' slot='0x1f' function='0x7'"))
        #expect(xml.contains("<hostdev mode='subsystem' type='mdev' managed='no' model='vfio-pci' display='off'>") || xml.contains("type='mdev'"))
        #expect(xml.contains(uuid))
        #expect(try TestHost.domainState(name) == "shut off")

        // The failure is journaled with libvirt's reason.
        let journal = try TestSQL.query(workspace.statePath, "SELECT status || ' ' || error FROM journal WHERE name = '\(name)'")
        #expect(journal.hasPrefix("failed cannot start domain \(name)"), "\(journal)")

        // The next plan wants only the start: the definition is there and matches.
        let again = try CLI.run("plan", workspace.path, "--detailed-exitcode")
        #expect(again.status == 2)
        #expect(again.stdout.contains("~ \(name) (live)"))
        #expect(again.stdout.contains("~ state = stopped -> running"))
        #expect(again.stdout.contains("Plan: 0 to add, 1 to change, 0 to destroy."))
        let fieldLines = again.stdout.split(separator: "\n").filter { $0.hasPrefix("      ~ ") || $0.hasPrefix("      + ") }
        #expect(fieldLines.count == 1, "only the state differs: \(fieldLines)")
    }
}
