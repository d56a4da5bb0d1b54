import Drivers
import Spec
import State

/// The storage side of a snapshot: what the manifests want, what was recorded and created,
/// and what each host has.
public struct StorageSnapshot: Sendable {
    public var pools: [Located<StoragePoolSpec>]
    public var volumes: [Located<VolumeSpec>]
    public var fieldLocations: [String: SourceLocation]
    /// Recorded pools and volumes by `StorageSnapshot.key`, with the host they were applied to.
    public var recorded: [String: (host: String, spec: ResourceValue)]
    /// What vmplan created (the ownership table).
    public var owned: [OwnedStorage]
    /// Each observed host's storage.
    public var live: [String: ObservedStorage]
    /// Creations an interrupted apply journaled but never recorded as done: what exists under
    /// these addresses now is taken to be what that apply made.
    public var interruptedCreates: Set<ResourceAddress> = []

    public init(pools: [Located<StoragePoolSpec>] = [], volumes: [Located<VolumeSpec>] = [],
                fieldLocations: [String: SourceLocation] = [:], recorded: [String: (host: String, spec: ResourceValue)] = [:],
                owned: [OwnedStorage] = [], live: [String: ObservedStorage] = [:]) {
        self.pools = pools
        self.volumes = volumes
        self.fieldLocations = fieldLocations
        self.recorded = recorded
        self.owned = owned
        self.live = live
    }

    public static func key(_ kind: ResourceKind, _ name: String) -> String { "\(kind.rawValue)/\(name)" }

    func owner(_ kind: ResourceKind, host: String, pool: String, name: String) -> OwnedStorage? {
        owned.first { $0.kind == kind.rawValue && $0.host == host && $0.pool == pool && $0.name == name }
    }
}

extension StorageSnapshot {
    /// The domains with each disk given by path (`<source file=…>`, as virt-install writes them) named
    /// as the pool volume at that path, when a pool holds one: the same file either way, so an
    /// imported VM's `{volume: NAME}` matches it. Disks of no pool keep their path.
    func namingDiskPaths(in live: [String: [ObservedDomain]]) -> [String: [ObservedDomain]] {
        live.mapValues { domains in
            guard let volumes = self.live[domains.first?.spec.host ?? ""]?.volumes, !volumes.isEmpty else { return domains }
            let byPath = Dictionary(volumes.map { ($0.path, $0) }, uniquingKeysWith: { first, _ in first })
            func named(_ spec: VirtualMachineSpec) -> VirtualMachineSpec {
                var spec = spec
                for index in spec.disks.indices where spec.disks[index].pool.isEmpty {
                    guard let volume = byPath[spec.disks[index].volume] else { continue }
                    spec.disks[index].volume = volume.name
                    spec.disks[index].pool = volume.pool
                }
                return spec
            }
            return domains.map { domain in
                var domain = domain
                domain.spec = named(domain.spec)
                domain.runningSpec = domain.runningSpec.map(named)
                return domain
            }
        }
    }
}
