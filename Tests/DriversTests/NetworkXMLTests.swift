import Foundation
import Testing
@testable import Drivers
import Spec

@Suite("Network XML")
struct NetworkXMLTests {
    static let lab = NetworkSpec(
        name: "lab", host: "kvm-01", mode: .isolated, bridge: "vmbr-lab", address: IPv4Interface(parsing: "198.18.0.1/24"),
        dhcp: DHCPSpec(range: .init(start: IPv4Address(parsing: "198.18.0.100")!, end: IPv4Address(parsing: "198.18.0.199")!),
                       hosts: [.init(mac: "52:54:00:00:00:05", ip: IPv4Address(parsing: "198.18.0.5")!, name: "web-1")]),
        domain: "lab.test", mtu: 9000)

    @Test func writtenWithTheMarkerAndReadBack() throws {
        let xml = try NetworkXML.make(for: Self.lab, uuid: "5b3f0a6e-0000-4000-8000-000000000001", owner: "state-1")
        #expect(xml == """
            <network>
              <name>lab</name>
              <uuid>5b3f0a6e-0000-4000-8000-000000000001</uuid>
              <metadata>
                <vmplan:resource xmlns:vmplan='urn:vmplan:1' name='lab' hash='\(Self.lab.specHash)' state='state-1'/>
              </metadata>
              <bridge name='vmbr-lab'/>
              <mtu size='9000'/>
              <domain name='lab.test' localOnly='yes'/>
              <ip address='198.18.0.1' prefix='24'>
                <dhcp>
                  <range start='198.18.0.100' end='198.18.0.199'/>
                  <host mac='52:54:00:00:00:05' name='web-1' ip='198.18.0.5'/>
                </dhcp>
              </ip>
            </network>

            """)
        let reading = try NetworkXML.read(xml, host: "kvm-01")
        #expect(reading.spec == Self.lab)
        #expect(reading.owner == OwnershipMarker(resource: "lab", specHash: Self.lab.specHash, state: "state-1"))
    }

    @Test func modesBecomeForwardElements() throws {
        var nat = Self.lab
        nat.mode = .nat
        #expect(try NetworkXML.make(for: nat, owner: "s").contains("<forward mode='nat'/>"))
        let bridged = NetworkSpec(name: "lan", host: "kvm-01", mode: .bridge, bridge: "br0")
        let xml = try NetworkXML.make(for: bridged, owner: "s")
        #expect(xml.contains("<forward mode='bridge'/>") && xml.contains("<bridge name='br0'/>") && !xml.contains("<ip"))
        #expect(try NetworkXML.read(xml, host: "kvm-01").spec == bridged)
    }

    /// What libvirt itself writes for its `default` network, and for networks made by hand.
    @Test func networksLibvirtWroteAreReadWithoutAMarker() throws {
        let xml = """
            <network>
              <name>default</name>
              <uuid>9d2b6a7c-2f6e-4c1e-9a3e-7f1b1d0c2a11</uuid>
              <forward mode='nat'><nat><port start='1024' end='65535'/></nat></forward>
              <bridge name='virbr0' stp='on' delay='0'/>
              <mac address='52:54:00:0a:0b:0c'/>
              <ip family='ipv6' address='fd00::1' prefix='64'/>
              <ip address='192.168.122.1' netmask='255.255.255.0'>
                <dhcp>
                  <range start='192.168.122.2' end='192.168.122.254'/>
                  <host mac='52:54:00:AA:BB:CC' ip='192.168.122.9'/>
                  <host name='noip'/>
                </dhcp>
              </ip>
            </network>
            """
        let reading = try NetworkXML.read(xml, host: "h")
        #expect(reading.owner == nil && reading.name == "default")
        #expect(reading.spec.mode == .nat && reading.spec.bridge == "virbr0")
        #expect(reading.spec.address?.description == "192.168.122.1/24", "a netmask becomes a prefix; the IPv6 address is not vmplan's")
        #expect(reading.spec.dhcp?.range?.description == "192.168.122.2-192.168.122.254")
        #expect(reading.spec.dhcp?.hosts == [.init(mac: "52:54:00:aa:bb:cc", ip: IPv4Address(parsing: "192.168.122.9")!)])
        #expect(try NetworkXML.read("<network><name>r</name><forward mode='route'/></network>", host: "h").spec.mode.rawValue == "route")
        #expect(try NetworkXML.read("<network><name>i</name><forward/></network>", host: "h").spec.mode == .nat, "libvirt's default forward mode")
    }

    @Test func whatTheLoaderWouldRefuseNeverReachesXML() {
        var bad = Self.lab
        bad.bridge = "br0'/><forward mode='nat"
        #expect(throws: DriverError.self) { try NetworkXML.make(for: bad, owner: "s") }
        bad = Self.lab
        bad.dhcp?.hosts[0].ip = IPv4Address(parsing: "198.18.1.5")!
        #expect(throws: DriverError.self) { try NetworkXML.make(for: bad, owner: "s") }
        bad = Self.lab
        bad.dhcp?.hosts[0].name = "a b"
        #expect(throws: DriverError.self) { try NetworkXML.make(for: bad, owner: "s") }
        bad = NetworkSpec(name: "lan", host: "h", mode: .bridge, bridge: "br0", mtu: 1400)
        #expect(throws: DriverError.self) { try NetworkXML.make(for: bad, owner: "s") }
    }

    @Test func theOwnerIsEscaped() throws {
        let xml = try NetworkXML.make(for: Self.lab, owner: "a'b&c")
        #expect(xml.contains("state='a&apos;b&amp;c'"))
        #expect(try NetworkXML.read(xml, host: "h").owner?.state == "a'b&c")
    }

    @Test func dhcpEntriesForVirNetworkUpdate() {
        #expect(NetworkXML.host(Self.lab.dhcp!.hosts[0]) == "<host mac='52:54:00:00:00:05' name='web-1' ip='198.18.0.5'/>\n")
        #expect(NetworkXML.range(Self.lab.dhcp!.range!) == "<range start='198.18.0.100' end='198.18.0.199'/>\n")
    }

    /// libvirt's own formatting of a network defined by hand and started (its MAC, STP and NAT port defaults).
    static let handMade = """
        <network>
          <name>office</name>
          <uuid>5b3f0a6e-0000-4000-8000-000000000002</uuid>
          <forward mode='nat'>
            <nat>
              <port start='1024' end='65535'/>
            </nat>
          </forward>
          <bridge name='virbr3' stp='on' delay='0'/>
          <mac address='52:54:00:9c:1f:22'/>
          <domain name='office.test' localOnly='yes'/>
          <ip address='198.18.3.1' netmask='255.255.255.0'>
            <dhcp>
              <range start='198.18.3.100' end='198.18.3.199'/>
              <host mac='52:54:00:00:00:07' ip='198.18.3.7'/>
            </dhcp>
          </ip>
        </network>

        """

    @Test func anImportAddsTheMarkerAndChangesNothingElse() throws {
        let spec = try NetworkXML.read(Self.handMade, host: "h").spec
        let marked = try NetworkXML.addingMarker(to: Self.handMade, for: spec, owner: "state-1")
        let reading = try NetworkXML.read(marked, host: "h")
        #expect(reading.owner == OwnershipMarker(resource: "office", specHash: spec.specHash, state: "state-1"))
        #expect(reading.spec == spec)
        let added = "  <metadata>\n    <vmplan:resource xmlns:vmplan='urn:vmplan:1' name='office' hash='\(spec.specHash)' state='state-1'/>\n  </metadata>\n"
        #expect(marked.replacingOccurrences(of: added, with: "") == Self.handMade, "\(marked)")
        // Another program's metadata stays beside the marker; a marked network is not marked again.
        let other = Self.handMade.replacingOccurrences(of: "</uuid>\n", with: "</uuid>\n  <metadata>\n    <x:y xmlns:x='urn:x'/>\n  </metadata>\n")
        let both = try NetworkXML.addingMarker(to: other, for: spec, owner: "state-1")
        #expect(both.contains("<x:y xmlns:x='urn:x'/>\n    <vmplan:resource") && both.components(separatedBy: "<metadata>").count == 2, "\(both)")
        #expect(throws: DriverError.self) { try NetworkXML.addingMarker(to: marked, for: spec, owner: "state-1") }
    }

    @Test func theAuditPassesWhatADocumentSaysAndNamesWhatItCannot() throws {
        #expect(try NetworkAudit.audit(Self.handMade, what: "network office") == [])
        let routed = Self.handMade.replacingOccurrences(of: "<forward mode='nat'>", with: "<forward mode='route' dev='eth0'>")
            .replacingOccurrences(of: "localOnly='yes'", with: "")
            .replacingOccurrences(of: "</ip>\n", with: "</ip>\n  <ip family='ipv6' address='fd00::1' prefix='64'/>\n  <dns><forwarder addr='9.9.9.9'/></dns>\n")
        #expect(try NetworkAudit.audit(routed, what: "network office") == [
            "forward mode route: a Network is isolated (no forward), nat or bridge",
            "domain office.test without localOnly='yes': vmplan's networks answer for their DNS domain themselves",
            "an IPv6 address (fd00::1): a Network has one IPv4 address",
            "<dns>: a Network document has no field for it",
            "<dns><forwarder>: a Network document has no field for it",
        ])
        let translation = try NetworkTranslation(NetworkSource(name: "office", uuid: "5B3F0A6E-0000-4000-8000-000000000002", inactiveXML: Self.handMade,
                                                               isActive: true, autostart: true), host: "h")
        #expect(translation.refusals.isEmpty && translation.owner == nil)
        #expect(translation.spec.importing == NetworkImport(uuid: "5b3f0a6e-0000-4000-8000-000000000002"))
        #expect(translation.spec.mode == .nat && translation.spec.bridge == "virbr3" && translation.spec.address?.description == "198.18.3.1/24")
    }
}
