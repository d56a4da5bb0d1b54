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
