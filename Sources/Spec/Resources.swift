import Foundation

/// Where a value came from in a manifest, for error messages: `file:line:column`.
public struct SourceLocation: Hashable, Sendable, Codable, CustomStringConvertible {
    public var file: String
    public var line: Int
    public var column: Int

    public init(file: String, line: Int, column: Int) {
        self.file = file
        self.line = line
        self.column = column
    }

    public var description: String { "\(file):\(line):\(column)" }
}

public enum HypervisorKind: String, Sendable, Codable, CaseIterable {
    case kvm
    case xen
}

public enum Firmware: String, Sendable, Codable, CaseIterable {
    case bios
    case uefi
}

/// The QEMU machine type family of a KVM VM. libvirt stores the versioned name
/// (`pc-q35-7.2`); vmplan compares families, so a QEMU upgrade is not a change.
public enum MachineType: String, Sendable, Codable, CaseIterable {
    /// i440FX with PIIX, QEMU's long-standing default.
    case pc
    /// Q35 with ICH9 and PCI Express: what GPU passthrough and UEFI guests usually want.
    case q35

    /// The most vCPUs QEMU gives a VM of this machine type.
    public var maximumVcpus: Int {
        switch self {
        case .pc: 255
        case .q35: 288
        }
    }

    /// The family of a libvirt machine name, or nil for others (`microvm`, `isapc`, Xen's machines).
    public init?(libvirtName name: String) {
        if name == "q35" || name.hasPrefix("pc-q35") { self = .q35 }
        else if name == "pc" || name.hasPrefix("pc-i440fx") { self = .pc }
        else { return nil }
    }
}

public enum PowerState: String, Sendable, Codable, CaseIterable {
    case running
    case stopped
}

/// How plan-time device checks treat what the host's inventory cannot confirm.
public enum DeviceChecks: String, Sendable, Codable, CaseIterable {
    /// A device or vGPU capacity the inventory does not show fails the plan.
    case enforce
    /// It becomes a warning: for hosts whose libvirt inventory is known to be incomplete.
    /// Conflicts between VMs stay errors.
    case warn
}

/// How a KVM host runs its guests: QEMU's accelerator, written as the domain type.
public enum Acceleration: String, Sendable, Codable, CaseIterable {
    /// Hardware virtualisation (`type='kvm'`) where the host offers it, QEMU's emulator where it does not.
    case kvm
    /// QEMU's emulator, TCG (`type='qemu'`), even where the host offers KVM: for hosts whose KVM
    /// cannot run ordinary guests, such as some nested or paravirtualised cloud machines.
    case tcg
}

/// A `kind: Host` document: a hypervisor vmplan can reach through libvirt.
public struct HostSpec: Hashable, Sendable, Codable {
    public var name: String
    public var uri: String
    public var hypervisor: HypervisorKind
    public var labels: [String: String]
    public var deviceChecks: DeviceChecks
    /// The directories pools and image files may be under on this host; nil: anywhere but
    /// `HostPaths.systemDirectories` (which are refused in any case).
    public var storageRoots: [String]?
    /// KVM hosts only: the accelerator of the domains vmplan defines there.
    public var acceleration: Acceleration

    public init(name: String, uri: String, hypervisor: HypervisorKind, labels: [String: String] = [:],
                deviceChecks: DeviceChecks = .enforce, storageRoots: [String]? = nil, acceleration: Acceleration = .kvm) {
        self.name = name
        self.uri = uri
        self.hypervisor = hypervisor
        self.labels = labels
        self.deviceChecks = deviceChecks
        self.storageRoots = storageRoots
        self.acceleration = acceleration
    }
}

