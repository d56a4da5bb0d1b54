import Foundation
import Testing
import TestSupport

/// `kind: Network` on the real private libvirtd. Every network here is isolated (no forwarding:
/// nothing leaves the machine) on a /24 of the 198.18.0.0/15 benchmark range, which no real
/// network uses; each test picks its own, so tests running at once do not clash (x.y.0–199: the demo
/// and host-up's probe use 198.18.200 and above). Results are read
/// back with virsh and from the host's interfaces, never through vmplan.
@Suite("Networks on a real libvirtd", .enabled(if: TestHost.shouldRun(), "needs a libvirt host: run scripts/host-up"))
struct VirtualNetworkTests {
    /// A fresh network name and subnet prefix (`198.18.7` or `198.19.42`).
    struct TestNetwork {
        let name = TestHost.uniqueName("net")
        let subnet = "198.\(Int.random(in: 18...19)).\(Int.random(in: 0...199))"

        func yaml(_ extra: String = "", address: String? = nil, hosts: [String] = []) -> String {
            var lines = ["apiVersion: vmplan/v1", "kind: Network", "metadata: {name: \(name)}", "spec:", "  host: local",
                         "  mode: isolated", "  address: \(address ?? "\(subnet).1/24")", "  dhcp:",
                         "    range: {start: \(subnet).100, end: \(subnet).199}"]
            if !hosts.isEmpty { lines += ["    hosts:"] + hosts.map { "      - \($0)" } }
            if !extra.isEmpty { lines.append("  " + extra) }
            return lines.joined(separator: "\n") + "\n"
        }

        func host(_ last: Int, name: String) -> String {
            "{mac: \"52:54:00:18:00:\(String(format: "%02x", last))\", ip: \(subnet).\(last), name: \(name)}"
        }

        /// `virsh net-dumpxml` (the running definition unless `inactive`), or nil when the network does not exist.
        func xml(inactive: Bool = false) throws -> String? {
            let output = inactive ? try TestHost.virsh("net-dumpxml", "--inactive", name) : try TestHost.virsh("net-dumpxml", name)
            return output.status == 0 ? output.stdout : nil
        }

        /// `net-info` as a dictionary: Active, Autostart, Bridge, …
        func info() throws -> [String: String] {
            let lines = try TestHost.virsh("net-info", name).stdout.split(separator: "\n")
            return Dictionary(lines.compactMap { line in
                let parts = line.split(separator: ":", maxSplits: 1).map { $0.trimmingCharacters(in: .whitespaces) }
                return parts.count == 2 ? (parts[0], parts[1]) : nil
            }, uniquingKeysWith: { first, _ in first })
        }

        /// The kernel's index of the network's bridge: a new one means the bridge was made again.
        func bridgeIndex() throws -> String? {
            guard let bridge = try info()["Bridge"] else { return nil }
            return try? String(contentsOfFile: "/sys/class/net/\(bridge)/ifindex", encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines)
        }

        func remove() {
            _ = try? TestHost.virsh("net-destroy", name)
            _ = try? TestHost.virsh("net-undefine", name)
        }
    }

    static func apply(_ workspace: Workspace) throws -> TestHost.Output {
        try CLI.run("apply", workspace.path, "--auto-approve", "--shutdown-timeout", "1")
    }

    @Test func anIsolatedNetworkIsCreatedUpdatedLiveRestartedAndDeleted() throws {
        let network = TestNetwork()
        let workspace = try Workspace()
        defer { network.remove(); workspace.delete() }
        try workspace.write("network.yaml", network.yaml("domain: lab.test", hosts: [network.host(10, name: "web-1")]))

        let plan = try CLI.run("plan", workspace.path)
        #expect(plan.stdout.contains("+ network \(network.name) (local, isolated \(network.subnet).1/24, DHCP \(network.subnet).100-\(network.subnet).199, 1 static host)"),
                "\(plan.stdout)\(plan.stderr)")
        let created = try Self.apply(workspace)
        #expect(created.status == 0, "\(created.stdout)\(created.stderr)")
        let xml = try #require(try network.xml())
        #expect(xml.contains("<ip address='\(network.subnet).1' prefix='24'>"), "\(xml)")
        #expect(xml.contains("<range start='\(network.subnet).100' end='\(network.subnet).199'/>"))
        #expect(xml.contains("<host mac='52:54:00:18:00:0a' name='web-1' ip='\(network.subnet).10'/>"))
        #expect(xml.contains("<domain name='lab.test' localOnly='yes'/>"))
        #expect(!xml.contains("<forward"), "isolated: nothing is forwarded")
        #expect(xml.contains("<vmplan:resource xmlns:vmplan=\"urn:vmplan:1\" name=\"\(network.name)\""), "vmplan's marker")
        #expect(try network.info()["Active"] == "yes")
        #expect(try network.info()["Autostart"] == "yes")
        #expect(try CLI.run("plan", workspace.path, "--detailed-exitcode").status == 0)

