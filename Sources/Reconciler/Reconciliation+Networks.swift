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

    /// Reads the recorded networks, and each host's networks (hosts in parallel) when anything
    /// declares, records or uses one: other manifests need no network driver on their hosts.
    static func observeNetworks(of manifest: Manifest, store: any StateStore,
                                drivers: [String: any Hypervisor]) async throws -> NetworkSnapshot {
        var snapshot = NetworkSnapshot(networks: manifest.networks, recorded: try recordedNetworks(in: store),
                                       nicLocations: manifest.nicLocations)
        let usesNetworks = !snapshot.networks.isEmpty || !snapshot.recorded.isEmpty
            || manifest.virtualMachines.contains { $0.value.networks?.contains { if case .network = $0.source { true } else { false } } == true }
        guard usesNetworks else { return snapshot }
        snapshot.live = try await withThrowingTaskGroup(of: (String, [ObservedNetwork]).self) { group in
            for (host, driver) in drivers {
                group.addTask { (host, try await driver.observeNetworks()) }
            }
            var live: [String: [ObservedNetwork]] = [:]
            for try await (host, networks) in group { live[host] = networks }
            return live
        }
        return snapshot
    }
}
