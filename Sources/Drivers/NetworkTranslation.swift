import Spec

/// A libvirt network as `vmplan import` reads it.
public struct NetworkSource: Sendable, Hashable {
    public var name: String
    public var uuid: String
    /// The persistent definition (`virsh net-dumpxml --inactive`).
    public var inactiveXML: String
    public var isActive: Bool
    public var autostart: Bool

    public init(name: String, uuid: String, inactiveXML: String, isActive: Bool, autostart: Bool) {
        self.name = name
        self.uuid = uuid
        self.inactiveXML = inactiveXML
        self.isActive = isActive
        self.autostart = autostart
    }
}

/// A network translated into a Network document: the spec vmplan reads it as (the reading every plan
/// makes), and why a document cannot say it. vmplan rewrites a network's whole definition from the
/// document when it changes it, so anything the document cannot say would be lost then: such a
/// network is left to be used by name instead of being imported.
public struct NetworkTranslation: Sendable {
    public var spec: NetworkSpec
    public var owner: OwnershipMarker?
    /// Parts of the definition a Network cannot express; empty when a document says all of it.
    public var refusals: [String]

    public init(_ source: NetworkSource, host: String) throws {
        let reading = try NetworkXML.read(source.inactiveXML, host: host)
        spec = reading.spec
        spec.importing = NetworkImport(uuid: source.uuid.lowercased())
        owner = reading.owner
        refusals = try NetworkAudit.audit(source.inactiveXML, what: "network \(source.name)")
        if !ResourceName.isValid(reading.name) {
            refusals.insert("the name '\(reading.name)' is not a valid Network name: \(ResourceName.rule)", at: 0)
        }
    }
}

/// What of a network's definition `NetworkXML.make` would not write again. Values libvirt assigns
/// (UUID, the bridge's MAC, its STP defaults, NAT's default port range) are not listed.
enum NetworkAudit {
    static func audit(_ xml: String, what: String) throws -> [String] {
        var refusals: [String] = []
        var ipCount = 0, rangeCount = 0
        func refuse(_ text: String) { if !refusals.contains(text) { refusals.append(text) } }
        func extra(_ attributes: [String: String], allowed: Set<String>) -> String? {
            let names = attributes.keys.filter { !allowed.contains($0) && !$0.hasPrefix("xmlns") }.sorted()
            return names.isEmpty ? nil : names.map { "\($0)='\(attributes[$0] ?? "")'" }.joined(separator: " ")
        }
        try XMLPathReader.read(xml, what: what) { path, attributes in
            let element = path.last ?? ""
            switch Array(path.dropFirst()) {
            case []:
                if let extra = extra(attributes, allowed: ["connections"]) { refuse("<network \(extra)>") }
            case ["name"], ["uuid"], ["mac"], ["metadata"]:
                break
            case let inside where inside.first == "metadata":
                // vmplan rewrites <metadata> with its marker alone when it changes the network.
                if inside.count == 2, !element.hasPrefix("{\(OwnershipMarker.namespace)}") {
                    refuse("metadata \(element) (another program's): lost when vmplan redefines the network")
                }
            case ["forward"]:
                let mode = attributes["mode"] ?? "nat"
                if mode != "nat", mode != "bridge" {
                    refuse("forward mode \(mode): a Network is isolated (no forward), nat or bridge")
                } else if let extra = extra(attributes, allowed: ["mode"]) {
                    refuse("<forward \(extra)>: a Network forwards through whatever the host routes to")
                }
            case ["forward", "nat"]:
                if let extra = extra(attributes, allowed: []) { refuse("<nat \(extra)>") }
            case ["forward", "nat", "port"]:
                if attributes["start"] != "1024" || attributes["end"] != "65535" {
                    refuse("NAT ports \(attributes["start"] ?? "?")-\(attributes["end"] ?? "?") (vmplan leaves libvirt's 1024-65535)")
                }
            case ["bridge"]:
                if let extra = extra(attributes, allowed: ["name", "stp", "delay"]) { refuse("<bridge \(extra)>") }
                if (attributes["stp"] ?? "on") != "on" || (attributes["delay"] ?? "0") != "0" {
                    refuse("bridge stp='\(attributes["stp"] ?? "on")' delay='\(attributes["delay"] ?? "0")' (vmplan leaves libvirt's stp on, delay 0)")
                }
            case ["mtu"]:
                if let extra = extra(attributes, allowed: ["size"]) { refuse("<mtu \(extra)>") }
            case ["domain"]:
                if attributes["localOnly"] != "yes" {
                    refuse("domain \(attributes["name"] ?? "") without localOnly='yes': vmplan's networks answer for their DNS domain themselves")
                }
                if let extra = extra(attributes, allowed: ["name", "localOnly"]) { refuse("<domain \(extra)>") }
            case ["ip"]:
                ipCount += 1
                if (attributes["family"] ?? "ipv4") != "ipv4" {
                    refuse("an IPv6 address (\(attributes["address"] ?? "?")): a Network has one IPv4 address")
                } else if ipCount > 1 {
                    refuse("a second IPv4 address (\(attributes["address"] ?? "?")): a Network has one")
                } else if let extra = extra(attributes, allowed: ["address", "prefix", "netmask", "family"]) {
                    refuse("<ip \(extra)>")
                }
            case ["ip", "dhcp"]:
                break
            case ["ip", "dhcp", "range"]:
                rangeCount += 1
                if rangeCount > 1 { refuse("a second DHCP range: a Network has one") }
                if let extra = extra(attributes, allowed: ["start", "end"]) { refuse("<range \(extra)>") }
            case ["ip", "dhcp", "host"]:
                if attributes["mac"] == nil || attributes["ip"] == nil {
                    refuse("a DHCP host without both a MAC and an address (\(attributes.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: " ")))")
                } else if let extra = extra(attributes, allowed: ["mac", "ip", "name"]) {
                    refuse("<host \(extra)> in DHCP")
                }
            default:
                // <dns>, <route>, <portgroup>, <bandwidth>, <virtualport>, <tftp>, DHCP lease times, …
                refuse("<\(path.dropFirst().joined(separator: "><"))>: a Network document has no field for it")
            }
        } end: { _, _ in }
        return refusals
    }
}

extension LibvirtDriver {
    /// The host's networks, read for `vmplan import`.
    public func importNetworkSources() async throws -> [NetworkSource] {
        try await blocking { [connection] in
            var sources: [NetworkSource] = []
            for network in try connection.allNetworks() {
                // A network someone else removes between the listing and these reads is skipped.
                do {
                    sources.append(NetworkSource(name: network.name, uuid: network.uuid.lowercased(), inactiveXML: try network.xml(inactive: true),
                                                 isActive: network.isActive, autostart: try network.autostart()))
                } catch let error as DriverError where error.code == .notFound {
                    continue
                }
            }
            return sources.sorted { $0.name < $1.name }
        }
    }
}
