import Spec

/// How a change to one VirtualMachine field reaches a running domain on a hypervisor flavour.
public enum FieldChange: String, Sendable, Hashable {
    /// Applied to the running domain without a reboot (and to its config).
    case live
    /// The config changes; the running domain only sees it after a restart.
    case restart
}

/// The capability table of a hypervisor flavour: what can change live, what needs a restart.
public struct ChangeRules: Sendable, Hashable {
    public var fields: [VMField: FieldChange]
    /// A domain can move to another host of the same flavour without being replaced (live when running).
    public var migration: Bool

    public init(fields: [VMField: FieldChange], migration: Bool = false) {
        self.fields = fields
        self.migration = migration
    }

    /// Fields missing from the table are treated as needing a restart: the safe answer.
    public func change(for field: VMField) -> FieldChange { fields[field] ?? .restart }

    /// QEMU/KVM: vCPUs and balloon memory move live within the maxima the domain was started with.
    public static let kvm = ChangeRules(fields: [
        .vcpus: .live,
        .memory: .live,
        .autostart: .live,
        .description: .live,
        .labels: .live,
        .maxVcpus: .restart,
        .maxMemory: .restart,
        .firmware: .restart,
        .machine: .restart,
        // QEMU loads a directly booted kernel when it starts.
        .boot: .restart,
        // Hotplug of passthrough devices is not proven on every guest and GPU: restart.
        .gpus: .restart,
        .vgpus: .restart,
        // Only when every added or removed disk is hot-pluggable (DiskHotplug); otherwise a restart.
        .disks: .live,
        // Only when NICs just come and go (NICHotplug); a NIC that changes its source or model needs a restart.
        .networks: .live,
        // libvirt cannot change a running domain's display; an agent channel could be hot-plugged, but that is not proven here.
        .graphics: .restart,
        .guestAgent: .restart,
    ], migration: true)

    /// Xen through libxl: balloon memory and vCPUs within the maxima move live; PCI devices need a restart.
    public static let xen = ChangeRules(fields: [
        .vcpus: .live,
        .memory: .live,
        .autostart: .live,
        .description: .live,
        .labels: .live,
        .maxVcpus: .restart,
        .maxMemory: .restart,
        .firmware: .restart,
        .gpus: .restart,
        .boot: .restart,
    ])
}
