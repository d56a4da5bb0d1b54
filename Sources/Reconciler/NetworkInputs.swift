import Drivers
import Spec

extension PlanInputs {
    /// Networks in every view, so that `apply FILE` refuses when one moved. Keys are `Network/NAME`
    /// (desired, recorded) and `HOST/network/NAME` (live, only those declared, recorded or named by a NIC).
    mutating func addNetworks(_ networks: NetworkSnapshot, vms: [Located<VirtualMachineSpec>]) {
        var relevant = Set(networks.networks.map(\.value.name)).union(networks.recorded.keys)
        for vm in vms {
            for nic in vm.value.networks ?? [] {
                if case .network(let name) = nic.source { relevant.insert(name) }
            }
        }
        for network in networks.networks {
            desired["Network/\(network.value.name)"] = Self.fields(network.value)
        }
        for (name, spec) in networks.recorded {
            recorded["Network/\(name)"] = Self.fields(spec)
        }
        for (host, observed) in networks.live {
            for network in observed where relevant.contains(network.name) {
                live["\(host)/network/\(network.name)"] = Self.fields(network.spec).merging([
                    "uuid": network.uuid, "active": String(network.isActive), "autostart": String(network.autostart),
                    "owner": network.owner.map { "\($0.resource) state \($0.state ?? "-")" } ?? "none",
                ]) { $1 }
            }
        }
    }

    private static func fields(_ spec: NetworkSpec) -> [String: String] {
        var fields = Dictionary(uniqueKeysWithValues: spec.fieldValues().map { ($0.key.rawValue, $0.value) })
        fields["host"] = spec.host
        return fields
    }
}
