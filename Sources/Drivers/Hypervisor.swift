import Spec

/// The ownership marker vmplan writes into a domain's (and a network's) `<metadata>`.
public struct OwnershipMarker: Sendable, Hashable, Codable {
    public static let namespace = "urn:vmplan:1"

    /// The VirtualMachine (or Network) resource the domain (or network) belongs to.
    public var resource: String
    /// `VirtualMachineSpec.specHash` of the spec last applied to the domain.
    public var specHash: String
    /// The id of the state that owns the domain; nil in markers written before states had ids.
    public var state: String?

    public init(resource: String, specHash: String, state: String? = nil) {
        self.resource = resource
        self.specHash = specHash
        self.state = state
    }
}

/// A domain as the hypervisor reports it right now.
public struct ObservedDomain: Sendable, Hashable {
    public var name: String
    public var uuid: String
    /// The running domain's id; nil when it is shut off.
    public var id: Int?
    /// nil for a domain vmplan does not own: such a domain is never changed or deleted.
    public var owner: OwnershipMarker?
    /// The persistent definition read back into the resource model (host is the Host name).
    public var spec: VirtualMachineSpec
    /// What the running domain runs with (its live XML); nil when it is shut off. It lags `spec`
    /// when a change waits for the next boot.
    public var runningSpec: VirtualMachineSpec?
    /// libvirt's domain type, `kvm` or `qemu`.
    public var domainType: String

    public init(name: String, uuid: String, id: Int?, owner: OwnershipMarker?, spec: VirtualMachineSpec,
                runningSpec: VirtualMachineSpec? = nil, domainType: String) {
        self.name = name
        self.uuid = uuid
        self.id = id
        self.owner = owner
        self.spec = spec
        self.runningSpec = runningSpec
        self.domainType = domainType
    }

    public var isRunning: Bool { id != nil }
    public var isManaged: Bool { owner != nil }
}

/// Progress of long operations (graceful shutdowns), for the CLI to show.
public typealias ProgressHandler = @Sendable (String) -> Void

/// How a stop of a running domain goes: a graceful request first, then, if allowed, a forced stop.
public struct StopPolicy: Sendable, Hashable {
    public var timeout: Duration
    public var forceAfterTimeout: Bool

    public init(timeout: Duration = .seconds(120), forceAfterTimeout: Bool = true) {
        self.timeout = timeout
        self.forceAfterTimeout = forceAfterTimeout
    }
}

/// What a driver's flavour and host can do, asked once per connection.
public struct DriverFeatures: Sendable, Hashable {
    /// What can change on a running domain.
    public var changeRules: ChangeRules
    /// Whether VMs can have mediated devices (vGPUs); libxl cannot.
    public var mediatedDevices: Bool
    /// Whether the host has mdevctl, which libvirt needs to define persistent mdevs; nil when
    /// vmplan cannot tell (a remote host).
    public var mdevctl: Bool?

    public init(changeRules: ChangeRules, mediatedDevices: Bool, mdevctl: Bool?) {
        self.changeRules = changeRules
        self.mediatedDevices = mediatedDevices
        self.mdevctl = mdevctl
    }
}

/// One hypervisor host: its domains, devices, storage and networks. Every mutating call refuses domains
/// without vmplan's marker, storage it cannot prove is vmplan's (`StorageHost`), and networks without
/// its marker (`NetworkHost`).
public protocol Hypervisor: StorageHost, NetworkHost {
    /// The Host resource name.
    var hostName: String { get }

    /// What libvirt reports as the host's UUID; nil when it reports none. Two Host documents
    /// that reach one hypervisor show the same UUID.
    var hostUUID: String? { get }

    var features: DriverFeatures { get }

    /// Every domain on the host, managed or not, with its persistent definition.
    func observe() async throws -> [ObservedDomain]

    /// What domain `name` is doing now and its NICs' addresses; nil when the host has no such domain.
    func guestStatus(_ name: String) async throws -> GuestStatus?

    /// Defines a new domain for `spec` (not started), its marker naming the state `owner`.
    func define(_ spec: VirtualMachineSpec, owner: String) async throws

    /// Redefines a managed domain's persistent config from `spec` (its marker naming `owner`);
    /// when it is running, also applies vCPU and memory changes live where they fit within the
    /// running maxima.
    func update(_ spec: VirtualMachineSpec, owner: String, progress: ProgressHandler?) async throws

    /// Takes over an unmanaged domain as it is: writes only vmplan's marker for `spec` (naming the state
    /// `owner`) into its metadata, after checking the domain still has `uuid` and carries no marker.
    func importDomain(_ spec: VirtualMachineSpec, uuid: String, owner: String) async throws

    func start(_ name: String) async throws

    /// Stops a running managed domain: graceful request, wait, then force if the policy allows.
    func stop(_ name: String, policy: StopPolicy, progress: ProgressHandler?) async throws

    /// Stops (as `stop`) and undefines a managed domain.
    func delete(_ name: String, policy: StopPolicy, progress: ProgressHandler?) async throws

    /// PCI devices, mdev types and mediated devices, read fresh.
    func inventory() async throws -> HostInventory

    /// Defines, autostarts and starts a persistent mdev of `type` on the GPU at `parent`.
    func createMediatedDevice(uuid: String, type: String, parent: PCIAddress) async throws

    /// Stops and undefines the mdev libvirt calls `libvirtName`. The caller checks it is vmplan's.
    func removeMediatedDevice(libvirtName: String) async throws

    /// Moves the managed domain `name` from this host to `destination`, keeping its UUID: a
    /// running one live, a shut-off one by its definition. Afterwards only the destination has it.
    /// The data of `volumes` goes along into the volumes of the same name the destination already
    /// has (made empty by the caller); the copies here are left as they are.
    func migrate(_ name: String, to destination: any Hypervisor, volumes: [VolumeMove], progress: ProgressHandler?) async throws
}

extension Hypervisor {
    /// Hosts that cannot migrate say so; the planner plans a replace for them instead.
    public func migrate(_ name: String, to destination: any Hypervisor, volumes: [VolumeMove], progress: ProgressHandler?) async throws {
        throw DriverError(.operation, "host '\(hostName)' cannot migrate domains; replace \(name) instead")
    }
}