/// A `kind: VirtualMachine` document. Optional maxima default to the current values.
public struct VirtualMachineSpec: Hashable, Sendable, Codable {
    public var name: String
    public var host: String
    public var vcpus: Int
    public var maxVcpus: Int?
    public var memory: ByteCount
    public var maxMemory: ByteCount?
    public var firmware: Firmware
    /// KVM only; nil leaves the choice to libvirt (its default, `pc`) and is never a difference.
    public var machine: MachineType?
    public var state: PowerState
    public var description: String?
    public var labels: [String: String]
    public var lifecycle: Lifecycle
    /// Whole PCI devices passed through.
    public var gpus: [GPURequest]
    /// Mediated devices (vGPUs), each with a stable UUID.
    public var vgpus: [VGPURequest]
    /// How a Xen guest boots; nil on KVM hosts (and means HVM on Xen).
    public var boot: BootSpec?
    /// Storage (docs/storage.md).
    public var disks: [DiskSpec]
    public var cloudInit: CloudInitSpec?
    /// NICs; nil leaves the domain's interfaces to whoever added them (vmplan neither writes nor compares
    /// them), a list (even empty) makes vmplan own every network and bridge interface of the domain.
    public var networks: [NetworkInterface]?
    /// KVM only; nil leaves the CPU model to libvirt, and is never a difference.
    public var cpu: CPUSpec?
    /// Whether the host starts the VM when it boots. The manifest loader always sets it (by default
    /// true for `state: running`); nil is a spec recorded before vmplan managed autostart: not compared.
    public var autostart: Bool?
    /// KVM only; nil is no display device at all (the serial console is always there).
    public var graphics: GraphicsSpec?
    /// KVM only: the QEMU guest agent's virtio channel, which shutdowns then go through.
    public var guestAgent: Bool
    /// The existing domain this VM takes over (`vmplan import`). Only read while the VM is not
    /// recorded; never part of the recorded spec or its hash.
    public var importing: DomainImport?

    public init(
        name: String, host: String, vcpus: Int, maxVcpus: Int? = nil,
        memory: ByteCount, maxMemory: ByteCount? = nil,
        firmware: Firmware = .bios, machine: MachineType? = nil, state: PowerState = .running,
        description: String? = nil, labels: [String: String] = [:], lifecycle: Lifecycle = Lifecycle(),
        gpus: [GPURequest] = [], vgpus: [VGPURequest] = [], boot: BootSpec? = nil,
        disks: [DiskSpec] = [], cloudInit: CloudInitSpec? = nil, networks: [NetworkInterface]? = nil,
        cpu: CPUSpec? = nil, autostart: Bool? = nil, graphics: GraphicsSpec? = nil, guestAgent: Bool = false,
        importing: DomainImport? = nil
    ) {
        self.name = name
        self.host = host
        self.vcpus = vcpus
        self.maxVcpus = maxVcpus
        self.memory = memory
        self.maxMemory = maxMemory
        self.firmware = firmware
        self.machine = machine
        self.state = state
        self.description = description
        self.labels = labels
        self.lifecycle = lifecycle
        self.gpus = gpus
        self.vgpus = vgpus
        self.boot = boot
        self.disks = disks
        self.cloudInit = cloudInit
        self.networks = networks
        self.cpu = cpu
        self.autostart = autostart
        self.graphics = graphics
        self.guestAgent = guestAgent
        self.importing = importing
    }

    enum CodingKeys: String, CodingKey {
        case name, host, vcpus, maxVcpus, memory, maxMemory, firmware, state, description, labels, lifecycle, gpus, vgpus, boot
        case disks, cloudInit, machine, networks, cpu, autostart, graphics, guestAgent
    }

