/// The fields of a VirtualMachine: the keys of its `spec` (and `metadata.labels`), in the order
/// plans show them. Change rules, `lifecycle.ignoreChanges`, the decoder and pending restarts all
/// name fields through this type.
public enum VMField: String, Sendable, Codable, Hashable, CaseIterable, Comparable {
    case host
    case vcpus, maxVcpus, memory, maxMemory, firmware, machine, cpu, state, autostart, description
    case labels
    case lifecycle
    case gpus, vgpus, boot, disks, cloudInit, networks, graphics, guestAgent
    /// `import: {uuid: …}`: which existing domain the VM adopts (docs/import.md); never compared.
    case `import`

    /// Fields compared between the manifests, the record and the host, in plan order. `host` is
    /// not among them (a new host is a replace); `cloudInit` shows up as disks and as its seed volume.
    public static let compared: [VMField] = [.vcpus, .maxVcpus, .memory, .maxMemory, .firmware, .machine, .cpu, .state, .autostart,
                                             .description, .labels, .gpus, .vgpus, .boot, .disks, .networks, .graphics, .guestAgent]

    /// Fields `lifecycle.ignoreChanges` may name.
    public static let ignorable: [VMField] = [.vcpus, .maxVcpus, .memory, .maxMemory, .firmware, .state, .autostart, .description,
                                              .labels, .gpus, .vgpus, .networks, .graphics, .guestAgent]

    /// Keys a VirtualMachine document's `spec` may have (labels live in metadata).
    public static let specKeys: [VMField] = allCases.filter { $0 != .labels }

    /// Keys a VirtualMachine document's `spec` must have.
    public static let requiredSpecKeys: [VMField] = [.host, .vcpus, .memory]

    public static func < (lhs: VMField, rhs: VMField) -> Bool {
        allCases.firstIndex(of: lhs)! < allCases.firstIndex(of: rhs)!
    }
}
