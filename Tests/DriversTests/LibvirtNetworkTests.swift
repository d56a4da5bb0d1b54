import Foundation
import Testing
import TestSupport
import Drivers
import Spec

/// The driver's network calls against the real private libvirtd. Networks are isolated, on a /24
/// of the 198.18.0.0/15 benchmark range below 198.19.200 (as VirtualNetworkTests); results are read back with virsh.
@Suite("LibvirtDriver networks on a real libvirtd", .enabled(if: TestHost.shouldRun(), "needs a libvirt host: run scripts/host-up"))
struct LibvirtNetworkTests {
    static func spec(_ name: String, subnet: String, hosts: [Int] = []) -> NetworkSpec {
        let ip = { (last: Int) in IPv4Address(parsing: "\(subnet).\(last)")! }
        return NetworkSpec(name: name, host: "local", address: IPv4Interface(address: ip(1), prefix: 24),
                           dhcp: DHCPSpec(range: .init(start: ip(100), end: ip(150)),
                                          hosts: hosts.map { .init(mac: String(format: "52:54:00:19:00:%02x", $0), ip: ip($0)) }))
    }

    static func remove(_ name: String) {
        _ = try? TestHost.virsh("net-destroy", name)
        _ = try? TestHost.virsh("net-undefine", name)
    }

    @Test func createObserveUpdateLiveAndDelete() async throws {
        let name = TestHost.uniqueName("drvnet")
        let subnet = "198.19.\(Int.random(in: 0...199))"
        defer { Self.remove(name) }
        let driver = try await LibvirtDriver.connect(host: "local", uri: TestHost.uri)
        try await driver.createNetwork(Self.spec(name, subnet: subnet, hosts: [5]), owner: "state-1")
        let observed = try #require(try await driver.observeNetworks().first { $0.name == name })
        #expect(observed.isActive && observed.autostart)
        #expect(observed.owner?.state == "state-1" && observed.owner?.resource == name)
        var expected = Self.spec(name, subnet: subnet, hosts: [5])
        expected.bridge = observed.spec.bridge  // libvirt's choice
        #expect(observed.spec == expected)
        #expect(try await driver.dhcpLeases(network: name).isEmpty, "no guest asked yet")

        // Hosts and the range change on the running network; its persistent definition follows.
        var changed = Self.spec(name, subnet: subnet, hosts: [6, 7])
        changed.dhcp?.range = .init(start: IPv4Address(parsing: "\(subnet).160")!, end: IPv4Address(parsing: "\(subnet).170")!)
        try await driver.updateNetwork(changed, owner: "state-1", restart: false)
        for flags in [[], ["--inactive"]] {
            let xml = try TestHost.run("virsh", ["-c", TestHost.uri, "net-dumpxml"] + flags + [name])
            #expect(!xml.stdout.contains("52:54:00:19:00:05") && xml.stdout.contains("52:54:00:19:00:07"), "\(flags): \(xml.stdout)")
            #expect(xml.stdout.contains("<range start='\(subnet).160' end='\(subnet).170'/>"))
        }

        // Another state's call is refused, and so is a delete while a domain has a NIC on it.
        await #expect(throws: DriverError.self) { try await driver.deleteNetwork(name, owner: "state-2") }
        let domain = TestHost.uniqueName("drvnic")
        defer { TestHost.removeDomains([domain]) }
        var vm = VirtualMachineSpec(name: domain, host: "local", vcpus: 1, memory: .mebibytes(64), state: .stopped)
        vm.networks = [NetworkInterface(source: .network(name), mac: NetworkInterface.derivedMAC(vm: domain, index: 0))]
        try await driver.define(vm, owner: "state-1")
        let refused = await #expect(throws: DriverError.self) { try await driver.deleteNetwork(name, owner: "state-1") }
        #expect(refused?.message.contains("still used by a NIC of domain \(domain)") == true)
        TestHost.removeDomains([domain])

        try await driver.deleteNetwork(name, owner: "state-1")
        #expect(try TestHost.virsh("net-info", name).status != 0, "gone")
    }

    @Test func aNetworkWithoutTheMarkerIsNeverTouched() async throws {
        let name = TestHost.uniqueName("drvhand")
        defer { Self.remove(name) }
        let file = FileManager.default.temporaryDirectory.appendingPathComponent("\(name).xml")
        defer { try? FileManager.default.removeItem(at: file) }
        try "<network><name>\(name)</name><ip address='198.19.\(Int.random(in: 0...199)).1' prefix='24'/></network>".write(to: file, atomically: true, encoding: .utf8)
        #expect(try TestHost.virsh("net-define", file.path).status == 0)
        let before = try TestHost.virsh("net-dumpxml", "--inactive", name).stdout
        let driver = try await LibvirtDriver.connect(host: "local", uri: TestHost.uri)
        #expect(try await driver.observeNetworks().first { $0.name == name }?.owner == nil)
        await #expect(throws: DriverError.self) { try await driver.updateNetwork(Self.spec(name, subnet: "198.19.1"), owner: "s", restart: true) }
        await #expect(throws: DriverError.self) { try await driver.deleteNetwork(name, owner: "s") }
        await #expect(throws: DriverError.self) { try await driver.createNetwork(Self.spec(name, subnet: "198.19.1"), owner: "s") }
        #expect(try TestHost.virsh("net-dumpxml", "--inactive", name).stdout == before)
    }
}
