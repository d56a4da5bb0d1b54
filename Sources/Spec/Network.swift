/// How a `kind: Network` reaches (or does not reach) the world. Manifests choose one of
/// `declarable`; a network read back from libvirt may show any forward mode (`route`, `open`).
public struct NetworkMode: RawRepresentable, Hashable, Sendable, Codable, CustomStringConvertible {
    public var rawValue: String
    public init(rawValue: String) { self.rawValue = rawValue }

    /// A bridge libvirt makes, without forwarding: guests reach each other and the host, nothing else.
    public static let isolated = NetworkMode(rawValue: "isolated")
    /// A bridge libvirt makes, with NAT to whatever the host routes to.
    public static let nat = NetworkMode(rawValue: "nat")
    /// An existing bridge on the host (`bridge: br0`): libvirt only plugs NICs into it.
    public static let bridge = NetworkMode(rawValue: "bridge")
    public static let declarable: [NetworkMode] = [.isolated, .nat, .bridge]

    /// Whether libvirt makes (and removes) the bridge, and runs DHCP and DNS on it.
    public var hasOwnBridge: Bool { self != .bridge }
    public var description: String { rawValue }
}

/// An IPv4 address, `198.18.0.1`.
public struct IPv4Address: Hashable, Sendable, Comparable, Codable, CustomStringConvertible {
    public var value: UInt32

    public init(_ value: UInt32) { self.value = value }

    /// Four decimal octets without leading zeros (`010` means octal to some tools, decimal to others).
    public init?(parsing text: String) {
        let parts = text.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count == 4 else { return nil }
        var value: UInt32 = 0
        for part in parts {
            guard (1...3).contains(part.count), part.allSatisfy({ $0.isASCII && $0.isNumber }),
                  part.count == 1 || part.first != "0", let octet = UInt32(part), octet <= 255 else { return nil }
            value = value << 8 | octet
        }
        self.value = value
    }

    public var description: String {
        [24, 16, 8, 0].map { String(value >> UInt32($0) & 0xFF) }.joined(separator: ".")
    }

    public static func < (lhs: IPv4Address, rhs: IPv4Address) -> Bool { lhs.value < rhs.value }

    public init(from decoder: any Decoder) throws {
        let text = try decoder.singleValueContainer().decode(String.self)
        guard let address = IPv4Address(parsing: text) else {
            throw DecodingError.dataCorrupted(.init(codingPath: decoder.codingPath, debugDescription: "not an IPv4 address: \(text)"))
        }
        self = address
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(description)
    }
}

/// An address with its prefix length, `198.18.0.1/24`: the host's address on a network, and so its subnet.
public struct IPv4Interface: Hashable, Sendable, Codable, CustomStringConvertible {
    public var address: IPv4Address
    public var prefix: Int

    /// The prefixes a Network may have: a /8 at most, and room for the host and one guest at least.
    public static let prefixes = 8...30

    public init(address: IPv4Address, prefix: Int) {
        self.address = address
        self.prefix = prefix
    }

    /// `198.18.0.1/24`; nil when it is not an address, a slash and a prefix length of 0 to 32.
    public init?(parsing text: String) {
        let parts = text.split(separator: "/", omittingEmptySubsequences: false)
        guard parts.count == 2, let address = IPv4Address(parsing: String(parts[0])),
              parts[1].allSatisfy({ $0.isASCII && $0.isNumber }), (1...2).contains(parts[1].count),
              let prefix = Int(parts[1]), prefix <= 32 else { return nil }
        self.init(address: address, prefix: prefix)
    }

    private var mask: UInt32 { prefix == 0 ? 0 : UInt32.max << UInt32(32 - prefix) }
    /// The subnet's own address, `198.18.0.0`.
    public var network: IPv4Address { IPv4Address(address.value & mask) }
    public var broadcast: IPv4Address { IPv4Address(address.value | ~mask) }
    /// The subnet, `198.18.0.0/24`.
    public var subnet: String { "\(network)/\(prefix)" }

    public func contains(_ other: IPv4Address) -> Bool { other.value & mask == network.value }

    /// An address a guest may have: in the subnet, neither its network nor its broadcast address.
    public func isHostAddress(_ other: IPv4Address) -> Bool { contains(other) && other != network && other != broadcast }

