import Spec

/// The VirtualMachine fields vmplan compares, rendered for people.
enum VMFields {
    static func values(of spec: VirtualMachineSpec) -> [VMField: String] {
        var values: [VMField: String] = [
            .vcpus: String(spec.vcpus),
            .maxVcpus: String(spec.effectiveMaxVcpus),
            .memory: spec.memory.description,
            .maxMemory: spec.effectiveMaxMemory.description,
            .firmware: spec.firmware.rawValue,
            .state: spec.state.rawValue,
        ]
        values[.machine] = spec.machine?.rawValue
        values[.cpu] = spec.cpu?.summary
        values[.autostart] = spec.autostart.map { String($0) }
        values[.description] = spec.description
        if !spec.labels.isEmpty { values[.labels] = render(spec.labels) }
        values[.boot] = spec.boot?.summary
        if !spec.gpus.isEmpty { values[.gpus] = spec.gpus.map(\.summary).sorted().joined(separator: ", ") }
        // What a domain's XML can show of a vGPU: its UUID and whether it drives the display.
        if !spec.vgpus.isEmpty {
            values[.vgpus] = spec.vgpus.map { $0.uuid + ($0.display ? " (display)" : "") }.sorted().joined(separator: ", ")
        }
        // The seed cdrom is part of the list: adding cloudInit to a VM changes its disks.
        if !spec.attachedDisks.isEmpty { values[.disks] = spec.attachedDisks.map(\.summary).joined(separator: ", ") }
        if let networks = spec.networks, !networks.isEmpty { values[.networks] = networks.map(\.summary).joined(separator: ", ") }
        values[.graphics] = spec.graphics?.summary
        if spec.guestAgent { values[.guestAgent] = "true" }
        return values
    }

    /// The compared fields that have a value, in plan order.
    static func orderedValues(of spec: VirtualMachineSpec) -> [(field: VMField, value: String)] {
        let values = values(of: spec)
        return VMField.compared.compactMap { field in values[field].map { (field, $0) } }
    }

    /// Sets `field` of `target` to its value in `source`.
    static func copy(_ field: VMField, from source: VirtualMachineSpec, to target: inout VirtualMachineSpec) {
        switch field {
        case .vcpus: target.vcpus = source.vcpus
        case .maxVcpus: target.maxVcpus = source.effectiveMaxVcpus
        case .memory: target.memory = source.memory
        case .maxMemory: target.maxMemory = source.effectiveMaxMemory
        case .firmware: target.firmware = source.firmware
        case .machine: target.machine = source.machine
        case .cpu: target.cpu = source.cpu
        case .state: target.state = source.state
        case .description: target.description = source.description
        case .labels: target.labels = source.labels
        case .gpus: target.gpus = source.gpus
        case .vgpus: target.vgpus = source.vgpus
        case .boot: target.boot = source.boot
        case .networks: target.networks = source.networks
        case .autostart: target.autostart = source.autostart
        case .graphics: target.graphics = source.graphics
        case .guestAgent: target.guestAgent = source.guestAgent
        case .host, .lifecycle, .disks, .cloudInit, .import: break
        }
        // A copied value may cross the other side's ceiling; keep the spec consistent.
        if target.effectiveMaxVcpus < target.vcpus { target.maxVcpus = target.vcpus }
        if target.effectiveMaxMemory < target.memory { target.maxMemory = target.memory }
    }

    static func render(_ labels: [String: String]) -> String {
        "{" + labels.sorted { $0.key < $1.key }.map { "\($0.key): \($0.value)" }.joined(separator: ", ") + "}"
    }

    /// A field differs where live and desired disagree. It is drift when live also differs from
    /// what was recorded while the manifests did not move; otherwise the manifests changed it.
    struct Difference {
        var field: VMField
        var diff: FieldDiff
    }

    static func diff(live: VirtualMachineSpec, desired: VirtualMachineSpec, recorded: VirtualMachineSpec?) -> [Difference] {
        let liveValues = values(of: live)
        let desiredValues = values(of: desired)
        let recordedValues = recorded.map(values(of:))
        return VMField.compared.compactMap { field in
            let before = liveValues[field]
            let after = desiredValues[field]
            guard before != after else { return nil }
            // A machine type or CPU the manifest leaves open is libvirt's choice, not a difference;
            // autostart is left open only by a spec recorded before vmplan managed it.
            if (field == .machine || field == .cpu || field == .autostart) && after == nil { return nil }
            // Without networks in the manifest the domain's NICs are someone else's.
            if field == .networks && desired.networks == nil { return nil }
            let manifestMoved = recordedValues.map { $0[field] != after } ?? true
            return Difference(field: field, diff: FieldDiff(field, before: before, after: after, origin: manifestMoved ? .manifest : .drift))
        }
    }
}
