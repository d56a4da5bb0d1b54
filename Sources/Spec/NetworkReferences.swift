/// Checks between Network documents of one host: libvirt would refuse (or, worse, start) two
/// networks on one bridge or with overlapping subnets. Whether a VM's NIC names a network that
/// exists is a plan-time check: the host may have it without any manifest declaring it.
enum NetworkReferences {
    static func check(_ documents: [DecodedDocument], log: inout DiagnosticLog) -> [Located<NetworkSpec>] {
        let networks = documents.compactMap(\.network)
        for (index, network) in networks.enumerated() {
            let spec = network.value
            for earlier in networks.prefix(index) where earlier.value.host == spec.host {
                let other = earlier.value
                if let bridge = spec.bridge, bridge == other.bridge {
                    log.error("Network '\(spec.name)' uses bridge \(bridge), which Network '\(other.name)' (at \(earlier.location)) also uses "
                        + "on host '\(spec.host)'; each network needs its own bridge", at: network.location)
                }
                if let address = spec.address, let otherAddress = other.address, address.overlaps(otherAddress) {
                    log.error("Network '\(spec.name)' (\(address.subnet)) overlaps Network '\(other.name)' (\(otherAddress.subnet), at \(earlier.location)) "
                        + "on host '\(spec.host)'; the host could not route either: give them separate subnets", at: network.location)
                }
            }
        }
        return networks
    }

    /// Where each VM's NICs name their network, by VM name and NIC index.
    static func nicLocations(_ documents: [DecodedDocument]) -> [String: [Int: SourceLocation]] {
        var locations: [String: [Int: SourceLocation]] = [:]
        for document in documents {
            guard let vm = document.virtualMachine?.value.name, !document.nicLocations.isEmpty else { continue }
            locations[vm] = document.nicLocations
        }
        return locations
    }
}