    public func overlaps(_ other: IPv4Interface) -> Bool { contains(other.network) || other.contains(network) }

    public var description: String { "\(address)/\(prefix)" }

    public init(from decoder: any Decoder) throws {
        let text = try decoder.singleValueContainer().decode(String.self)
        guard let value = IPv4Interface(parsing: text) else {
            throw DecodingError.dataCorrupted(.init(codingPath: decoder.codingPath, debugDescription: "not an IPv4 address/prefix: \(text)"))
        }
        self = value
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(description)
    }
}

/// `Network.spec.dhcp`: addresses dnsmasq hands out, and fixed ones by MAC.
public struct DHCPSpec: Hashable, Sendable, Codable {
    public struct Range: Hashable, Sendable, Codable, CustomStringConvertible {
        public var start: IPv4Address
        public var end: IPv4Address

        public init(start: IPv4Address, end: IPv4Address) {
            self.start = start
            self.end = end
        }

        public var description: String { "\(start)-\(end)" }
    }

    /// A guest that always gets `ip` (and, when given, the DNS name `name`).
    public struct Host: Hashable, Sendable, Codable, CustomStringConvertible {
        /// Lowercase, colon-separated.
        public var mac: String
        public var ip: IPv4Address
        public var name: String?

        public init(mac: String, ip: IPv4Address, name: String? = nil) {
            self.mac = mac
            self.ip = ip
            self.name = name
        }

        /// `52:54:00:12:34:56=198.18.0.5 (web-1)`
        public var description: String { "\(mac)=\(ip)" + (name.map { " (\($0))" } ?? "") }
    }

    public var range: Range?
    /// In the order libvirt keeps them: by MAC, so that a reordered list is no change.
    public var hosts: [Host]

    public init(range: Range? = nil, hosts: [Host] = []) {
        self.range = range
        self.hosts = hosts.sorted { $0.mac < $1.mac }
    }

    private enum CodingKeys: String, CodingKey { case range, hosts }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        self.init(range: try container.decodeIfPresent(Range.self, forKey: .range),
                  hosts: try container.decodeIfPresent([Host].self, forKey: .hosts) ?? [])
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encodeIfPresent(range, forKey: .range)
        if !hosts.isEmpty { try container.encode(hosts, forKey: .hosts) }
    }
}

/// A `kind: Network` document: a libvirt virtual network on one host (docs/networks.md).
public struct NetworkSpec: Hashable, Sendable, Codable {
    public var name: String
    public var host: String
    public var mode: NetworkMode
    /// The bridge's interface name: the existing one for `mode: bridge`; otherwise the one libvirt
    /// makes, nil letting libvirt choose (`virbrN`), which is then never a difference.
    public var bridge: String?
    /// The host's address and the subnet; nil for a network without IP (layer 2 only).
    public var address: IPv4Interface?
    public var dhcp: DHCPSpec?
    /// The DNS domain dnsmasq answers for guests' names (`lab.test`); queries for it never leave the host.
    public var domain: String?
    /// The bridge's MTU; nil leaves libvirt's default (1500).
    public var mtu: Int?
    /// The existing network this Network takes over (`vmplan import`). Only read while the network is
    /// not recorded; never part of the recorded spec or its hash.
    public var importing: NetworkImport?

    private enum CodingKeys: String, CodingKey { case name, host, mode, bridge, address, dhcp, domain, mtu }

    /// What Linux takes as an interface's MTU.
    public static let mtuRange = 68...65535

    public init(name: String, host: String, mode: NetworkMode = .isolated, bridge: String? = nil, address: IPv4Interface? = nil,
                dhcp: DHCPSpec? = nil, domain: String? = nil, mtu: Int? = nil, importing: NetworkImport? = nil) {
        self.name = name
        self.host = host
        self.mode = mode
        self.bridge = bridge
        self.address = address
        self.dhcp = dhcp
        self.domain = domain
        self.mtu = mtu
        self.importing = importing
    }

    /// The fingerprint of the spec's canonical JSON, as recorded and written into the network's marker.
    public var specHash: String { Fingerprint.of(self) }

