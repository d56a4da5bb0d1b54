import Foundation
import Testing
import TestSupport
import Spec

/// NICs end to end against the real private libvirtd. The networks here are defined by hand (foreign to
/// vmplan) and left inactive, and the VMs stay stopped: defining a domain does not need its network
/// running. Networks vmplan makes are in VirtualNetworkTests.
@Suite("VM networks on a real libvirtd", .enabled(if: TestHost.shouldRun(), "needs a libvirt host: run scripts/host-up"))
struct NetworkInterfaceTests {
    /// An isolated network (no <forward>: nothing leaves the machine) on a 10.213.x.0/24 that no address here uses.
    static func defineForeignNetwork(_ name: String) throws -> String {
        let octet = Int.random(in: 10...250)
        let bridge = "vmpt" + String(UUID().uuidString.prefix(8)).lowercased()
        let xml = "<network><name>\(name)</name><bridge name='\(bridge)'/><ip address='10.213.\(octet).1' prefix='24'/></network>"
        let file = FileManager.default.temporaryDirectory.appendingPathComponent("\(name).xml")
        try xml.write(to: file, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(at: file) }
        let defined = try TestHost.virsh("net-define", file.path)
        #expect(defined.status == 0, "\(defined.stderr)")
        return try TestHost.virsh("net-dumpxml", "--inactive", name).stdout
    }

    static func interfaces(in xml: String) -> [String] {
        xml.components(separatedBy: "<interface ").dropFirst().map { "<interface " + ($0.components(separatedBy: "</interface>").first ?? "") }
    }

    /// Runs `body` with a fresh VM name, a foreign network (and its XML) and a workspace, and removes them after.
    static func withForeignNetwork(_ prefix: String, _ body: (_ vm: String, _ network: String, _ networkXML: String, Workspace) throws -> Void) throws {
        let vm = TestHost.uniqueName(prefix)
        let network = TestHost.uniqueName("net")
        let workspace = try Workspace()
        defer {
            TestHost.removeDomains([vm])
            _ = try? TestHost.virsh("net-undefine", network)
            workspace.delete()
        }
        try body(vm, network, try defineForeignNetwork(network), workspace)
    }

    @Test func nicsAreDefinedWithDerivedMACsAndASecondPlanIsANoOp() throws {
        try Self.withForeignNetwork("nic") { vm, network, networkXML, workspace in
            let manifest = Workspace.vm(vm, state: "stopped") + """

                  networks:
                    - {network: \(network)}
                    - {bridge: vmptbr0, model: e1000e, mac: "52:54:00:0A:0B:0C"}
                """
            try workspace.write("vms.yaml", manifest)
            let apply = try CLI.run("apply", workspace.path, "--auto-approve", "--shutdown-timeout", "1")
            #expect(apply.status == 0, "\(apply.stdout)\(apply.stderr)")

            let xml = try #require(try TestHost.inactiveXML(vm))
            let nics = Self.interfaces(in: xml)
            #expect(nics.count == 2, "\(xml)")
            let derived = NetworkInterface.derivedMAC(vm: vm, index: 0)
            #expect(nics.first?.contains("<mac address='\(derived)'/>") == true, "\(nics)")
            #expect(nics.first?.contains("<source network='\(network)'/>") == true)
            #expect(nics.first?.contains("<model type='virtio'/>") == true)
            #expect(nics.last?.contains("<mac address='52:54:00:0a:0b:0c'/>") == true)
            #expect(nics.last?.contains("<source bridge='vmptbr0'/>") == true)
            #expect(nics.last?.contains("<model type='e1000e'/>") == true)

            let noop = try CLI.run("plan", workspace.path, "--detailed-exitcode")
            #expect(noop.status == 0, "\(noop.stdout)\(noop.stderr)")
            #expect(noop.stdout.contains("No changes."))

            // A NIC added by hand to a VM whose manifest has networks is drift, and apply removes it rather than doubling up.
            let attach = try TestHost.virsh("attach-interface", vm, "network", network, "--mac", "52:54:00:99:99:99", "--config")
            #expect(attach.status == 0, "\(attach.stderr)")
            let drift = try CLI.run("plan", workspace.path, "--detailed-exitcode")
            #expect(drift.status == 2, "\(drift.stdout)\(drift.stderr)")
            #expect(drift.stdout.contains("52:54:00:99:99:99"), "\(drift.stdout)")
            let reapply = try CLI.run("apply", workspace.path, "--auto-approve", "--shutdown-timeout", "1")
            #expect(reapply.status == 0, "\(reapply.stdout)\(reapply.stderr)")
            let after = Self.interfaces(in: try #require(try TestHost.inactiveXML(vm)))
            #expect(after.count == 2, "\(after)")
            #expect(!after.contains { $0.contains("52:54:00:99:99:99") })
            #expect(try CLI.run("plan", workspace.path, "--detailed-exitcode").status == 0)

            // The network was someone else's: vmplan neither changed nor removed it.
            #expect(try TestHost.virsh("net-dumpxml", "--inactive", network).stdout == networkXML)
        }
    }

    @Test func withoutNetworksAHandAddedNICSurvivesAnUpdate() throws {
        try Self.withForeignNetwork("keepnic") { vm, network, _, workspace in
            try workspace.write("vms.yaml", Workspace.vm(vm, memory: "64MiB", state: "stopped"))
            #expect(try CLI.run("apply", workspace.path, "--auto-approve").status == 0)
            #expect(try TestHost.virsh("attach-interface", vm, "network", network, "--mac", "52:54:00:77:77:77", "--config").status == 0)
            #expect(try CLI.run("plan", workspace.path, "--detailed-exitcode").status == 0, "NICs of a VM without networks are not compared")

            try workspace.write("vms.yaml", Workspace.vm(vm, memory: "96MiB", state: "stopped"))
            let update = try CLI.run("apply", workspace.path, "--auto-approve")
            #expect(update.status == 0, "\(update.stdout)\(update.stderr)")
            let nics = Self.interfaces(in: try #require(try TestHost.inactiveXML(vm)))
            #expect(nics.count == 1 && nics[0].contains("52:54:00:77:77:77"), "\(nics)")
        }
    }
}
