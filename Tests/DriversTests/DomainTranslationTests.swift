import Testing
import Drivers
import Spec

/// What `vmplan import` makes of a domain's NICs, from its XML alone.
@Suite("Domain translation: NICs")
struct DomainTranslationTests {
    func translate(_ interfaces: String) throws -> DomainTranslation {
        let xml = """
            <domain type='kvm'><name>nics</name><memory unit='MiB'>64</memory><vcpu>1</vcpu>
            <os><type arch='x86_64'>hvm</type></os><devices>\(interfaces)</devices></domain>
            """
        return try DomainTranslation(DomainSource(name: "nics", uuid: "u", inactiveXML: xml, autostart: false, isRunning: false),
                                     host: "h", flavour: .kvm)
    }

    @Test func declarableNICsAreWrittenWithTheirMACs() throws {
        let translation = try translate("""
            <interface type='network'><mac address='52:54:00:00:00:01'/><source network='lan'/><model type='virtio'/></interface>
            """)
        #expect(translation.spec.networks?.map(\.mac) == ["52:54:00:00:00:01"])
        #expect(!translation.unexpressed.contains { $0.what.hasPrefix("networks:") })
    }

    @Test func eachNICThatCannotBeWrittenSaysWhy() throws {
        let translation = try translate("""
            <interface type='network'><mac address='52:54:00:00:00:01'/><source network='lan'/><model type='ne2k_pci'/></interface>
            <interface type='network'><source network='lan'/><model type='virtio'/></interface>
            """)
        #expect(translation.spec.networks == nil, "the NICs are left as they are")
        let part = try #require(translation.unexpressed.first { $0.what.hasPrefix("networks:") })
        #expect(part.fate == .kept)
        #expect(part.what.contains("NIC 1: model ne2k_pci is not one a manifest can name"), "\(part.what)")
        #expect(part.what.contains("NIC 2: no MAC address vmplan can read"), "\(part.what)")
        #expect(!part.what.contains("NIC 2: model"), "\(part.what)")
    }
}