        // A second static host reaches the running network: same bridge, and dnsmasq's hosts file has it.
        let bridge = try #require(try network.bridgeIndex())
        try workspace.write("network.yaml", network.yaml("domain: lab.test", hosts: [network.host(10, name: "web-1"), network.host(11, name: "web-2")]))
        let live = try CLI.run("plan", workspace.path)
        #expect(live.stdout.contains("~ network \(network.name) (live: local,"), "\(live.stdout)\(live.stderr)")
        #expect(live.stdout.contains("# the running network takes the DHCP changes live (virNetworkUpdate); nothing restarts"))
        let updated = try Self.apply(workspace)
        #expect(updated.status == 0, "\(updated.stdout)\(updated.stderr)")
        #expect(try network.xml()?.contains("<host mac='52:54:00:18:00:0b' name='web-2' ip='\(network.subnet).11'/>") == true, "the running definition")
        #expect(try network.xml(inactive: true)?.contains("name='web-2'") == true, "the persistent definition")
        let hostsFile = try String(contentsOfFile: "/var/lib/libvirt/dnsmasq/\(network.name).hostsfile", encoding: .utf8)
        #expect(hostsFile.contains("52:54:00:18:00:0b,\(network.subnet).11,web-2"), "\(hostsFile)")
        #expect(try network.bridgeIndex() == bridge, "the network was not restarted")
        #expect(try CLI.run("plan", workspace.path, "--detailed-exitcode").status == 0)

        // An MTU needs the bridge made again: the plan says the network restarts, and it does.
        try workspace.write("network.yaml", network.yaml("mtu: 1400", hosts: [network.host(10, name: "web-1")]))
        let restart = try CLI.run("plan", workspace.path, "--detailed-exitcode")
        #expect(restart.status == 2)
        #expect(restart.stdout.contains("-/+ network \(network.name) (restart: local,"), "\(restart.stdout)\(restart.stderr)")
        #expect(restart.stdout.contains("# domain, mtu cannot change on a running network: it is redefined, then stopped and started again (its UUID stays)"))
        #expect(restart.stdout.contains("Plan: 1 to add, 0 to change, 1 to destroy."))
        let uuid = try network.info()["UUID"]
        let restarted = try Self.apply(workspace)
        #expect(restarted.status == 0, "\(restarted.stdout)\(restarted.stderr)")
        #expect(try network.xml()?.contains("<mtu size='1400'/>") == true)
        #expect(try network.info()["UUID"] == uuid)
        #expect(try network.info()["Active"] == "yes")
        #expect(try network.bridgeIndex() != bridge, "the bridge was made again")
        #expect(try CLI.run("plan", workspace.path, "--detailed-exitcode").status == 0)

