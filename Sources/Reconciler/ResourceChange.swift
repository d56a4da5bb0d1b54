import Drivers
import Spec

/// What a change does to a resource, in the vocabulary users know from Terraform.
public enum Action: String, Sendable, Codable, Hashable {
    case create, update, replace, delete
    /// Only vmplan's record goes: the object stays on the host.
    case forget
    /// Already on the host and vmplan's (its marker says so), but not recorded: recorded, the host untouched.
    case adopt
    /// Exists on the host without vmplan's marker, and the manifests import it (`import: {uuid}`, docs/import.md):
    /// a domain or network gets the marker and nothing else, storage is recorded; all are recorded in the state.
    case `import`
    /// A VM moves to another host with its UUID: live when it runs, by its definition when it is shut off.
    case migrate
    case noop = "no-op"

    /// Deletes and forgets: they run after what depends on them is gone.
    public var isRemoval: Bool { self == .delete || self == .forget }
}

/// How an update reaches a VM.
public enum UpdateMode: String, Sendable, Codable, Hashable, Comparable {
    /// Applied to the running domain and to its persistent config, without a reboot.
    case live
    /// Only the persistent config changes (the VM is stopped, or the field waits for the next boot).
    case nextBoot = "next-boot"
    /// The config changes, then the VM is shut down and started again.
    case restart

    private var rank: Int {
        switch self {
        case .live: 0
        case .nextBoot: 1
        case .restart: 2
        }
    }

    public static func < (lhs: UpdateMode, rhs: UpdateMode) -> Bool { lhs.rank < rhs.rank }
}

/// Why a field differs: someone edited the manifests, or someone changed the host by hand.
public enum DiffOrigin: String, Sendable, Codable, Hashable {
    case manifest
    case drift
}

public struct FieldDiff: Sendable, Codable, Hashable {
    public var field: String
    public var before: String?
    public var after: String?
    public var origin: DiffOrigin

    public init(field: String, before: String?, after: String?, origin: DiffOrigin) {
        self.field = field
        self.before = before
        self.after = after
        self.origin = origin
    }

    public init(_ field: VMField, before: String?, after: String?, origin: DiffOrigin) {
        self.init(field: field.rawValue, before: before, after: after, origin: origin)
    }
}

/// Which resource a change is about. A VM's host is where it ends up (the new host, for a replace).
public struct ResourceAddress: Sendable, Codable, Hashable, CustomStringConvertible {
    public var kind: ResourceKind
    public var name: String
    public var host: String

    public init(_ kind: ResourceKind, _ name: String, host: String) {
        self.kind = kind
        self.name = name
        self.host = host
    }

    /// `pool data`, `volume web-1-root`, `network lab`, `mdev 3f2…`; a VM by its name alone.
    public var description: String { kind == .virtualMachine ? name : "\(kind.noun) \(name)" }
}

/// Why a change is planned, as a code tools can branch on. Notes say the same for people.
public enum ChangeReason: String, Sendable, Codable, Hashable {
    /// New in the manifests.
    case new
    /// Recorded as applied, but gone from the host: deleted outside vmplan.
    case goneFromHost = "gone-from-host"
    /// The manifests and the host disagree on some fields (each diff says whose change it was).
    case fieldsDiffer = "fields-differ"
    /// Fields applied earlier wait for a restart, and the VM may restart now.
    case restartPending = "restart-pending"
    /// A VM's host changed: it is migrated there, or deleted on the old host and created on the new one.
    case hostChanged = "host-changed"
    /// `--replace NAME`.
    case replaceRequested = "replace-requested"
    /// Removed from the manifests.
    case removedFromManifests = "removed-from-manifests"
    /// A mediated device a VM needs.
    case neededByVM = "needed-by-vm"
    /// A mediated device vmplan made that no VM uses any more.
    case unused
    /// vmplan's by its marker, but not in this state's record.
    case unrecorded
    /// Another state's domain, taken over with `--adopt`.
    case takenOver = "taken-over"
    /// A VirtualMachine's `import: {uuid}` names this unmanaged domain, or a pool or volume such a VM uses;
    /// or a Network's `import: {uuid}` names this unmarked network.
    case importRequested = "import-requested"
    /// Created by an apply that stopped before recording it: its journal entry is still pending.
    case interruptedCreate = "interrupted-create"
    /// The host matches; only the record is behind (a field the host does not show, a pending restart).
    case recordBehind = "record-behind"
    case inSync = "in-sync"
}