    // Specs recorded by older versions lack newer fields; they load with the defaults.
    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        name = try c.decode(String.self, forKey: .name)
        host = try c.decode(String.self, forKey: .host)
        vcpus = try c.decode(Int.self, forKey: .vcpus)
        maxVcpus = try c.decodeIfPresent(Int.self, forKey: .maxVcpus)
        memory = try c.decode(ByteCount.self, forKey: .memory)
        maxMemory = try c.decodeIfPresent(ByteCount.self, forKey: .maxMemory)
        firmware = try c.decodeIfPresent(Firmware.self, forKey: .firmware) ?? .bios
        machine = try c.decodeIfPresent(MachineType.self, forKey: .machine)
        state = try c.decodeIfPresent(PowerState.self, forKey: .state) ?? .running
        description = try c.decodeIfPresent(String.self, forKey: .description)
        labels = try c.decodeIfPresent([String: String].self, forKey: .labels) ?? [:]
        lifecycle = try c.decodeIfPresent(Lifecycle.self, forKey: .lifecycle) ?? Lifecycle()
        gpus = try c.decodeIfPresent([GPURequest].self, forKey: .gpus) ?? []
        vgpus = try c.decodeIfPresent([VGPURequest].self, forKey: .vgpus) ?? []
        boot = try c.decodeIfPresent(BootSpec.self, forKey: .boot)
        disks = try c.decodeIfPresent([DiskSpec].self, forKey: .disks) ?? []
        cloudInit = try c.decodeIfPresent(CloudInitSpec.self, forKey: .cloudInit)
        networks = try c.decodeIfPresent([NetworkInterface].self, forKey: .networks)
        cpu = try c.decodeIfPresent(CPUSpec.self, forKey: .cpu)
        autostart = try c.decodeIfPresent(Bool.self, forKey: .autostart)
        graphics = try c.decodeIfPresent(GraphicsSpec.self, forKey: .graphics)
        guestAgent = try c.decodeIfPresent(Bool.self, forKey: .guestAgent) ?? false
    }

    // Empty and absent fields are left out, so a spec keeps the hash it had before they existed.
    public func encode(to encoder: Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(name, forKey: .name)
        try c.encode(host, forKey: .host)
        try c.encode(vcpus, forKey: .vcpus)
        try c.encodeIfPresent(maxVcpus, forKey: .maxVcpus)
        try c.encode(memory, forKey: .memory)
        try c.encodeIfPresent(maxMemory, forKey: .maxMemory)
        try c.encode(firmware, forKey: .firmware)
        try c.encodeIfPresent(machine, forKey: .machine)
        try c.encode(state, forKey: .state)
        try c.encodeIfPresent(description, forKey: .description)
        try c.encode(labels, forKey: .labels)
        try c.encode(lifecycle, forKey: .lifecycle)
        if !gpus.isEmpty { try c.encode(gpus, forKey: .gpus) }
        if !vgpus.isEmpty { try c.encode(vgpus, forKey: .vgpus) }
        try c.encodeIfPresent(boot, forKey: .boot)
        if !disks.isEmpty { try c.encode(disks, forKey: .disks) }
        try c.encodeIfPresent(cloudInit, forKey: .cloudInit)
        try c.encodeIfPresent(networks, forKey: .networks)
        try c.encodeIfPresent(cpu, forKey: .cpu)
        try c.encodeIfPresent(autostart, forKey: .autostart)
        try c.encodeIfPresent(graphics, forKey: .graphics)
        if guestAgent { try c.encode(guestAgent, forKey: .guestAgent) }
    }

    /// The vCPU ceiling the domain is defined with.
    public var effectiveMaxVcpus: Int { maxVcpus ?? vcpus }
    /// The memory ceiling the domain is defined with.
    public var effectiveMaxMemory: ByteCount { maxMemory ?? memory }
}

/// One document of a manifest with the place it was read from.
public struct Located<Value: Sendable>: Sendable {
    public var value: Value
    public var location: SourceLocation

    public init(_ value: Value, at location: SourceLocation) {
        self.value = value
        self.location = location
    }
}

/// Everything the manifests under one path declare, already validated.
public struct Manifest: Sendable {
    public var hosts: [Located<HostSpec>]
    public var virtualMachines: [Located<VirtualMachineSpec>]
    public var storage: StorageManifest
    public var driftPolicies: [Located<DriftPolicySpec>]
    /// Network documents (docs/networks.md).
    public var networks: [Located<NetworkSpec>] = []
    /// Where each VM's NICs name their libvirt network, by VM name and NIC index, for plan-time errors.
    public var nicLocations: [String: [Int: SourceLocation]] = [:]

    public init(hosts: [Located<HostSpec>] = [], virtualMachines: [Located<VirtualMachineSpec>] = [],
                storage: StorageManifest = StorageManifest(), driftPolicies: [Located<DriftPolicySpec>] = []) {
        self.hosts = hosts
        self.virtualMachines = virtualMachines
        self.storage = storage
        self.driftPolicies = driftPolicies
    }

    public func host(named name: String) -> HostSpec? {
        hosts.first { $0.value.name == name }?.value
    }
}

/// `VirtualMachine.spec.import`: the domain, by libvirt's UUID, that a VM adopts instead of being
/// created. A domain of the same name with another UUID is never taken (docs/import.md).
public struct DomainImport: Hashable, Sendable {
    /// Lowercase `xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx`.
    public var uuid: String

    public init(uuid: String) {
        self.uuid = uuid
    }
}
