import Yams

/// `kind: Network` documents: a libvirt virtual network (docs/networks.md). Every address is checked
/// against the subnet here, so that libvirt and dnsmasq never see one that cannot work.
extension DocumentDecoder {
    static let virtualNetworkFields = ["host", "import", "mode", "bridge", "address", "dhcp", "domain", "mtu"]
    static let dhcpFields = ["range", "hosts"]
    static let dhcpHostFields = ["mac", "ip", "name"]

    static func decodeVirtualNetwork(_ node: Node, name: String?, at location: SourceLocation, checker: inout NodeChecker,
                                     decoded: inout DecodedDocument) {
        guard let spec = checker.fields(of: node, what: "Network spec", allowed: virtualNetworkFields, required: ["host", "mode"]) else { return }
        var valid = true
        func read<T>(_ key: String, _ body: (Field) -> T?) -> T? {
            guard let field = spec[key] else { return nil }
            let value = body(field)
            if value == nil { valid = false }
            return value
        }
        let host = read("host") { checker.string($0, name: "host") }
        if let host, let field = spec["host"] { decoded.hostReference = (host, checker.document.location(of: field.value)) }
        let mode = read("mode") { field -> NetworkMode? in
            if let text = field.value.scalarText, let mode = NetworkMode.declarable.first(where: { $0.rawValue == text }) { return mode }
            let modes = NetworkMode.declarable.map(\.rawValue)
            let hint = field.value.scalarText.map { DidYouMean.hint(for: $0, among: modes) } ?? ""
            checker.error("mode must be one of \(modes.joined(separator: ", ")); got \(field.value.shownInMessage)\(hint)", at: field.value)
            return nil
        }
        let bridge = read("bridge") { field -> String? in
            guard let text = checker.string(field, name: "bridge") else { return nil }
            guard NetworkNames.isValidBridge(text) else {
                checker.error("bridge must be \(NetworkNames.bridgeRule); got '\(text)'", at: field.value)
                return nil
            }
            return text
        }
        let address = read("address") { field -> IPv4Interface? in
            guard let text = checker.string(field, name: "address") else { return nil }
            guard let address = IPv4Interface(parsing: text) else {
                checker.error("address must be the host's IPv4 address on the network with the prefix length, such as 198.18.0.1/24; got '\(text)'",
                              at: field.value)
                return nil
            }
            guard IPv4Interface.prefixes.contains(address.prefix) else {
                checker.error("address needs a prefix length from \(IPv4Interface.prefixes.lowerBound) to \(IPv4Interface.prefixes.upperBound) "
                    + "(room for the host and a guest); got /\(address.prefix)", at: field.value)
                return nil
            }
            guard address.isHostAddress(address.address) else {
                checker.error("address \(address.address) is the \(address.address == address.network ? "network" : "broadcast") address of "
                    + "\(address.subnet); give the host an address inside it, such as \(IPv4Address(address.network.value + 1))/\(address.prefix)",
                    at: field.value)
                return nil
            }
            return address
        }
        let domain = read("domain") { field -> String? in
            guard let text = checker.string(field, name: "domain") else { return nil }
            guard NetworkNames.isValidDomain(text) else {
                checker.error("domain must be \(NetworkNames.domainRule); got '\(text)'", at: field.value)
                return nil
            }
            return text
        }
        let mtu = read("mtu") { checker.integer($0, name: "mtu", range: NetworkSpec.mtuRange) }
        let dhcp = read("dhcp") { decodeDHCP($0.value, address: address, checker: &checker) }
        let importing = read("import") { field in
            decodeImportUUID(field.value, of: "the network's UUID as `virsh net-uuid NAME` prints it", checker: &checker).map(NetworkImport.init)
        }

        if let mode {
            // What only a network with its own bridge (and dnsmasq) has, and what it needs.
            if mode == .bridge {
                for key in ["address", "dhcp", "domain", "mtu"] {
                    guard let field = spec[key] else { continue }
                    checker.error("\(key) does not belong in a mode: bridge network: the host bridge's addresses, DHCP and MTU are "
                        + "the host's own (configure them there), libvirt only plugs NICs into it", at: field.key)
                    valid = false
                }
                if spec["bridge"] == nil {
                    checker.error("missing required field 'bridge' in Network spec (mode: bridge needs the host bridge's name, such as br0)", at: node)
                    valid = false
                }
            } else if spec["address"] == nil {
                if mode == .nat {
                    checker.error("missing required field 'address' in Network spec (mode: nat needs the host's address on it, such as 198.18.0.1/24)", at: node)
                    valid = false
                }
                for key in ["dhcp", "domain"] {
                    guard let field = spec[key] else { continue }
                    checker.error("\(key) needs an address: DHCP and DNS run on the host's address in the network (add address: 198.18.0.1/24)", at: field.key)
                    valid = false
                }
            }
        }
        guard valid, let name, let host, let mode else { return }
        decoded.network = Located(NetworkSpec(name: name, host: host, mode: mode, bridge: bridge, address: address, dhcp: dhcp,
                                              domain: domain, mtu: mtu, importing: importing), at: location)
    }

