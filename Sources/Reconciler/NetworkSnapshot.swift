import Drivers
import Spec

/// The network side of a snapshot: what the manifests declare, what this state recorded, and
/// each host's libvirt networks.
public struct NetworkSnapshot: Sendable {
    public var networks: [Located<NetworkSpec>]
    /// Recorded networks by name; each spec names the host it was applied to.
    public var recorded: [String: NetworkSpec]
    /// The networks of each host where a Network is declared or recorded, or a VM has a NIC on one.
    public var live: [String: [ObservedNetwork]]
    /// Where each VM's NICs name their network (`Manifest.nicLocations`).
    public var nicLocations: [String: [Int: SourceLocation]]

    public init(networks: [Located<NetworkSpec>] = [], recorded: [String: NetworkSpec] = [:], live: [String: [ObservedNetwork]] = [:],
                nicLocations: [String: [Int: SourceLocation]] = [:]) {
        self.networks = networks
        self.recorded = recorded
        self.live = live
        self.nicLocations = nicLocations
    }

    /// Whose an observed network is, as one state sees it.
    enum Owner: Equatable {
        /// Its marker names this state (or no state, and this state recorded it).
        case ours
        /// Its marker names another state: the id, when it has one.
        case otherState(String?)
        /// No marker: the host's own (`default`) or made by hand.
        case nobody
    }

    /// - Parameter stateID: nil takes every marked network for this state's (unit tests of other rules).
    func owner(of network: ObservedNetwork, stateID: String?) -> Owner {
        guard let marker = network.owner, marker.resource == network.name else { return .nobody }
        if stateID == nil || marker.state == stateID || (marker.state == nil && recorded[network.name] != nil) { return .ours }
        return .otherState(marker.state)
    }

    func observed(_ name: String, on host: String) -> ObservedNetwork? {
        live[host]?.first { $0.name == name }
    }

    /// The virtual machines that have a NIC on `network` of `host`: declared ones with where the NIC
    /// is written, and domains on the host (persistent or running definition) the VM plan leaves as they are.
    func users(of network: String, on host: String, vms: [Located<VirtualMachineSpec>], handledVMs: Set<String>,
               domains: [String: [ObservedDomain]]) -> [(name: String, location: SourceLocation?)] {
        var users: [(name: String, location: SourceLocation?)] = []
        for vm in vms where vm.value.host == host {
            guard let index = vm.value.networks?.firstIndex(where: { $0.source == .network(network) }) else { continue }
            users.append((vm.value.name, nicLocations[vm.value.name]?[index] ?? vm.location))
        }
        for domain in domains[host] ?? [] where !(domain.isManaged && handledVMs.contains(domain.name)) {
            let specs = [domain.spec] + (domain.runningSpec.map { [$0] } ?? [])
            if specs.contains(where: { $0.networks?.contains { $0.source == .network(network) } == true }),
               !users.contains(where: { $0.name == domain.name }) {
                users.append((domain.name, nil))
            }
        }
        return users
    }
}

extension NetworkSpec {
    /// `isolated 198.18.0.1/24, …` with its host, as plans show a network.
    var planSummary: String { "\(host), \(shortDescription)" }
}
