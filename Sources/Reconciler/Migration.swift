import Drivers
import Spec

/// When a VM whose host changed can move instead of being replaced, and what the plan says about it.
enum Migration {
    /// Why `manifest` cannot migrate from where `observed` is, or nil when it can.
    /// - Parameters:
    ///   - volumeBlockers: why a volume cannot move with its VM, by volume name
    ///     (`StorageMoves.blockers`); volumes not named can.
    ///   - sharedVolumes: volumes in shared storage (`shared: true` pools): they stay where they are.
    static func blocker(_ manifest: VirtualMachineSpec, observed: ObservedDomain, migratable: Bool,
                        volumeBlockers: [String: String] = [:], sharedVolumes: Set<String> = []) -> String? {
        let config = observed.spec
        if manifest.lifecycle.migrate == .never {
            return "lifecycle forbids migration (lifecycle.migrate: never)"
        }
        if !migratable {
            return "both hosts must be KVM hosts reached through libvirt"
        }
        if !manifest.gpus.isEmpty || !manifest.vgpus.isEmpty || !config.gpus.isEmpty || !config.vgpus.isEmpty {
            return "it has a passthrough GPU or a vGPU, which is bound to its host"
        }
        if config.attachedDisks.contains(where: { $0.pool.isEmpty }) {
            return "it has a disk that is no pool volume (a file path), which vmplan cannot copy"
        }
        let copied = manifest.disks.filter { !sharedVolumes.contains($0.volume) }
        if let disk = copied.first(where: { $0.readonly || $0.device == .cdrom }) {
            return "its volume \(disk.volume) is attached read-only, and a live migration copies only writable disks"
        }
        if let disk = copied.first(where: \.shareable) {
            return "its volume \(disk.volume) is shareable: other VMs may use it where it is"
        }
        if let disk = manifest.disks.first(where: { volumeBlockers[$0.volume] != nil }) {
            return "its volume \(disk.volume) \(volumeBlockers[disk.volume] ?? "")"
        }
        var moved = config
        moved.host = manifest.host
        let others = VMFields.diff(live: moved, desired: manifest, recorded: nil).map(\.field.rawValue)
        if !others.isEmpty {
            return "\(others.joined(separator: ", ")) change\(others.count == 1 ? "s" : "") too; change the host alone to migrate"
        }
        return nil
    }

    static func note(_ observed: ObservedDomain, from source: String, to destination: String, volumes: [VolumeMove],
                     shared: [String] = []) -> String {
        let names = volumes.map(\.volume).joined(separator: ", ")
        let staying = shared.isEmpty ? "" : "; its volumes in shared storage (\(shared.joined(separator: ", "))) are not copied"
        if observed.isRunning {
            return "host changed from \(source) to \(destination): migrated live, keeping its UUID"
                + (volumes.isEmpty ? "" : "; its volumes (\(names)) are copied while it runs (copy-storage-all)") + staying
        }
        return "host changed from \(source) to \(destination): shut off, its definition moves (not started), keeping its UUID"
            + (volumes.isEmpty ? "" : "; its volumes (\(names)) are copied first (streamed from \(source) to \(destination))") + staying
    }

    /// The volumes whose data a migrating VM carries: its disks (writable, as `blocker` requires).
    /// Its cloud-init seed is not among them: it is made again on the new host from the manifests.
    static func carried(_ manifest: VirtualMachineSpec, sharedVolumes: Set<String> = []) -> [VolumeMove] {
        manifest.disks.filter { !sharedVolumes.contains($0.volume) }.map { VolumeMove(pool: $0.pool, volume: $0.volume) }
    }
}
