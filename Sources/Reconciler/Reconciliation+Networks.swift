import Drivers
import Spec
import State

extension Reconciliation {
    /// The recorded networks, by name.
    static func recordedNetworks(in store: any StateStore) throws -> [String: NetworkSpec] {
        var recorded: [String: NetworkSpec] = [:]
        for record in try store.resources(kind: ResourceKind.network.rawValue) {
            recorded[record.name] = try decode(NetworkSpec.self, from: record)
        }
        return recorded
    }

    /// Reads the recorded networks, and the networks of each host (in parallel) where a Network is
    /// declared or recorded or a VM has a NIC on one: other hosts need no network driver.
    static func observeNetworks(of manifest: Manifest, store: any StateStore,
                                drivers: [String: any Hypervisor]) async throws -> NetworkSnapshot {
        var snapshot = NetworkSnapshot(networks: manifest.networks, recorded: try recordedNetworks(in: store),
                                       nicLocations: manifest.nicLocations)
        var hosts = Set(snapshot.networks.map(\.value.host)).union(snapshot.recorded.values.map(\.host))
        for vm in manifest.virtualMachines where vm.value.networks?.contains(where: { if case .network = $0.source { true } else { false } }) == true {
            hosts.insert(vm.value.host)
        }
        snapshot.live = try await withThrowingTaskGroup(of: (String, [ObservedNetwork]).self) { group in
            for (host, driver) in drivers where hosts.contains(host) {
                group.addTask { (host, try await driver.observeNetworks()) }
            }
            var live: [String: [ObservedNetwork]] = [:]
            for try await (host, networks) in group { live[host] = networks }
            return live
        }
        return snapshot
    }
}