/// One step of a VM change, in order. Stops and deletes follow the VM's `lifecycle.forceStop`.
public enum VMStep: Sendable, Hashable {
    /// A new domain, not started.
    case define(VirtualMachineSpec)
    /// The persistent config, plus the running domain where its maxima allow (vCPUs, memory).
    case redefine(VirtualMachineSpec)
    case start
    case stop
    /// Graceful shutdown, then start.
    case restart
    /// Stop and undefine the domain on this host.
    case delete(host: String)
    /// Move the domain from `from` to the change's host (live when it runs), with the data of
    /// `volumes` (each made empty on the new host by a volume change before).
    case migrate(from: String, volumes: [VolumeMove] = [])
}

/// What the applier carries out. It never re-derives this from the diffs.
public enum Effect: Sendable, Hashable {
    /// Nothing to do, nothing to record.
    case none
    /// Nothing on the host changes; only vmplan's record is written (or dropped).
    case recordOnly
    case vm([VMStep])
    case createMediatedDevice(type: String, parent: PCIAddress)
    case removeMediatedDevice(libvirtName: String)
    case createPool(StoragePoolSpec)
    case createVolume(VolumeSpec, VolumeContent)
    case growVolume(pool: String, to: ByteCount)
    /// Delete and build again (a cloud-init seed whose files changed).
    case rebuildVolume(VolumeSpec, VolumeContent, expectedKey: String)
    case deletePool(expectedUUID: String)
    case deleteVolume(pool: String, expectedKey: String)
    /// What a move leaves on the old host (the change's host): a pool or volume whose manifest
    /// moved it to another host. Deleted when `delete` (checked against libvirt's key), else left
    /// there; either way vmplan's ownership of it here is dropped.
    case leaveBehind(pool: String, expectedKey: String, delete: Bool)
    /// A volume that moved hosts in a shared pool: the new host sees the same file. Its key is
    /// read there (after a pool refresh) and recorded as vmplan's; nothing is copied.
    case adoptSharedVolume(pool: String)
    /// A pool or volume an interrupted apply created but did not record: its ownership is
    /// written now, from libvirt's key (a pool's UUID, a volume's key).
    case adoptStorage(pool: String, key: String)
    /// Define, start and autostart a network with vmplan's marker.
    case createNetwork(NetworkSpec)
    /// Redefine a network; a running one takes the DHCP changes live, or is stopped and started
    /// again when `restart`; a stopped one is started.
    case updateNetwork(NetworkSpec, restart: Bool)
    /// Stop and undefine a network vmplan created.
    case deleteNetwork
    /// An unmanaged domain imported as it is: only its ownership marker is written (metadata), after the
    /// driver has checked that it still has this UUID and no marker.
    case importDomain(uuid: String)
    /// An unmarked network imported as it is: only its marker is written into the persistent definition,
    /// after the driver has checked that it still has this UUID and no marker.
    case importNetwork(uuid: String)
}

/// A resource's spec as vmplan records it.
public enum ResourceValue: Sendable, Hashable {
    case virtualMachine(VirtualMachineSpec)
    case storagePool(StoragePoolSpec)
    case volume(VolumeSpec)
    case mediatedDevice(RecordedDevice)
    case network(NetworkSpec)

    public var kind: ResourceKind {
        switch self {
        case .virtualMachine: .virtualMachine
        case .storagePool: .storagePool
        case .volume: .volume
        case .mediatedDevice: .mediatedDevice
        case .network: .network
        }
    }

    public var virtualMachine: VirtualMachineSpec? {
        if case .virtualMachine(let spec) = self { spec } else { nil }
    }

