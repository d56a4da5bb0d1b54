/// One entry of `VirtualMachine.spec.networks`: a NIC on a libvirt network or a host bridge.
public struct NetworkInterface: Hashable, Sendable, Codable {
    /// What the NIC is plugged into.
    public enum Source: Hashable, Sendable {
        /// A libvirt virtual network, by name (`default`, or a Network document).
        case network(String)
        /// A Linux bridge on the host (`br0`).
        case bridge(String)

        public var summary: String {
            switch self {
            case let .network(name): "network \(name)"
            case let .bridge(name): "bridge \(name)"
            }
        }
    }

    public var source: Source
    public var model: NICModel
    /// Lowercase `52:54:00:xx:xx:xx`: pinned in the manifest or derived from the VM's name and the entry's index.
    public var mac: String

    public init(source: Source, model: NICModel = .virtio, mac: String) {
        self.source = source
        self.model = model
        self.mac = mac
    }

    /// `network lab virtio 52:54:00:12:34:56`
    public var summary: String { "\(source.summary) \(model.rawValue) \(mac)" }

    /// The MAC a VM's n-th NIC gets when the manifest pins none: libvirt's QEMU prefix 52:54:00 and three
    /// bytes of a name-based hash, so a redefine or a replace keeps the guest's address (and its DHCP lease).
    public static func derivedMAC(vm: String, index: Int) -> String {
        let digest = SHA1.hash(NameBasedUUID.vmplanNamespace + Array("nic/\(vm)/\(index)".utf8))
        return (["52", "54", "00"] + digest.prefix(3).map { hexByte($0) }).joined(separator: ":")
    }

    /// `aa:bb:cc:dd:ee:ff` (either case, `-` also accepted) as lowercase with colons; nil when not a MAC.
    public static func canonicalMAC(_ text: String) -> String? {
        let parts = text.split(separator: text.contains("-") ? "-" : ":", omittingEmptySubsequences: false)
        guard parts.count == 6, parts.allSatisfy({ $0.count == 2 && $0.allSatisfy(\.isHexDigit) }) else { return nil }
        return parts.map { $0.lowercased() }.joined(separator: ":")
    }

    /// A multicast MAC (lowest bit of the first byte set) cannot be a NIC's address.
    public static func isUnicast(_ mac: String) -> Bool {
        guard let first = UInt8(mac.prefix(2), radix: 16) else { return false }
        return first & 1 == 0
    }

    private static func hexByte(_ byte: UInt8) -> String {
        let digits = String(byte, radix: 16)
        return digits.count == 1 ? "0" + digits : digits
    }

    enum CodingKeys: String, CodingKey { case network, bridge, model, mac }

    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        if let bridge = try c.decodeIfPresent(String.self, forKey: .bridge) {
            source = .bridge(bridge)
        } else {
            source = .network(try c.decode(String.self, forKey: .network))
        }
        model = try c.decodeIfPresent(NICModel.self, forKey: .model) ?? .virtio
        mac = try c.decode(String.self, forKey: .mac)
    }

    public func encode(to encoder: Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        switch source {
        case let .network(name): try c.encode(name, forKey: .network)
        case let .bridge(name): try c.encode(name, forKey: .bridge)
        }
        try c.encode(model, forKey: .model)
        try c.encode(mac, forKey: .mac)
    }
}

/// The emulated NIC model. Manifests choose `virtio` or `e1000e`; a domain read back may show any
/// model libvirt knows (`rtl8139`), or `default` when its XML names none, so drift stays visible.
public struct NICModel: RawRepresentable, Hashable, Sendable, Codable {
    public var rawValue: String
    public init(rawValue: String) { self.rawValue = rawValue }

    public static let virtio = NICModel(rawValue: "virtio")
    public static let e1000e = NICModel(rawValue: "e1000e")
    /// What an `<interface>` without `<model>` is read as.
    public static let libvirtDefault = NICModel(rawValue: "default")
    /// The models a manifest may name.
    public static let declarable: [NICModel] = [.virtio, .e1000e]
}
