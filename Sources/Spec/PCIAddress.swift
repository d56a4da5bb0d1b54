/// A PCI function's address on the host, `0000:3b:00.0` (domain:bus:slot.function).
public struct PCIAddress: Sendable, Hashable, Comparable, CustomStringConvertible {
    public let domain: UInt16
    public let bus: UInt8
    /// The device number on the bus; PCI has 32 of them (0x00–0x1f).
    public let slot: UInt8
    /// 0–7.
    public let function: UInt8

    /// nil when `slot` or `function` is beyond what PCI can address.
    public init?(domain: UInt16, bus: UInt8, slot: UInt8, function: UInt8) {
        guard slot <= 0x1f, function <= 7 else { return nil }
        self.domain = domain
        self.bus = bus
        self.slot = slot
        self.function = function
    }

    /// Parses the full form only (`0000:3b:00.0`, hex digits in either case). The short
    /// `3b:00.0` that lspci prints is refused: the domain is not assumed.
    public init?(parsing text: String) {
        let parts = text.split(separator: ":", omittingEmptySubsequences: false)
        guard parts.count == 3 else { return nil }
        let slotAndFunction = parts[2].split(separator: ".", omittingEmptySubsequences: false)
        guard slotAndFunction.count == 2,
              let domain = Self.hex(parts[0], digits: 4).map(UInt16.init),
              let bus = Self.hex(parts[1], digits: 2).map(UInt8.init),
              let slot = Self.hex(slotAndFunction[0], digits: 2).map(UInt8.init),
              let function = Self.hex(slotAndFunction[1], digits: 1).map(UInt8.init)
        else { return nil }
        self.init(domain: domain, bus: bus, slot: slot, function: function)
    }

    /// Reads libvirt's node device name, `pci_0000_3b_00_0`.
    public init?(nodeDeviceName name: String) {
        let parts = name.split(separator: "_", omittingEmptySubsequences: false)
        guard parts.count == 5, parts[0] == "pci" else { return nil }
        self.init(parsing: "\(parts[1]):\(parts[2]):\(parts[3]).\(parts[4])")
    }

    /// Exactly `digits` hex digits; `UInt(_:radix:)` alone would accept a sign or any length.
    private static func hex(_ text: Substring, digits: Int) -> UInt? {
        guard text.count == digits, text.allSatisfy(\.isHexDigit) else { return nil }
        return UInt(text, radix: 16)
    }

    /// The canonical lowercase form, `0000:3b:00.0`.
    public var description: String {
        "\(Self.pad(domain, 4)):\(Self.pad(bus, 2)):\(Self.pad(slot, 2)).\(String(function, radix: 16))"
    }

    /// The name libvirt gives the function's node device, `pci_0000_3b_00_0`.
    public var nodeDeviceName: String {
        "pci_\(Self.pad(domain, 4))_\(Self.pad(bus, 2))_\(Self.pad(slot, 2))_\(String(function, radix: 16))"
    }

    private static func pad(_ value: some BinaryInteger, _ width: Int) -> String {
        let digits = String(value, radix: 16)
        return String(repeating: "0", count: max(0, width - digits.count)) + digits
    }

    public static func < (lhs: PCIAddress, rhs: PCIAddress) -> Bool {
        (lhs.domain, lhs.bus, lhs.slot, lhs.function) < (rhs.domain, rhs.bus, rhs.slot, rhs.function)
    }
}

/// Encoded as the canonical string, so recorded state and JSON read like lspci output.
extension PCIAddress: Codable {
    public init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        let text = try container.decode(String.self)
        guard let address = PCIAddress(parsing: text) else {
            throw DecodingError.dataCorruptedError(in: container, debugDescription: "not a PCI address (dddd:bb:ss.f): \(text)")
        }
        self = address
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(description)
    }
}
