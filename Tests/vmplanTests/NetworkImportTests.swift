import Foundation
import Testing
import TestSupport

/// `vmplan import` of domains whose NICs are on libvirt networks made by hand: each network a Network
/// document can say gets one (however many domains use it), the others are used by name with the
/// reason, and the apply marks the network without touching the running one or its guests.
@Suite("Import of hand-made networks on a real libvirtd", .enabled(if: TestHost.shouldRun(), "needs a libvirt host: run scripts/host-up"))
struct NetworkImportTests {
    /// A network defined from `xml` with virsh, as an administrator would; started and autostarted when `running`.
    static func defineNetwork(_ xml: String, in workspace: Workspace, running: Bool) throws {
        let file = workspace.directory.appendingPathComponent("net-\(UUID().uuidString).xml")
        try xml.write(to: file, atomically: true, encoding: .utf8)
        let name = try #require(TestHost.element("name", in: xml))
        for command in [["net-define", file.path]] + (running ? [["net-start", name], ["net-autostart", name]] : []) {
            let output = try TestHost.run("virsh", ["-c", TestHost.uri] + command)
            try #require(output.status == 0, "\(command): \(output.stderr)")
        }
    }

    /// A domain without disks (it boots to nothing, which is enough to run) with a NIC on each network.
    static func domainXML(_ name: String, networks: [(network: String, mac: String)]) -> String {
        let nics = networks.map { "<interface type='network'><mac address='\($0.mac)'/><source network='\($0.network)'/><model type='virtio'/></interface>" }
        return """
            <domain type='qemu'>
              <name>\(name)</name>
              <memory unit='MiB'>64</memory>
              <vcpu>1</vcpu>
              <os><type arch='x86_64' machine='pc'>hvm</type></os>
              <devices>\(nics.joined())</devices>
            </domain>
            """
    }

