import Drivers
import Spec
import State

/// One planned change to a pool or a volume. Storage is applied in its own passes: creations
/// and growth before the VMs, deletions after them.
public struct StorageChange: Sendable, Hashable {
    public enum Kind: String, Sendable, Codable, Hashable {
        case pool = "StoragePool"
        case volume = "Volume"
    }

    /// What the applier does; `action` is what plans show and count.
    public enum Effect: Sendable, Hashable {
        case none
        case createPool(StoragePoolSpec)
        case createVolume(VolumeSpec, VolumeContent)
        case grow(to: ByteCount)
        /// Delete and build again (a cloud-init seed whose files changed).
        case rebuild(VolumeSpec, VolumeContent, expectedKey: String)
        case deletePool(expectedUUID: String)
        case deleteVolume(expectedKey: String)
        /// Only vmplan's record goes: the object stays on the host.
        case forget
    }

    public var kind: Kind
    public var name: String
    public var host: String
    /// The volume's pool; a pool's own name.
    public var pool: String
    public var action: Action
    public var effect: Effect
    /// For people: `pool default, 10GiB qcow2`.
    public var summary: String
    public var diffs: [FieldDiff] = []
    public var reasons: [String] = []
    /// True for the deletion of a volume that holds data, or a logical pool whose build erases
    /// its devices: shown as DATA LOSS.
    public var dataLoss = false
    /// The spec to record once done; nil drops the record.
    public var record: RecordedStorage?

    public init(kind: Kind, name: String, host: String, pool: String, action: Action, effect: Effect,
                summary: String, reasons: [String] = [], record: RecordedStorage?) {
        self.kind = kind
        self.name = name
        self.host = host
        self.pool = pool
        self.action = action
        self.effect = effect
        self.summary = summary
        self.reasons = reasons
        self.record = record
    }

    /// Runs before the VMs (creations, growth, rebuilt seeds, record updates) or after them.
    public var runsAfterVMs: Bool {
        switch effect {
        case .deletePool, .deleteVolume, .forget: true
        default: false
        }
    }

    /// A removal that leaves the object on the host: not counted as destroyed.
    public var isForget: Bool { if case .forget = effect { return true } else { return false } }

    /// Whether the applier must do or record anything.
    public var isActionable: Bool { action != .noop }
}

/// What the state database says about one pool or volume.
public enum RecordedStorage: Sendable, Hashable, Codable {
    case pool(StoragePoolSpec)
    case volume(VolumeSpec)

    public var kind: StorageChange.Kind {
        switch self {
        case .pool: .pool
        case .volume: .volume
        }
    }
}

/// The storage side of a snapshot: what the manifests want, what was recorded and created,
/// and what each host has.
public struct StorageSnapshot: Sendable {
    public var pools: [Located<StoragePoolSpec>]
    public var volumes: [Located<VolumeSpec>]
    public var fieldLocations: [String: SourceLocation]
    /// Recorded pools and volumes by kind and name, with the host they were applied to.
    public var recorded: [String: (host: String, spec: RecordedStorage)]
    /// What vmplan created (the ownership table).
    public var owned: [OwnedStorage]
    /// Each observed host's storage.
    public var live: [String: ObservedStorage]

    public init(pools: [Located<StoragePoolSpec>] = [], volumes: [Located<VolumeSpec>] = [],
                fieldLocations: [String: SourceLocation] = [:], recorded: [String: (host: String, spec: RecordedStorage)] = [:],
                owned: [OwnedStorage] = [], live: [String: ObservedStorage] = [:]) {
        self.pools = pools
        self.volumes = volumes
        self.fieldLocations = fieldLocations
        self.recorded = recorded
        self.owned = owned
        self.live = live
    }

    static func key(_ kind: StorageChange.Kind, _ name: String) -> String { "\(kind.rawValue)/\(name)" }

    func owner(_ kind: StorageChange.Kind, host: String, pool: String, name: String) -> OwnedStorage? {
        owned.first { $0.kind == kind.rawValue && $0.host == host && $0.pool == pool && $0.name == name }
    }
}