        // Out of the manifests: stopped and undefined.
        try workspace.remove("network.yaml")
        let delete = try CLI.run("plan", workspace.path)
        #expect(delete.stdout.contains("- network \(network.name)"), "\(delete.stdout)\(delete.stderr)")
        #expect(try Self.apply(workspace).status == 0)
        #expect(try network.xml(inactive: true) == nil, "the network is gone")
    }

    @Test func aSavedPlanIsRefusedWhenItsNetworkChangedOnTheHost() throws {
        let network = TestNetwork()
        let workspace = try Workspace()
        defer { network.remove(); workspace.delete() }
        try workspace.write("network.yaml", network.yaml())
        #expect(try Self.apply(workspace).status == 0)
        try workspace.write("network.yaml", network.yaml(hosts: [network.host(10, name: "web-1")]))
        let file = workspace.directory.appendingPathComponent("net.plan").path
        #expect(try CLI.run("plan", workspace.path, "--out", file).status == 0)
        #expect(try TestHost.virsh("net-destroy", network.name).status == 0)
        let stale = try CLI.run("apply", file)
        #expect(stale.status == 1)
        #expect(stale.stderr.contains("live state: local/network/\(network.name): active true -> false"), "\(stale.stdout)\(stale.stderr)")
        #expect(try network.info()["Active"] == "no", "nothing was changed")
    }

    @Test func aNetworkMadeByHandIsNeverChangedDeletedOrDeclared() throws {
        let network = TestNetwork()
        let workspace = try Workspace()
        defer { network.remove(); workspace.delete() }
        let file = workspace.directory.appendingPathComponent("hand.xml")
        try "<network><name>\(network.name)</name><ip address='\(network.subnet).1' prefix='24'/></network>".write(to: file, atomically: true, encoding: .utf8)
        #expect(try TestHost.virsh("net-define", file.path).status == 0)
        let before = try #require(try network.xml(inactive: true))

        // Declaring it is refused, naming it; nothing changes.
        try workspace.write("network.yaml", network.yaml())
        let declared = try CLI.run("apply", workspace.path, "--auto-approve")
        #expect(declared.status == 1)
        #expect(declared.stderr.contains("network.yaml:1:1: error: a network named '\(network.name)' already exists on host 'local' and was not created by vmplan"),
                "\(declared.stdout)\(declared.stderr)")
        #expect(try network.xml(inactive: true) == before)

        // A VM may use it by name; removing the VM leaves the network as it was.
        let vm = TestHost.uniqueName("netuser")
        defer { TestHost.removeDomains([vm]) }
        try workspace.remove("network.yaml")
        try workspace.write("vm.yaml", Workspace.vm(vm, state: "stopped") + "\n  networks: [{network: \(network.name)}]\n")
        let used = try Self.apply(workspace)
        #expect(used.status == 0, "\(used.stdout)\(used.stderr)")
        try workspace.remove("vm.yaml")
        #expect(try Self.apply(workspace).status == 0)
        #expect(try TestHost.domainState(vm) == nil)
        #expect(try network.xml(inactive: true) == before, "neither changed nor deleted")
    }

    @Test func aNICOnAnUnknownNetworkAndDeletingANetworkInUseFailTheirPlans() throws {
        let network = TestNetwork()
        let workspace = try Workspace()
        let vm = TestHost.uniqueName("netvm")
        defer { TestHost.removeDomains([vm]); network.remove(); workspace.delete() }
        let vmYAML = Workspace.vm(vm, state: "stopped") + "\n  networks: [{network: \(network.name)}]\n"
        try workspace.write("vm.yaml", vmYAML)
        let unknown = try CLI.run("plan", workspace.path)
        #expect(unknown.status == 1)
        #expect(unknown.stderr.contains("vm.yaml:9:24: error: VirtualMachine '\(vm)': network '\(network.name)' is neither declared for host 'local' nor defined there"),
                "\(unknown.stdout)\(unknown.stderr)")

        try workspace.write("network.yaml", network.yaml())
        let applied = try Self.apply(workspace)
        #expect(applied.status == 0, "\(applied.stdout)\(applied.stderr)")
        #expect(try TestHost.inactiveXML(vm)?.contains("<source network='\(network.name)'/>") == true)

        try workspace.remove("network.yaml")
        let inUse = try CLI.run("plan", workspace.path)
        #expect(inUse.status == 1)
        #expect(inUse.stderr.contains("error: Network '\(network.name)' was removed from the manifests, which would delete it from host 'local', "
            + "but VirtualMachine \(vm) (its NIC at \(workspace.path)/vm.yaml:9:24) still uses it"), "\(inUse.stdout)\(inUse.stderr)")
        #expect(try network.info()["Active"] == "yes")

        // Both go in one apply: the VM first, then its network.
        try workspace.remove("vm.yaml")
        let both = try Self.apply(workspace)
        #expect(both.status == 0, "\(both.stdout)\(both.stderr)")
        #expect(try network.xml(inactive: true) == nil && TestHost.domainState(vm) == nil)
    }
}
