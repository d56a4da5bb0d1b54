import Spec

/// The VirtualMachine fields vmplan compares, rendered for people.
enum VMFields {
    static func values(of spec: VirtualMachineSpec) -> [(field: String, value: String)] {
        var values: [(String, String)] = [
            ("vcpus", String(spec.vcpus)),
            ("maxVcpus", String(spec.effectiveMaxVcpus)),
            ("memory", spec.memory.description),
            ("maxMemory", spec.effectiveMaxMemory.description),
            ("firmware", spec.firmware.rawValue),
            ("state", spec.state.rawValue),
        ]
        if let machine = spec.machine { values.append(("machine", machine.rawValue)) }
        if let description = spec.description { values.append(("description", description)) }
        if !spec.labels.isEmpty { values.append(("labels", render(spec.labels))) }
        if let boot = spec.boot { values.append(("boot", boot.summary)) }
        if !spec.gpus.isEmpty { values.append(("gpus", spec.gpus.map(\.summary).sorted().joined(separator: ", "))) }
        // What a domain's XML can show of a vGPU: its UUID and whether it drives the display.
        if !spec.vgpus.isEmpty {
            values.append(("vgpus", spec.vgpus.map { $0.uuid + ($0.display ? " (display)" : "") }.sorted().joined(separator: ", ")))
        }
        // The seed cdrom is part of the list: adding cloudInit to a VM changes its disks.
        if !spec.attachedDisks.isEmpty { values.append(("disks", spec.attachedDisks.map(\.summary).joined(separator: ", "))) }
        return values
    }

    /// Sets `field` of `target` to its value in `source`.
    static func copy(_ field: String, from source: VirtualMachineSpec, to target: inout VirtualMachineSpec) {
        switch field {
        case "vcpus": target.vcpus = source.vcpus
        case "maxVcpus": target.maxVcpus = source.effectiveMaxVcpus
        case "memory": target.memory = source.memory
        case "maxMemory": target.maxMemory = source.effectiveMaxMemory
        case "firmware": target.firmware = source.firmware
        case "machine": target.machine = source.machine
        case "state": target.state = source.state
        case "description": target.description = source.description
        case "labels": target.labels = source.labels
        case "gpus": target.gpus = source.gpus
        case "vgpus": target.vgpus = source.vgpus
        case "boot": target.boot = source.boot
        default: break
        }
        // A copied value may cross the other side's ceiling; keep the spec consistent.
        if target.effectiveMaxVcpus < target.vcpus { target.maxVcpus = target.vcpus }
        if target.effectiveMaxMemory < target.memory { target.maxMemory = target.memory }
    }

    static func render(_ labels: [String: String]) -> String {
        "{" + labels.sorted { $0.key < $1.key }.map { "\($0.key): \($0.value)" }.joined(separator: ", ") + "}"
    }

    /// Fields where live differs from desired. A field is drift when live also differs from what was
    /// recorded while the manifests did not move; otherwise the manifests changed it.
    static func diff(live: VirtualMachineSpec, desired: VirtualMachineSpec, recorded: VirtualMachineSpec?) -> [FieldDiff] {
        let liveValues = Dictionary(uniqueKeysWithValues: values(of: live).map { ($0.field, $0.value) })
        let desiredValues = Dictionary(uniqueKeysWithValues: values(of: desired).map { ($0.field, $0.value) })
        let recordedValues = recorded.map { Dictionary(uniqueKeysWithValues: values(of: $0).map { ($0.field, $0.value) }) }
        let order = ["vcpus", "maxVcpus", "memory", "maxMemory", "firmware", "machine", "state", "description", "labels", "gpus", "vgpus", "boot", "disks"]
        return order.compactMap { field in
            let before = liveValues[field]
            let after = desiredValues[field]
            guard before != after else { return nil }
            // A machine type the manifest leaves open is libvirt's choice, not a difference.
            if field == "machine" && after == nil { return nil }
            let manifestMoved = recordedValues.map { $0[field] != after } ?? true
            return FieldDiff(field: field, before: before, after: after, origin: manifestMoved ? .manifest : .drift)
        }
    }
}
