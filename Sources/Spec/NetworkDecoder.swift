import Yams

/// `VirtualMachine.spec.networks`: NICs on libvirt networks or host bridges.
extension DocumentDecoder {
    static let networkFields = ["network", "bridge", "model", "mac"]
    static let maximumNetworks = 32
    /// Linux interface names are at most 15 bytes (IFNAMSIZ less the terminator).
    static let maximumBridgeName = 15

    /// NICs without a pinned mac get one derived from the VM's name and the entry's index.
    static func decodeNetworks(_ node: Node, vmName: String?, checker: inout NodeChecker, decoded: inout DecodedDocument) -> [NetworkInterface]? {
        guard let items = checker.list(node, name: "networks", example: "[{network: default}] or [{bridge: br0}]") else { return nil }
        if items.count > maximumNetworks {
            checker.error("networks has \(items.count) entries; a VM may have at most \(maximumNetworks) NICs", at: node)
            return nil
        }
        var interfaces: [NetworkInterface] = []
        var valid = true
        for (index, item) in items.enumerated() {
            guard let fields = checker.fields(of: item, what: "a networks entry", allowed: networkFields, required: []) else { valid = false; continue }
            var source: NetworkInterface.Source?
            switch (fields["network"], fields["bridge"]) {
            case let (network?, nil):
                if let name = checker.string(network, name: "networks.network"), ResourceName.isValid(name) {
                    source = .network(name)
                    decoded.nicLocations[index] = checker.document.location(of: network.value)
                } else {
                    checker.error("networks.network must be a libvirt network name: \(ResourceName.rule)", at: network.value)
                }
            case let (nil, bridge?):
                if let name = checker.string(bridge, name: "networks.bridge"), NodeChecker.isPlainToken(name), name.utf8.count <= maximumBridgeName {
                    source = .bridge(name)
                } else {
                    checker.error("networks.bridge must be a host bridge's interface name such as br0 "
                        + "(1 to \(maximumBridgeName) letters, digits, '.', '_' or '-')", at: bridge.value)
                }
            default:
                checker.error("a networks entry needs exactly one of network (a libvirt network such as default) or bridge (a host bridge such as br0)", at: item)
            }
            var model = NICModel.virtio
            if let field = fields["model"] {
                if let text = field.value.scalarText, let chosen = NICModel.declarable.first(where: { $0.rawValue == text }) { model = chosen } else {
                    let models = NICModel.declarable.map(\.rawValue)
                    let hint = field.value.scalarText.map { DidYouMean.hint(for: $0, among: models) } ?? ""
                    checker.error("networks.model must be one of \(models.joined(separator: ", ")); got \(field.value.shownInMessage)\(hint)", at: field.value)
                    valid = false
                }
            }
            var mac = NetworkInterface.derivedMAC(vm: vmName ?? "", index: index)
            if let field = fields["mac"] {
                if let text = checker.string(field, name: "networks.mac"), let canonical = NetworkInterface.canonicalMAC(text),
                   NetworkInterface.isUnicast(canonical) {
                    mac = canonical
                } else {
                    checker.error("networks.mac must be a unicast MAC address such as \"52:54:00:12:34:56\" (six hex pairs; "
                        + "the first byte even)", at: field.value)
                    valid = false
                }
            }
            guard let source else { valid = false; continue }
            if let twin = interfaces.first(where: { $0.mac == mac }) {
                checker.error("two networks entries have the MAC \(mac) (the other: \(twin.source.summary)); pin a different mac", at: item)
                valid = false
            }
            interfaces.append(NetworkInterface(source: source, model: model, mac: mac))
        }
        return valid ? interfaces : nil
    }
}