    /// `dhcp: {range: {start, end}, hosts: [{mac, ip, name}]}`, every address a guest's in `address`'s subnet.
    private static func decodeDHCP(_ node: Node, address: IPv4Interface?, checker: inout NodeChecker) -> DHCPSpec? {
        guard let fields = checker.fields(of: node, what: "dhcp", allowed: dhcpFields, required: []) else { return nil }
        guard fields["range"] != nil || fields["hosts"] != nil else {
            checker.error("dhcp needs a range (addresses to hand out), hosts (fixed addresses by MAC), or both", at: node)
            return nil
        }
        var valid = true
        /// An address of the subnet that a guest can have; nil (reported) otherwise.
        func guestAddress(_ field: Field, name: String) -> IPv4Address? {
            guard let text = checker.string(field, name: name) else { return nil }
            guard let ip = IPv4Address(parsing: text) else {
                checker.error("\(name) must be an IPv4 address such as 198.18.0.10; got '\(text)'", at: field.value)
                return nil
            }
            guard let address else { return ip }  // no subnet: reported on address (or its absence)
            if !address.contains(ip) {
                checker.error("\(name) \(ip) is outside the network's subnet \(address.subnet)", at: field.value)
                return nil
            }
            if !address.isHostAddress(ip) || ip == address.address {
                let what = ip == address.address ? "the host's own address on the network (address: \(address))"
                    : "the \(ip == address.network ? "network" : "broadcast") address of \(address.subnet)"
                checker.error("\(name) \(ip) is \(what); a guest cannot have it", at: field.value)
                return nil
            }
            return ip
        }
        var range: DHCPSpec.Range?
        if let field = fields["range"] {
            if let bounds = checker.fields(of: field.value, what: "dhcp.range", allowed: ["start", "end"], required: ["start", "end"]) {
                let start = bounds["start"].flatMap { guestAddress($0, name: "dhcp.range.start") }
                let end = bounds["end"].flatMap { guestAddress($0, name: "dhcp.range.end") }
                if let start, let end {
                    if end < start {
                        checker.error("dhcp.range ends (\(end)) before it starts (\(start))", at: field.value)
                    } else if let address, (start...end).contains(address.address) {
                        checker.error("dhcp.range \(start)-\(end) includes the host's own address \(address.address); "
                            + "start it after, or end it before, that address", at: field.value)
                    } else {
                        range = DHCPSpec.Range(start: start, end: end)
                    }
                }
            }
            if range == nil { valid = false }
        }
        var hosts: [DHCPSpec.Host] = []
        if let field = fields["hosts"], let items = checker.list(field.value, name: "dhcp.hosts", example: "[{mac: \"52:54:00:12:34:56\", ip: 198.18.0.5}]") {
            for item in items {
                guard let entry = checker.fields(of: item, what: "a dhcp.hosts entry", allowed: dhcpHostFields, required: ["mac", "ip"]) else {
                    valid = false
                    continue
                }
                var mac: String?
                if let macField = entry["mac"], let text = checker.string(macField, name: "dhcp.hosts.mac") {
                    if let canonical = NetworkInterface.canonicalMAC(text), NetworkInterface.isUnicast(canonical) {
                        mac = canonical
                    } else {
                        checker.error("dhcp.hosts.mac must be a unicast MAC address such as \"52:54:00:12:34:56\" (six hex pairs; the first byte even)",
                                      at: macField.value)
                    }
                }
                let ip = entry["ip"].flatMap { guestAddress($0, name: "dhcp.hosts.ip") }
                var name: String?
                if let nameField = entry["name"], let text = checker.string(nameField, name: "dhcp.hosts.name") {
                    if NetworkNames.isValidLabel(text) { name = text } else {
                        checker.error("dhcp.hosts.name must be \(NetworkNames.hostNameRule); got '\(text)'", at: nameField.value)
                    }
                }
                guard let mac, let ip, entry["name"] == nil || name != nil else { valid = false; continue }
                // dnsmasq takes the last of two entries for one MAC, address or name: refuse the guess.
                if let twin = hosts.first(where: { $0.mac == mac || $0.ip == ip || ($0.name != nil && $0.name == name) }) {
                    let shared = twin.mac == mac ? "MAC \(mac)" : twin.ip == ip ? "address \(ip)" : "name \(name ?? "")"
                    checker.error("two dhcp.hosts entries have the \(shared) (the other: \(twin)); each entry needs its own MAC, address and name", at: item)
                    valid = false
                    continue
                }
                hosts.append(DHCPSpec.Host(mac: mac, ip: ip, name: name))
            }
        } else if fields["hosts"] != nil {
            valid = false
        }
        return valid ? DHCPSpec(range: range, hosts: hosts) : nil
    }
}