    /// The canonical JSON the state database keeps.
    func canonicalJSON() throws -> String {
        switch self {
        case .virtualMachine(let spec): try CanonicalJSON.string(spec)
        case .storagePool(let spec): try CanonicalJSON.string(spec)
        case .volume(let spec): try CanonicalJSON.string(spec)
        case .mediatedDevice(let device): try CanonicalJSON.string(device)
        case .network(let spec): try CanonicalJSON.string(spec)
        }
    }

    /// `specHash` from the canonical JSON already made: every kind but an mdev hashes exactly
    /// those bytes (`Fingerprint.of`), so an apply encodes each spec it records once, not twice.
    func specHash(canonicalJSON json: String) -> String {
        if case .mediatedDevice(let device) = self { return device.uuid }
        return Fingerprint.fnv1a64(json.utf8)
    }

    /// What tells two versions apart. A VM's is the hash its domain's marker carries.
    var specHash: String {
        switch self {
        case .virtualMachine(let spec): spec.specHash
        case .storagePool(let spec): Fingerprint.of(spec)
        case .volume(let spec): Fingerprint.of(spec)
        // An mdev never changes: its UUID says which one it is.
        case .mediatedDevice(let device): device.uuid
        case .network(let spec): spec.specHash
        }
    }
}

/// One planned change to one resource of any kind: what, where, why, and what the applier does.
public struct ResourceChange: Sendable, Hashable {
    public var address: ResourceAddress
    public var action: Action
    public var reason: ChangeReason
    public var effect: Effect
    /// How a VM update reaches the VM.
    public var mode: UpdateMode?
    public var diffs: [FieldDiff]
    /// For people only; the applier never branches on them.
    public var notes: [String]
    /// What vmplan recorded before this change; nil when nothing was.
    public var before: ResourceValue?
    /// What vmplan records once the change is done; nil drops the record.
    public var after: ResourceValue?
    /// A delete that destroys data, or a pool build that erases its devices: shown as DATA LOSS.
    public var dataLoss: Bool
    /// A short description: `pool default, 10GiB qcow2`, `nvidia-222 on 0000:3b:00.0`.
    public var summary: String?
    /// For a VM replaced or deleted: the host its old domain is on.
    public var previousHost: String?
    /// The host the record names once this change is done, when not the change's own: storage a
    /// move makes on the new host is recorded there only once the move is complete.
    public var recordHost: String?
    /// Differences left alone because `lifecycle.ignoreChanges` names their field.
    public var ignored: [FieldDiff]
    /// Fields whose new value the running VM only sees at its next boot, once this change is applied.
    public var pendingRestart: [VMField]
    /// For an mdev: the VM that uses it (created) or used it (removed).
    public var usedBy: String?
    /// Changes that must succeed before this one runs; set by `Plan` from the dependencies.
    public var requires: [ResourceAddress]

    public init(_ address: ResourceAddress, action: Action, reason: ChangeReason, effect: Effect,
                mode: UpdateMode? = nil, diffs: [FieldDiff] = [], notes: [String] = [],
                before: ResourceValue? = nil, after: ResourceValue? = nil, dataLoss: Bool = false,
                summary: String? = nil, previousHost: String? = nil, usedBy: String? = nil) {
        self.address = address
        self.action = action
        self.reason = reason
        self.effect = effect
        self.mode = mode
        self.diffs = diffs
        self.notes = notes
        self.before = before
        self.after = after
        self.dataLoss = dataLoss
        self.summary = summary
        self.previousHost = previousHost
        self.recordHost = nil
        self.ignored = []
        self.pendingRestart = []
        self.usedBy = usedBy
        self.requires = []
    }

    public var kind: ResourceKind { address.kind }
    public var name: String { address.name }
    public var host: String { address.host }

    /// Counted and shown as a change: everything but no-ops and adoptions (an import is one).
    public var isChange: Bool { action != .noop && action != .adopt }
    /// The applier has something to do or to record.
    public var isApplied: Bool { effect != .none }
    /// The VM spec this change applies, for VM changes that are not deletions.
    public var desiredVM: VirtualMachineSpec? { after?.virtualMachine }
}