    /// For plans: `isolated 198.18.0.1/24, DHCP 198.18.0.100-198.18.0.199, 1 static host`, `bridge br0`.
    public var shortDescription: String {
        guard mode.hasOwnBridge else { return "\(mode) \(bridge ?? "?")" }
        var parts = ["\(mode) \(address?.description ?? "without IP")"]
        if let range = dhcp?.range { parts.append("DHCP \(range)") }
        if let count = dhcp?.hosts.count, count > 0 { parts.append("\(count) static host\(count == 1 ? "" : "s")") }
        return parts.joined(separator: ", ")
    }

    /// What plans, drift checks and saved plans compare, by field name; an absent value is left out.
    /// With `bridgeOf` (what libvirt chose), a spec that leaves the bridge to libvirt takes that one.
    public func fieldValues(bridgeOf observed: NetworkSpec? = nil) -> [NetworkField: String] {
        var values: [NetworkField: String] = [.mode: mode.rawValue]
        values[.bridge] = bridge ?? (mode.hasOwnBridge ? observed?.bridge : nil)
        values[.address] = address?.description
        values[.dhcpRange] = dhcp?.range?.description
        if let hosts = dhcp?.hosts, !hosts.isEmpty { values[.dhcpHosts] = hosts.map(\.description).joined(separator: ", ") }
        values[.domain] = domain
        values[.mtu] = mtu.map(String.init)
        return values
    }
}

/// `Network.spec.import`: the network, by libvirt's UUID, that a Network adopts instead of creating
/// one. A network of the same name with another UUID is never taken (docs/import.md).
public struct NetworkImport: Hashable, Sendable {
    /// Lowercase `xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx`.
    public var uuid: String

    public init(uuid: String) {
        self.uuid = uuid
    }
}

/// The fields of a Network that plans show, in the order they are shown.
public enum NetworkField: String, Sendable, Codable, Hashable, CaseIterable {
    case mode, bridge, address
    case dhcpRange = "dhcp.range"
    case dhcpHosts = "dhcp.hosts"
    case domain, mtu

    /// What libvirt changes on a running network (`virNetworkUpdate`); the others need it stopped
    /// and started again. A range only when there is one before and after: DHCP itself starting or
    /// stopping needs dnsmasq started again with another configuration.
    public static func isLive(_ field: NetworkField, from old: NetworkSpec, to new: NetworkSpec) -> Bool {
        switch field {
        case .dhcpHosts: old.dhcp != nil && new.dhcp != nil
        case .dhcpRange: old.dhcp?.range != nil && new.dhcp?.range != nil
        default: false
        }
    }
}

/// What a Network's names must be: they reach libvirt's XML, the host's interfaces and dnsmasq's configuration.
public enum NetworkNames {
    /// Linux interface names are at most 15 bytes (IFNAMSIZ less the terminator).
    public static let maximumBridgeLength = 15
    public static let bridgeRule = "1 to 15 letters, digits, '.', '_' or '-', starting with a letter or digit (a Linux interface name)"

    public static func isValidBridge(_ name: String) -> Bool {
        guard let first = name.unicodeScalars.first, name.utf8.count <= maximumBridgeLength, isAlphanumeric(first) else { return false }
        return name.unicodeScalars.allSatisfy { isAlphanumeric($0) || "._-".unicodeScalars.contains($0) }
    }

    public static let domainRule = "a DNS name such as lab.test: labels of 1 to 63 letters, digits or '-' (not first or last), "
        + "separated by '.', 253 characters at most"

    public static func isValidDomain(_ name: String) -> Bool {
        guard !name.isEmpty, name.utf8.count <= 253 else { return false }
        return name.split(separator: ".", omittingEmptySubsequences: false).allSatisfy { isValidLabel(String($0)) }
    }

    public static let hostNameRule = "a DNS label such as web-1: 1 to 63 letters, digits or '-', not first or last"

    /// One DNS label: a DHCP host's name.
    public static func isValidLabel(_ label: String) -> Bool {
        guard let first = label.unicodeScalars.first, let last = label.unicodeScalars.last, label.utf8.count <= 63,
              isAlphanumeric(first), isAlphanumeric(last) else { return false }
        return label.unicodeScalars.allSatisfy { isAlphanumeric($0) || $0 == "-" }
    }

    private static func isAlphanumeric(_ s: Unicode.Scalar) -> Bool {
        ("a"..."z").contains(s) || ("A"..."Z").contains(s) || ("0"..."9").contains(s)
    }
}
