import Drivers
import Spec

/// When a VM whose host changed can move instead of being replaced, and what the plan says about it.
enum Migration {
    /// Why `manifest` cannot migrate from where `observed` is, or nil when it can.
    static func blocker(_ manifest: VirtualMachineSpec, observed: ObservedDomain, migratable: Bool) -> String? {
        let config = observed.spec
        if !migratable {
            return "both hosts must be KVM hosts reached through libvirt"
        }
        if !manifest.gpus.isEmpty || !manifest.vgpus.isEmpty || !config.gpus.isEmpty || !config.vgpus.isEmpty {
            return "it has a passthrough GPU or a vGPU, which is bound to its host"
        }
        if !manifest.attachedDisks.isEmpty || !config.attachedDisks.isEmpty {
            return "it has volumes, and moving volumes with a VM is not supported yet"
        }
        var moved = config
        moved.host = manifest.host
        let others = VMFields.diff(live: moved, desired: manifest, recorded: nil).map(\.field.rawValue)
        if !others.isEmpty {
            return "\(others.joined(separator: ", ")) change\(others.count == 1 ? "s" : "") too; change the host alone to migrate"
        }
        return nil
    }

    static func note(_ observed: ObservedDomain, from source: String, to destination: String) -> String {
        observed.isRunning
            ? "host changed from \(source) to \(destination): migrated live, keeping its UUID"
            : "host changed from \(source) to \(destination): shut off, its definition moves (not started), keeping its UUID"
    }
}