    @Test func domainsSharingARunningNetworkImportItOnceAndItIsOnlyMarked() throws {
        let (web, batch) = (TestHost.uniqueName("impn-web"), TestHost.uniqueName("impn-batch"))
        let (labNetwork, routedNetwork) = (VirtualNetworkTests.TestNetwork(), VirtualNetworkTests.TestNetwork())
        let (lab, routed, subnet) = (labNetwork.name, routedNetwork.name, labNetwork.subnet)
        let workspace = try Workspace()
        defer {
            TestHost.removeDomains([web, batch])
            labNetwork.remove()
            routedNetwork.remove()
            workspace.delete()
        }
        try Self.defineNetwork("""
            <network><name>\(lab)</name><domain name='lab.test' localOnly='yes'/>
              <ip address='\(subnet).1' prefix='24'><dhcp><range start='\(subnet).100' end='\(subnet).199'/>
                <host mac='52:54:00:3b:00:01' name='web' ip='\(subnet).10'/></dhcp></ip></network>
            """, in: workspace, running: true)
        // Routed: a forward mode a Network has no form for. Defined only: nothing needs to reach it.
        try Self.defineNetwork("<network><name>\(routed)</name><forward mode='route'/><ip address='\(routedNetwork.subnet).1' prefix='24'/></network>",
                               in: workspace, running: false)
        try ImportTests.define(Self.domainXML(web, networks: [(lab, "52:54:00:3b:00:01"), (routed, "52:54:00:3b:00:02")]))
        try ImportTests.define(Self.domainXML(batch, networks: [(lab, "52:54:00:3b:00:03")]))
        #expect(try TestHost.virsh("start", batch).status == 0, "a guest on the network while it is imported")
        let bridge = try #require(try labNetwork.info()["Bridge"])
        let (inactiveBefore, liveBefore) = (try #require(try labNetwork.xml(inactive: true)), try #require(try labNetwork.xml()))
        let bridgeIndex = try labNetwork.bridgeIndex()
        let portsBefore = try Self.ports(of: bridge)
        #expect(!portsBefore.isEmpty, "the running guest's NIC is plugged into \(bridge)")

        let out = workspace.directory.appendingPathComponent("imported").path
        let imported = try CLI.run("import", workspace.path, "--host", "local", web, batch, "--out", out)
        #expect(imported.status == 0, "\(imported.stdout)\(imported.stderr)")
        let written = try FileManager.default.contentsOfDirectory(atPath: out).sorted()
        #expect(written == ["network-\(lab).yaml", "vm-\(batch).yaml", "vm-\(web).yaml"], "one document for the shared network: \(written)")
        #expect(imported.stdout.split(separator: "\n").contains { $0.hasPrefix("    network-\(lab).yaml ") && $0.hasSuffix(" Network \(lab)") },
                "\(imported.stdout)")
        #expect(imported.stdout.contains("Networks used by name, without a Network document:\n    \(routed): a Network document cannot express it: "
            + "forward mode route"), "\(imported.stdout)")
        #expect(imported.stderr.contains("note: network \(routed) gets no Network document; the imported NICs use it by name as it is"), "\(imported.stderr)")

        let uuid = try TestHost.virsh("net-uuid", lab).stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        let networkFile = try String(contentsOfFile: out + "/network-\(lab).yaml", encoding: .utf8)
        for line in ["kind: Network", "metadata: {name: \(lab)}", "  host: local", "  import: {uuid: \(uuid)}", "  mode: isolated", "  bridge: \(bridge)",
                     "  address: \(subnet).1/24", "    range: {start: \(subnet).100, end: \(subnet).199}",
                     "      - {mac: \"52:54:00:3b:00:01\", ip: \(subnet).10, name: web}", "  domain: lab.test", "used by \(batch), \(web)."] {
            #expect(networkFile.contains(line + "\n"), "\(line) in \(networkFile)")
        }
        let webFile = try String(contentsOfFile: out + "/vm-\(web).yaml", encoding: .utf8)
        #expect(webFile.contains("# Its NIC on network \(lab) uses the Network in network-\(lab).yaml, imported with it.\n"), "\(webFile)")
        #expect(webFile.contains("# Its NIC on network \(routed) uses that network by name, without a Network document: "), "\(webFile)")
        #expect(webFile.contains("    - {network: \(routed), mac: \"52:54:00:3b:00:02\"}\n"), "the NIC still names it: \(webFile)")

        #expect(try CLI.run("validate", workspace.path).status == 0)
        let plan = try CLI.run("plan", workspace.path, "--detailed-exitcode", "--show-unmanaged")
        #expect(plan.status == 2, "\(plan.stdout)\(plan.stderr)")
        #expect(plan.stdout.contains("  <= network \(lab) (import: local, isolated \(subnet).1/24, DHCP \(subnet).100-\(subnet).199, 1 static host; "
            + "the host is not changed)"), "\(plan.stdout)")
        #expect(plan.stdout.contains("Plan: 3 to import, 0 to add, 0 to change, 0 to destroy."), "\(plan.stdout)")
        #expect(!plan.stdout.contains("\(web) (shut off") && !plan.stdout.contains("\(batch) (running"), "imported domains are not unmanaged: \(plan.stdout)")
        let json = try CLI.run("plan", workspace.path, "--json")
        let report = try #require(try JSONSerialization.jsonObject(with: Data(json.stdout.utf8)) as? [String: Any])
        let unmanaged = (report["unmanaged"] as? [[String: Any]] ?? []).compactMap { $0["name"] as? String }
        #expect(!unmanaged.contains(web) && !unmanaged.contains(batch), "\(unmanaged)")

        // A document that no longer says what the network is: the import is refused, naming the field.
        try networkFile.replacingOccurrences(of: "end: \(subnet).199}", with: "end: \(subnet).150}")
            .write(toFile: out + "/network-\(lab).yaml", atomically: true, encoding: .utf8)
        let differing = try CLI.run("plan", workspace.path)
        #expect(differing.status == 1)
        #expect(differing.stderr.contains("Network '\(lab)' imports the network with UUID \(uuid), but the document differs from the network: "
            + "dhcp.range is \(subnet).100-\(subnet).199 on the host, \(subnet).100-\(subnet).150 in the document."), "\(differing.stderr)")
        try networkFile.write(toFile: out + "/network-\(lab).yaml", atomically: true, encoding: .utf8)

        let apply = try CLI.run("apply", workspace.path, "--auto-approve")
        #expect(apply.status == 0, "\(apply.stdout)\(apply.stderr)")
        #expect(apply.stdout.contains("Resources: 3 imported, 0 added, 0 changed, 0 destroyed."), "\(apply.stdout)")
        let after = try CLI.run("plan", workspace.path, "--detailed-exitcode")
        #expect(after.status == 0, "\(after.stdout)\(after.stderr)")
        let drift = try CLI.run("drift", workspace.path)
        #expect(drift.status == 0 && drift.stdout.contains("No drift"), "\(drift.stdout)\(drift.stderr)")

        // The persistent definition gained the marker and nothing else; the running network and its guest did not notice.
        let inactiveAfter = try #require(try labNetwork.xml(inactive: true))
        #expect(inactiveAfter.contains("<vmplan:resource xmlns:vmplan=\"urn:vmplan:1\" name=\"\(lab)\""), "\(inactiveAfter)")
        #expect(ImportTests.withoutMetadata(inactiveAfter) == inactiveBefore)
        #expect(try labNetwork.xml() == liveBefore, "the running network is as it was")
        #expect(try labNetwork.bridgeIndex() == bridgeIndex, "the bridge was not made again")
        #expect(try Self.ports(of: bridge) == portsBefore, "the running guest stayed plugged in")
        #expect(try TestHost.domainState(batch) == "running")
        #expect(try routedNetwork.xml(inactive: true)?.contains("urn:vmplan") == false, "the network used by name is untouched")
        let records = try TestSQL.query(workspace.statePath, "SELECT kind || ' ' || name FROM resource ORDER BY kind, name")
        #expect(records.contains("Network \(lab)") && !records.contains("Network \(routed)"), "\(records)")
    }

    @Test func aStoppedNetworkIsUsedByNameWithTheReason() throws {
        let (vm, stopped) = (TestHost.uniqueName("impn-stop"), VirtualNetworkTests.TestNetwork())
        let network = stopped.name
        let workspace = try Workspace()
        defer {
            TestHost.removeDomains([vm])
            stopped.remove()
            workspace.delete()
        }
        try Self.defineNetwork("<network><name>\(network)</name><ip address='\(stopped.subnet).1' prefix='24'/></network>",
                               in: workspace, running: false)
        try ImportTests.define(Self.domainXML(vm, networks: [(network, "52:54:00:3b:01:01")]))
        let out = workspace.directory.appendingPathComponent("imported").path
        let imported = try CLI.run("import", workspace.path, "--host", "local", vm, "--out", out)
        #expect(imported.status == 0, "\(imported.stdout)\(imported.stderr)")
        #expect(!FileManager.default.fileExists(atPath: out + "/network-\(network).yaml"))
        #expect(imported.stdout.contains("    \(network): a plan over its manifest fails: Network '\(network)' imports the network with UUID"), "\(imported.stdout)")
        #expect(imported.stdout.contains("active is false on the host (virsh net-start \(network) starts it); "
            + "autostart is false on the host (virsh net-autostart \(network) sets it)"), "\(imported.stdout)")
        #expect(imported.stdout.contains("Plan: 1 to import, 0 to add, 0 to change, 0 to destroy."), "\(imported.stdout)")
        let apply = try CLI.run("apply", workspace.path, "--auto-approve")
        #expect(apply.status == 0, "\(apply.stdout)\(apply.stderr)")
        #expect(try CLI.run("plan", workspace.path, "--detailed-exitcode").status == 0)
        #expect(try stopped.xml(inactive: true)?.contains("urn:vmplan") == false)
    }

    /// The interfaces plugged into a bridge (guests' tap devices).
    static func ports(of bridge: String) throws -> [String] {
        try FileManager.default.contentsOfDirectory(atPath: "/sys/class/net/\(bridge)/brif").sorted()
    }
}
