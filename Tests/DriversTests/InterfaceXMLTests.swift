import Foundation
import Testing
import TestSupport
@testable import Drivers
import Spec

@Suite("Domain XML: NICs")
struct InterfaceXMLTests {
    let kvmHost = HostCapabilities(arch: "x86_64", hvmDomainTypes: ["qemu", "kvm"])

    func spec() -> VirtualMachineSpec {
        VirtualMachineSpec(name: "web-1", host: "kvm-01", vcpus: 1, memory: .mebibytes(64), networks: [
            NetworkInterface(source: .network("lab"), mac: NetworkInterface.derivedMAC(vm: "web-1", index: 0)),
            NetworkInterface(source: .bridge("br0"), model: .e1000e, mac: "52:54:00:ab:cd:ef"),
        ])
    }

    @Test func interfacesAreWrittenWithMACSourceAndModel() throws {
        let xml = try DomainXML.kvm(for: spec(), capabilities: kvmHost)
        let mac = NetworkInterface.derivedMAC(vm: "web-1", index: 0)
        #expect(xml.contains("<interface type='network'>"))
        #expect(xml.contains("<interface type='bridge'>"))
        #expect(xml.contains("<mac address='\(mac)'/>"))
        #expect(xml.contains("<source network='lab'/>"))
        #expect(xml.contains("<source bridge='br0'/>"))
        #expect(xml.contains("<model type='e1000e'/>"))
        #expect(xml.contains("<mac address='52:54:00:ab:cd:ef'/>"))
    }

    @Test func readsBackWhatItWrites() throws {
        let read = try DomainXMLReader.read(DomainXML.kvm(for: spec(), capabilities: kvmHost)).spec(host: "kvm-01", running: false)
        #expect(read.networks == spec().networks)
        #expect(read == { var s = spec(); s.state = .stopped; return s }())
    }

    @Test func whatLibvirtAddsIsIgnoredAndOtherInterfaceTypesAreNotRead() throws {
        let reader = try DomainXMLReader.read("""
            <domain type='kvm'><name>x</name><memory unit='KiB'>65536</memory><vcpu>1</vcpu><devices>
            <interface type='network'><mac address='52:54:00:AA:BB:CC'/><source network='lab' portid='1' bridge='virbr9'/>
            <target dev='vnet3'/><model type='virtio'/><alias name='net0'/>
            <address type='pci' domain='0x0000' bus='0x01' slot='0x00' function='0x0'/></interface>
            <interface type='bridge'><mac address='52:54:00:00:00:02'/><source bridge='br0'/></interface>
            <interface type='user'><mac address='52:54:00:00:00:03'/><model type='e1000'/></interface>
            </devices></domain>
            """)
        #expect(reader.networks == [
            NetworkInterface(source: .network("lab"), model: .virtio, mac: "52:54:00:aa:bb:cc"),
            NetworkInterface(source: .bridge("br0"), model: .libvirtDefault, mac: "52:54:00:00:00:02"),
        ])
        #expect(try DomainXMLReader.read("<domain type='kvm'><name>x</name><memory>1</memory><vcpu>1</vcpu></domain>")
            .spec(host: "h", running: false).networks == nil)
    }

    @Test func aManagedRedefineReplacesNetworkAndBridgeInterfacesButKeepsOthers() throws {
        let current = """
            <domain type='kvm'><name>web</name><devices>
            <interface type='network'><mac address='52:54:00:00:00:01'/><source network='default'/></interface>
            <interface type='bridge'><mac address='52:54:00:00:00:02'/><source bridge='br0'/></interface>
            <interface type='direct'><mac address='52:54:00:00:00:03'/><source dev='eth0' mode='bridge'/></interface>
            <rng model='virtio'><backend model='random'>/dev/urandom</backend></rng>
            </devices></domain>
            """
        let unmanaged = try UnmanagedDevices.extract(from: current)
        #expect(unmanaged.filter { $0.hasPrefix("<interface") }.count == 3, "without networks in the manifest every NIC is kept")
        let managed = try UnmanagedDevices.extract(from: current, managingInterfaces: true)
        #expect(managed.count == 2, "\(managed)")
        #expect(managed.first?.contains("type=\"direct\"") == true)
        #expect(managed.last?.hasPrefix("<rng") == true)
    }

    @Test func oneNICIsSentToAttachAndDetachAsItIsWritten() {
        let nic = NetworkInterface(source: .bridge("br-x"), model: .e1000e, mac: "52:54:00:00:00:09")
        #expect(InterfaceXML.xml(for: nic) == "<interface type='bridge'>\n  <mac address='52:54:00:00:00:09'/>\n  <source bridge='br-x'/>\n"
            + "  <model type='e1000e'/>\n</interface>\n")
        let noModel = NetworkInterface(source: .network("a&b"), model: .libvirtDefault, mac: "52:54:00:00:00:0a")
        #expect(InterfaceXML.xml(for: noModel) == "<interface type='network'>\n  <mac address='52:54:00:00:00:0a'/>\n  <source network='a&amp;b'/>\n</interface>\n",
                "a NIC read back without a model is detached without one")
    }

    @Test func nicsThatComeAndGoAreLiveAndOnesThatChangeAreNot() {
        let a = NetworkInterface(source: .network("lab"), mac: "52:54:00:00:00:01")
        let b = NetworkInterface(source: .bridge("br0"), mac: "52:54:00:00:00:02")
        let c = NetworkInterface(source: .bridge("br1"), mac: "52:54:00:00:00:03")
        func vm(_ nics: [NetworkInterface]?) -> VirtualMachineSpec {
            VirtualMachineSpec(name: "v", host: "h", vcpus: 1, memory: .mebibytes(64), networks: nics)
        }
        #expect(NICHotplug.isLive(from: vm([a]), to: vm([a, b])))
        #expect(NICHotplug.isLive(from: vm([a, b, c]), to: vm([c])))
        #expect(NICHotplug.isLive(from: vm([a, b]), to: vm([b, a])), "order is the config's business")
        #expect(NICHotplug.isLive(from: vm(nil), to: vm([a])))
        var changedModel = a
        changedModel.model = .e1000e
        #expect(!NICHotplug.isLive(from: vm([a, b]), to: vm([changedModel, b])))
        var changedSource = b
        changedSource.source = .bridge("br9")
        #expect(!NICHotplug.isLive(from: vm([a, b]), to: vm([a, changedSource, c])))
        let changes = NICHotplug.changes(from: vm([a, b]), to: vm([b, c]))
        #expect(changes.unplugged == [a] && changes.plugged == [c])
        #expect(NICHotplug.haveSameInterfaces(vm([a, b]), vm([b, a])) && !NICHotplug.haveSameInterfaces(vm([a]), vm([a, b])))
    }

    @Test func xenRefusesNetworks() {
        #expect(throws: DriverError.self) { try DomainXML.xen(for: spec(), capabilities: HostCapabilities(arch: "x86_64", hvmDomainTypes: ["xen"])) }
    }

    @Test(.enabled(if: TestHost.commandExists("virt-xml-validate"), "needs virt-xml-validate (apt libxml2-utils, libvirt-clients)"))
    func interfaceXMLValidatesAgainstLibvirtSchema() throws {
        let file = FileManager.default.temporaryDirectory.appendingPathComponent("vmplan-\(UUID().uuidString).xml")
        try DomainXML.kvm(for: spec(), capabilities: kvmHost).write(to: file, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(at: file) }
        let result = try TestHost.run("virt-xml-validate", [file.path, "domain"])
        #expect(result.status == 0, "\(result.stdout)\(result.stderr)")
    }
}
