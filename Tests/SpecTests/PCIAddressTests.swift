import Spec
import Foundation
import Testing

@Suite("PCIAddress")
struct PCIAddressTests {
    @Test("valid addresses", arguments: [
        ("0000:3b:00.0", 0x0000, 0x3b, 0x00, 0, "0000:3b:00.0"),
        ("0000:AF:1F.7", 0x0000, 0xaf, 0x1f, 7, "0000:af:1f.7"),
        ("10de:00:02.3", 0x10de, 0x00, 0x02, 3, "10de:00:02.3"),
        ("ffff:ff:00.1", 0xffff, 0xff, 0x00, 1, "ffff:ff:00.1"),
    ])
    func parses(text: String, domain: Int, bus: Int, slot: Int, function: Int, canonical: String) throws {
        let address = try #require(PCIAddress(parsing: text))
        #expect(address.domain == UInt16(domain))
        #expect(address.bus == UInt8(bus))
        #expect(address.slot == UInt8(slot))
        #expect(address.function == UInt8(function))
        #expect(address.description == canonical)
    }

    @Test("invalid addresses", arguments: [
        "",
        "3b:00.0",          // no domain
        "000:3b:00.0",      // short domain
        "00000:3b:00.0",    // long domain
        "0000:3b:0.0",      // short slot
        "0000:3b:00.00",    // two-digit function
        "0000:3b:00.8",     // function beyond 7
        "0000:3b:20.0",     // slot beyond 0x1f
        "0000:3g:00.0",     // not hex
        "0000:+b:00.0",     // sign
        "0000:3b:00:0",     // wrong separator
        "0000:3b.00.0",
        "0000:3b:00.0 ",    // trailing space
        "pci_0000_3b_00_0", // libvirt's node device name is not an address
        "0000:3b:00.0.0",
    ])
    func rejects(text: String) {
        #expect(PCIAddress(parsing: text) == nil)
    }

    @Test func memberwiseInitRejectsOutOfRangeSlotAndFunction() {
        #expect(PCIAddress(domain: 0, bus: 0, slot: 0x20, function: 0) == nil)
        #expect(PCIAddress(domain: 0, bus: 0, slot: 0, function: 8) == nil)
        #expect(PCIAddress(domain: 0, bus: 0x65, slot: 0x1f, function: 7)?.description == "0000:65:1f.7")
    }

    @Test func ordersByDomainBusSlotFunction() throws {
        let texts = ["0001:00:00.0", "0000:af:00.0", "0000:3b:00.1", "0000:3b:00.0", "0000:3b:01.0"]
        let sorted = try texts.map { try #require(PCIAddress(parsing: $0)) }.sorted().map(\.description)
        #expect(sorted == ["0000:3b:00.0", "0000:3b:00.1", "0000:3b:01.0", "0000:af:00.0", "0001:00:00.0"])
    }

    @Test func nodeDeviceName() throws {
        let address = try #require(PCIAddress(parsing: "0000:AF:02.1"))
        #expect(address.nodeDeviceName == "pci_0000_af_02_1")
    }

    @Test func codesAsCanonicalString() throws {
        let address = try #require(PCIAddress(parsing: "0000:3B:00.0"))
        let data = try JSONEncoder().encode([address])
        #expect(String(decoding: data, as: UTF8.self) == #"["0000:3b:00.0"]"#)
        #expect(try JSONDecoder().decode([PCIAddress].self, from: data) == [address])
        #expect(throws: DecodingError.self) {
            try JSONDecoder().decode([PCIAddress].self, from: Data(#"["0000:3b:00.9"]"#.utf8))
        }
    }
}
