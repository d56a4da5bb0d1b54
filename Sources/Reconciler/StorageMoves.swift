import Drivers
import Spec

/// Pools and volumes whose host changed in the manifests (a pool document's `host`, and with it
/// its volumes): made on the new host, their data carried there by the VM that migrates with them,
/// and what stays on the old host deleted or left there as `reclaim` says, only once the move is done.
enum StorageMoves {
    /// Why a volume cannot move with a migrating VM, by volume name; volumes not named can.
    static func blockers(_ storage: StorageSnapshot) -> [String: String] {
        var blockers: [String: String] = [:]
        let shared = sharedVolumes(storage)
        for volume in storage.volumes.map(\.value) where !shared.contains(volume.name) {
            switch volume.source {
            case .backing(let base)?:
                blockers[volume.name] = "is a qcow2 overlay of volume \(base) (from: {backing}), and overlays are not copied between hosts"
                blockers[base] = blockers[base] ?? "is the base of overlay \(volume.name), and bases are not copied between hosts"
            default:
                // An imported qcow2 may have a backing file of its own: a stream copies the
                // reference, not the file it points to.
                let host = storage.recorded[StorageSnapshot.key(.volume, volume.name)]?.host
                if let backing = host.flatMap({ storage.live[$0]?.volume(pool: volume.pool, name: volume.name) })?.backingPath, !backing.isEmpty {
                    blockers[volume.name] = "has a backing file (\(backing)) on its host, and backing files are not copied between hosts"
                }
            }
        }
        return blockers
    }

    /// Volumes in pools that are shared storage (`shared: true`): they stay where they are when their VM moves.
    static func sharedVolumes(_ storage: StorageSnapshot) -> Set<String> {
        let pools = Set(storage.pools.map(\.value).filter(\.shared).map(\.name))
        return Set(storage.volumes.map(\.value).filter { pools.contains($0.pool) }.map(\.name))
    }

    /// The host `kind/name` is recorded on, when the manifests put it on another one.
    static func movedFrom(_ storage: StorageSnapshot, _ kind: ResourceKind, _ name: String, to host: String) -> String? {
        guard let recorded = storage.recorded[StorageSnapshot.key(kind, name)], recorded.host != host else { return nil }
        return recorded.host
    }

    /// What a change made on the new host of a moving pool or volume says and records: the record
    /// stays on the old host until the change that clears the old host (`leftBehind`) is done.
    static func onNewHost(_ change: inout ResourceChange, from old: String, carrier: String?, shared: Bool) {
        change.recordHost = old
        change.previousHost = old
        if change.action == .create { change.reason = .hostChanged }
        if shared, change.kind == .volume, change.action == .create {
            change.action = .migrate
            change.notes = ["moves from \(old) to \(change.host) in shared storage: the same file, nothing is copied; recorded as vmplan's here"]
            return
        }
        let isSeed = if case .volume(let spec)? = change.after, case .seed? = spec.source { true } else { false }
        switch (change.kind, change.action, carrier) {
        case (.volume, .create, let vm?):
            change.action = .migrate
            change.notes = [isSeed
                ? "moves from \(old) to \(change.host) with \(vm): a cloud-init seed, built again here from the manifests"
                : "moves from \(old) to \(change.host) with \(vm): created empty here, its data copied in by \(vm)'s migration"]
        case (.volume, .create, nil):
            change.notes = ["moves from \(old) to \(change.host), but no VM migration carries its data "
                + "(its VM is replaced, or it is attached to none): created anew here, as a new volume would be"]
        case (.storagePool, .create, _):
            change.notes = ["moves from \(old) to \(change.host): created here for the volumes that move with it"]
        default:
            change.notes.append("moves from \(old) to \(change.host): already here (an earlier apply made it)")
        }
    }

