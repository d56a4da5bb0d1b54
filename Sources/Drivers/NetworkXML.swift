import Spec

/// Network XML, written through the escaping `XMLWriter` and read back with `XMLPathReader`.
/// vmplan's networks carry the domains' ownership marker in `<metadata>`.
enum NetworkXML {
    /// - Parameter uuid: the existing network's UUID when redefining it; nil lets libvirt choose one.
    /// - Parameter owner: the id of the state the marker names.
    static func make(for spec: NetworkSpec, uuid: String? = nil, owner: String) throws -> String {
        try validate(spec)
        var xml = XMLWriter()
        xml.open("network")
        xml.element("name", text: spec.name)
        if let uuid { xml.element("uuid", text: uuid) }
        xml.open("metadata")
        writeMarker(for: spec, owner: owner, into: &xml)
        xml.close()
        switch spec.mode {
        case .nat: xml.element("forward", [("mode", "nat")])
        case .bridge: xml.element("forward", [("mode", "bridge")])
        default: break  // isolated: no <forward>, so nothing leaves the network
        }
        if let bridge = spec.bridge { xml.element("bridge", [("name", bridge)]) }
        if let mtu = spec.mtu { xml.element("mtu", [("size", String(mtu))]) }
        // localOnly: dnsmasq answers for the domain itself and never asks the host's resolvers.
        if let domain = spec.domain { xml.element("domain", [("name", domain), ("localOnly", "yes")]) }
        if let address = spec.address {
            xml.open("ip", [("address", address.address.description), ("prefix", String(address.prefix))])
            if let dhcp = spec.dhcp {
                xml.open("dhcp")
                if let range = dhcp.range { xml.element("range", rangeAttributes(range)) }
                for host in dhcp.hosts { xml.element("host", hostAttributes(host)) }
                xml.close()
            }
            xml.close()
        }
        xml.close()
        return xml.text
    }

    private static func writeMarker(for spec: NetworkSpec, owner: String, into xml: inout XMLWriter) {
        xml.element("vmplan:resource", [("xmlns:vmplan", OwnershipMarker.namespace), ("name", spec.name),
                                        ("hash", spec.specHash), ("state", owner)])
    }

    /// A network's own definition with vmplan's marker added to its `<metadata>` and nothing else
    /// changed: how an import takes over a network (libvirt 9.0 has no virNetworkSetMetadata).
    /// - Throws: when the definition already has a marker, or would read back otherwise than before.
    static func addingMarker(to definition: String, for spec: NetworkSpec, owner: String) throws -> String {
        let before = try read(definition, host: spec.host)
        guard before.owner == nil else { throw DriverError(.notOwned, "network \(before.name) already carries vmplan's marker; it was left untouched") }
        var marker = XMLWriter()
        writeMarker(for: spec, owner: owner, into: &marker)
        let element = marker.text.trimmingCharacters(in: .whitespacesAndNewlines)
        // libvirt writes <metadata> right after <uuid>, and an empty one as <metadata/>.
        let result: String
        if let end = definition.range(of: "</metadata>") {
            result = definition.replacingCharacters(in: end.lowerBound..<end.lowerBound, with: "  " + element + "\n  ")
        } else if let empty = definition.range(of: "<metadata/>") {
            result = definition.replacingCharacters(in: empty, with: "<metadata>\n    \(element)\n  </metadata>")
        } else if let uuid = definition.range(of: "</uuid>") {
            result = definition.replacingCharacters(in: uuid.upperBound..<uuid.upperBound, with: "\n  <metadata>\n    \(element)\n  </metadata>")
        } else {
            throw DriverError(.operation, "network \(before.name): its definition has no <uuid> to place vmplan's marker after; it was left untouched")
        }
        let after = try read(result, host: spec.host)
        guard after.owner?.resource == spec.name, after.name == before.name, after.spec == before.spec else {
            throw DriverError(.operation, "network \(before.name): adding vmplan's marker would change its definition; it was left untouched")
        }
        return result
    }

    /// `<range>` and `<host>` alone, as `virNetworkUpdate` takes them.
    static func range(_ range: DHCPSpec.Range) -> String {
        var xml = XMLWriter()
        xml.element("range", rangeAttributes(range))
        return xml.text
    }

    static func host(_ host: DHCPSpec.Host) -> String {
        var xml = XMLWriter()
        xml.element("host", hostAttributes(host))
        return xml.text
    }

    private static func rangeAttributes(_ range: DHCPSpec.Range) -> [(String, String)] {
        [("start", range.start.description), ("end", range.end.description)]
    }

    private static func hostAttributes(_ host: DHCPSpec.Host) -> [(String, String)] {
        [("mac", host.mac)] + (host.name.map { [("name", $0)] } ?? []) + [("ip", host.ip.description)]
    }

