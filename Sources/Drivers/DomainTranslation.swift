import Spec

/// A domain as `vmplan import` reads it: its definition, and whether libvirtd starts it at boot.
public struct DomainSource: Sendable, Hashable {
    public var name: String
    public var uuid: String
    /// The persistent definition (`virsh dumpxml --inactive`).
    public var inactiveXML: String
    public var autostart: Bool
    public var isRunning: Bool

    public init(name: String, uuid: String, inactiveXML: String, autostart: Bool, isRunning: Bool) {
        self.name = name
        self.uuid = uuid
        self.inactiveXML = inactiveXML
        self.autostart = autostart
        self.isRunning = isRunning
    }
}

/// A domain translated into the resource model: the spec vmplan reads it as (the same reading every
/// plan makes, so a manifest of it plans no change), and what the schema cannot say about it.
public struct DomainTranslation: Sendable {
    /// Disks by path keep the path as their volume and an empty pool, for the caller to name.
    public var spec: VirtualMachineSpec
    public var owner: OwnershipMarker?
    public var unexpressed: [UnexpressedPart]
    /// NICs on libvirt networks, by network name: Network documents vmplan does not write yet.
    public var networkNames: [String]

    public var refusals: [String] { unexpressed.filter { $0.fate == .refused }.map(\.what) }

    public init(_ source: DomainSource, host: String, flavour: HypervisorKind) throws {
        let reader = try DomainXMLReader.read(source.inactiveXML)
        var spec = reader.spec(host: host, running: source.isRunning, autostart: source.autostart)
        var parts = try DomainAudit.audit(source.inactiveXML, reader: reader, flavour: flavour)
        // Only a full, declarable list of NICs can be owned; otherwise vmplan leaves them all alone.
        spec.networks = flavour == .kvm ? Self.expressibleNetworks(reader) : nil
        if spec.networks == nil, !reader.networks.isEmpty, flavour == .kvm {
            parts.append(UnexpressedPart(.kept, "networks: left out of the manifest (\(Self.undeclarable(reader.networks).joined(separator: "; "))); "
                + "vmplan leaves the NICs as they are"))
        }
        if flavour == .xen, !reader.disks.isEmpty {
            parts.append(UnexpressedPart(.refused, "disks on a Xen guest: vmplan does not write Xen disks yet, so a redefine would drop them"))
        }
        if !ResourceName.isValid(reader.name) {
            parts.append(UnexpressedPart(.refused, "the name '\(reader.name)' is not a valid VirtualMachine name: \(ResourceName.rule)"))
        }
        if let description = reader.description, description.unicodeScalars.contains(where: { $0.properties.generalCategory == .control && $0 != "\n" && $0 != "\t" }) {
            parts.append(UnexpressedPart(.refused, "description: it holds control characters a manifest cannot carry"))
        }
        self.spec = spec
        self.owner = reader.owner
        self.unexpressed = parts
        self.networkNames = reader.networks.compactMap { if case .network(let name) = $0.source { name } else { nil } }
    }

    /// The domain's network and bridge NICs as a manifest list, or nil when one cannot be declared
    /// (a model a manifest cannot name, a NIC without a MAC or source).
    static func expressibleNetworks(_ reader: DomainXMLReader) -> [NetworkInterface]? {
        guard !reader.networks.isEmpty, undeclarable(reader.networks).isEmpty else { return nil }
        return reader.networks
    }

    /// Why NICs cannot be written in a manifest, one reason each; empty when all can.
    static func undeclarable(_ nics: [NetworkInterface]) -> [String] {
        var reasons: [String] = []
        for (index, nic) in nics.enumerated() {
            let source = switch nic.source {
            case .network(let name), .bridge(let name): name
            }
            if !NICModel.declarable.contains(nic.model) {
                reasons.append("NIC \(index + 1): model \(nic.model.rawValue) is not one a manifest can name: "
                    + NICModel.declarable.map(\.rawValue).joined(separator: ", "))
            }
            if nic.mac.isEmpty { reasons.append("NIC \(index + 1): no MAC address vmplan can read") }
            if source.isEmpty { reasons.append("NIC \(index + 1): no network or bridge it is plugged into") }
        }
        return reasons
    }
}

extension LibvirtDriver {
    /// The named domains (every domain when `names` is empty), read for `vmplan import`.
    /// - Throws: `DriverError(.notFound)` naming a domain that is not on the host.
    public func importSources(named names: [String]) async throws -> [DomainSource] {
        try await blocking { [connection] in
            let domains = try names.isEmpty ? connection.allDomains() : names.map { try connection.domain(named: $0) }
            return try domains.map { domain in
                DomainSource(name: domain.name, uuid: domain.uuid.lowercased(), inactiveXML: try domain.xml(inactive: true),
                             autostart: try domain.autostart(), isRunning: domain.id != nil)
            }.sorted { $0.name < $1.name }
        }
    }
}