    /// For each moving volume, then each moving pool: what happens on the old host once the move is
    /// done. A copy vmplan made is deleted with `reclaim: delete` (said as DATA LOSS unless a
    /// migration copied it), otherwise left there with its data and forgotten; a pool is deleted
    /// when nothing stays in it. These changes move the record to the new host.
    /// - Parameter handledVMs: the VMs this plan takes care of; their domains on the old host move or go.
    static func leftBehind(_ storage: StorageSnapshot, volumes: [Located<VolumeSpec>], carriers: [String: String], handledVMs: Set<String>,
                           domains: [String: [ObservedDomain]], changes: inout [ResourceChange], problems: inout [Diagnostic]) {
        let poolHosts = Dictionary(storage.pools.map { ($0.value.name, $0.value.host) }, uniquingKeysWith: { first, _ in first })
        let sharedPools = Set(storage.pools.map(\.value).filter(\.shared).map(\.name))
        for volume in volumes.map(\.value) {
            guard let host = poolHosts[volume.pool], let old = movedFrom(storage, .volume, volume.name, to: host) else { continue }
            guard let live = storage.live[old] else {
                problems.append(Self.unobserved("Volume", volume.name, from: old, to: host))
                continue
            }
            let isSeed = if case .seed = volume.source { true } else { false }
            var change = ResourceChange(ResourceAddress(.volume, volume.name, host: old), action: .forget, reason: .hostChanged,
                                        effect: .leaveBehind(pool: volume.pool, expectedKey: "", delete: false),
                                        before: storage.recorded[StorageSnapshot.key(.volume, volume.name)]?.spec, after: .volume(volume),
                                        summary: "left on \(old): pool \(volume.pool), " + (isSeed ? "cloud-init seed" : "\(volume.capacity) \(volume.format.rawValue)"),
                                        usedBy: carriers[volume.name])
            change.recordHost = host
            let carrier = carriers[volume.name]
            guard let existing = live.volume(pool: volume.pool, name: volume.name) else {
                change.notes = ["moved to \(host); already gone from \(old): only the record moves"]
                changes.append(change)
                continue
            }
            if sharedPools.contains(volume.pool) {
                change.effect = .leaveBehind(pool: volume.pool, expectedKey: existing.key, delete: false)
                change.notes = ["pool \(volume.pool) is shared storage: on \(old) this is the file \(host) now uses; nothing is deleted, vmplan forgets it on \(old)"]
                changes.append(change)
                continue
            }
            guard let owner = storage.owner(.volume, host: old, pool: volume.pool, name: volume.name), owner.libvirtKey == existing.key else {
                change.notes = ["moved to \(host); vmplan did not create the volume on \(old), so it stays there with its data"]
                changes.append(change)
                continue
            }
            // A domain vmplan does not move or remove in this plan would lose its disk.
            let users = (domains[old] ?? []).filter { domain in
                !(domain.isManaged && handledVMs.contains(domain.name)) && domain.spec.disks.contains { $0.pool == volume.pool && $0.volume == volume.name }
            }
            if volume.reclaim == .delete, !users.isEmpty {
                problems.append(Diagnostic("Volume '\(volume.name)' moves to host '\(host)' with reclaim: delete, but is a disk of domain "
                    + "\(users.map(\.name).sorted().joined(separator: ", ")) on host '\(old)', which this plan does not move or remove; detach it first", at: nil))
                continue
            }
            guard volume.reclaim == .delete else {
                change.effect = .leaveBehind(pool: volume.pool, expectedKey: existing.key, delete: false)
                change.notes = [carrier.map { "its copy on \(old) stays there once \($0) has moved (reclaim: retain): vmplan forgets it; remove it by hand when the copy on \(host) is checked" }
                    ?? "its copy on \(old) stays there with its data (reclaim: retain): vmplan forgets it"]
                changes.append(change)
                continue
            }
            change.action = .delete
            change.effect = .leaveBehind(pool: volume.pool, expectedKey: existing.key, delete: true)
            change.dataLoss = carrier == nil && !isSeed
            change.notes = [isSeed ? "the cloud-init seed on \(old) is deleted: it is built again on \(host)"
                : carrier.map { "its copy on \(old) is deleted (reclaim: delete) once \($0) has moved: the data lives on in the copy on \(host)" }
                    ?? "its copy on \(old) is DELETED with its data (reclaim: delete): nothing copies it to \(host)"]
            changes.append(change)
        }

        for pool in storage.pools.map(\.value) {
            guard let old = movedFrom(storage, .storagePool, pool.name, to: pool.host) else { continue }
            guard let live = storage.live[old] else {
                problems.append(Self.unobserved("StoragePool", pool.name, from: old, to: pool.host))
                continue
            }
            var change = ResourceChange(ResourceAddress(.storagePool, pool.name, host: old), action: .forget, reason: .hostChanged,
                                        effect: .leaveBehind(pool: pool.name, expectedKey: "", delete: false),
                                        before: storage.recorded[StorageSnapshot.key(.storagePool, pool.name)]?.spec, after: .storagePool(pool),
                                        summary: "left on \(old)")
            change.recordHost = pool.host
            let leaving = Set(changes.filter { $0.kind == .volume && $0.host == old && $0.action == .delete }.map(\.name))
            let remaining = live.volumes.filter { $0.pool == pool.name && !leaving.contains($0.name) }.map(\.name).sorted()
            guard let existing = live.pool(pool.name), let owner = storage.owner(.storagePool, host: old, pool: pool.name, name: pool.name),
                  owner.libvirtKey == existing.uuid else {
                change.notes = ["moved to \(pool.host); vmplan did not create it on \(old) (or it is gone): it stays, only the record moves"]
                changes.append(change)
                continue
            }
            // A shared pool's directory is the one the new host uses: never removed.
            change.effect = .leaveBehind(pool: pool.name, expectedKey: existing.uuid, delete: remaining.isEmpty && !pool.shared)
            if pool.shared {
                change.notes = ["moved to \(pool.host); shared storage: its directory is the one \(pool.host) uses, so the pool stays defined on \(old) "
                    + "and vmplan forgets it there (undefine it by hand: virsh pool-undefine, never pool-delete)"]
            } else if remaining.isEmpty {
                change.action = .delete
                change.notes = ["moved to \(pool.host); empty on \(old) once its volumes have moved: stopped, its directory removed and undefined there"]
            } else {
                change.notes = ["moved to \(pool.host); on \(old) it still holds \(remaining.joined(separator: ", ")): it stays there, vmplan forgets it"]
            }
            changes.append(change)
        }
    }

    /// A move from a host the run did not observe (no Host document names it any more) could never clear it.
    private static func unobserved(_ kind: String, _ name: String, from old: String, to host: String) -> Diagnostic {
        Diagnostic("\(kind) '\(name)' moves from host '\(old)' to '\(host)', but no Host document names '\(old)' any more; "
            + "keep that Host document until the move is applied (its copy there is deleted or left as reclaim says)", at: nil)
    }
}