    /// The load-time rules once more, for specs that did not come through the manifest loader.
    private static func validate(_ spec: NetworkSpec) throws {
        func refuse(_ what: String) -> DriverError { DriverError(.invalidInput, "network '\(spec.name)': \(what)") }
        guard ResourceName.isValid(spec.name) else { throw refuse("not a valid name: \(ResourceName.rule)") }
        guard NetworkMode.declarable.contains(spec.mode) else { throw refuse("mode \(spec.mode) is not one vmplan writes") }
        if let bridge = spec.bridge, !NetworkNames.isValidBridge(bridge) { throw refuse("bridge '\(bridge)' is not \(NetworkNames.bridgeRule)") }
        if let domain = spec.domain, !NetworkNames.isValidDomain(domain) { throw refuse("domain '\(domain)' is not \(NetworkNames.domainRule)") }
        if spec.mode == .bridge, spec.bridge == nil || spec.address != nil || spec.dhcp != nil || spec.domain != nil || spec.mtu != nil {
            throw refuse("mode: bridge takes a bridge and nothing else")
        }
        if let mtu = spec.mtu, !NetworkSpec.mtuRange.contains(mtu) { throw refuse("mtu \(mtu) is out of range") }
        guard let dhcp = spec.dhcp else { return }
        guard let address = spec.address else { throw refuse("dhcp needs an address") }
        let guests = [dhcp.range?.start, dhcp.range?.end].compactMap { $0 } + dhcp.hosts.map(\.ip)
        if let outside = guests.first(where: { !address.isHostAddress($0) || $0 == address.address }) {
            throw refuse("\(outside) is not a guest address of \(address.subnet)")
        }
        for host in dhcp.hosts {
            guard NetworkInterface.canonicalMAC(host.mac) == host.mac, host.name.map(NetworkNames.isValidLabel) ?? true else {
                throw refuse("DHCP host \(host) has an invalid MAC or name")
            }
        }
    }

    /// What vmplan reads back from a network's XML: its marker and the fields a Network has.
    struct Reading: Sendable {
        var name = ""
        var owner: OwnershipMarker?
        var spec: NetworkSpec
    }

    /// - Parameter host: the Host name the read spec is given.
    /// Only the first IPv4 `<ip>` and its first range are read: the most a Network declares.
    static func read(_ xml: String, host: String) throws -> Reading {
        var reading = Reading(spec: NetworkSpec(name: "", host: host))
        var forward: String?
        var ipIndex = 0  // IPv4 <ip> elements seen
        var inFirstIPv4 = false
        var dhcp: DHCPSpec?
        var hosts: [DHCPSpec.Host] = []
        let marker = "{\(OwnershipMarker.namespace)}resource"
        try XMLPathReader.read(xml, what: "network") { path, attributes in
            switch path {
            case ["network", "metadata", marker]:
                if let resource = attributes["name"] {
                    reading.owner = OwnershipMarker(resource: resource, specHash: attributes["hash"] ?? "", state: attributes["state"])
                }
            case ["network", "forward"]: forward = attributes["mode"] ?? "nat"  // libvirt's default forward mode
            case ["network", "bridge"]: reading.spec.bridge = attributes["name"]
            case ["network", "mtu"]: reading.spec.mtu = attributes["size"].flatMap(Int.init)
            case ["network", "domain"]: reading.spec.domain = attributes["name"]
            case ["network", "ip"]:
                inFirstIPv4 = false
                guard (attributes["family"] ?? "ipv4") == "ipv4", let address = attributes["address"].flatMap(IPv4Address.init(parsing:)) else { return }
                ipIndex += 1
                guard ipIndex == 1 else { return }
                inFirstIPv4 = true
                let prefix = attributes["prefix"].flatMap(Int.init) ?? attributes["netmask"].flatMap(prefixLength) ?? 24
                reading.spec.address = IPv4Interface(address: address, prefix: prefix)
            case ["network", "ip", "dhcp"] where inFirstIPv4:
                dhcp = DHCPSpec()
            case ["network", "ip", "dhcp", "range"] where inFirstIPv4:
                if dhcp?.range == nil, let start = attributes["start"].flatMap(IPv4Address.init(parsing:)),
                   let end = attributes["end"].flatMap(IPv4Address.init(parsing:)) {
                    dhcp?.range = DHCPSpec.Range(start: start, end: end)
                }
            case ["network", "ip", "dhcp", "host"] where inFirstIPv4:
                if let mac = attributes["mac"].flatMap(NetworkInterface.canonicalMAC), let ip = attributes["ip"].flatMap(IPv4Address.init(parsing:)) {
                    hosts.append(DHCPSpec.Host(mac: mac, ip: ip, name: attributes["name"]))
                }
            default: break
            }
        } end: { path, text in
            if path == ["network", "name"] { reading.name = text.trimmingCharacters(in: .whitespacesAndNewlines) }
        }
        reading.spec.name = reading.name
        reading.spec.mode = switch forward {
        case nil: .isolated
        case "nat"?: .nat
        case "bridge"?: .bridge
        case let other?: NetworkMode(rawValue: other)
        }
        if var dhcp {
            dhcp = DHCPSpec(range: dhcp.range, hosts: hosts)
            // An empty <dhcp/> hands nothing out: read as no DHCP, as vmplan never writes one.
            reading.spec.dhcp = dhcp.range == nil && dhcp.hosts.isEmpty ? nil : dhcp
        }
        return reading
    }

    /// `255.255.255.0` → 24; nil for a mask that is not a prefix.
    private static func prefixLength(_ netmask: String) -> Int? {
        guard let mask = IPv4Address(parsing: netmask)?.value else { return nil }
        let length = (~mask).leadingZeroBitCount
        return mask == (length == 0 ? 0 : UInt32.max << UInt32(32 - length)) ? length : nil
    }
}
