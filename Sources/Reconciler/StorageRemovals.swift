import Drivers
import Spec

extension StoragePlanner {
    /// Recorded pools and volumes that left the manifests. Only what vmplan created (the ownership
    /// table, with libvirt's key matching) is ever deleted, and a volume only with `reclaim: delete`
    /// in its recorded spec; everything else is forgotten: its record goes, the object stays.
    static func removals(_ storage: StorageSnapshot, desiredVolumes: [Located<VolumeSpec>], handledVMs: Set<String>,
                         domains: [String: [ObservedDomain]], changes: inout [StorageChange], problems: inout [Diagnostic]) {
        let desiredVolumeNames = Set(desiredVolumes.map(\.value.name))
        let desiredPoolNames = Set(storage.pools.map(\.value.name))
        var deleted: Set<String> = []  // "pool/volume" deleted by this plan
        for (_, entry) in storage.recorded.sorted(by: { $0.key < $1.key }) {
            guard case .volume(let spec) = entry.spec, !desiredVolumeNames.contains(spec.name) else { continue }
            let host = entry.host
            guard let live = storage.live[host] else {
                problems.append(Diagnostic("Volume '\(spec.name)' is recorded on host '\(host)', which no Host document names any more; "
                    + "keep the Host document until its volumes are removed", at: nil))
                continue
            }
            let isSeed = if case .seed = spec.source { true } else { false }
            let summary = isSeed ? "pool \(spec.pool), cloud-init seed" : "pool \(spec.pool), \(spec.capacity) \(spec.format.rawValue)"
            var change = StorageChange(kind: .volume, name: spec.name, host: host, pool: spec.pool, action: .delete,
                                       effect: .forget, summary: summary, record: nil)
            let existing = live.volume(pool: spec.pool, name: spec.name)
            let owner = storage.owner(.volume, host: host, pool: spec.pool, name: spec.name)
            guard let existing else {
                change.reasons = ["removed from the manifests; the volume is already gone from \(host), only the record is dropped"]
                changes.append(change)
                continue
            }
            guard let owner, owner.libvirtKey == existing.key else {
                change.reasons = ["removed from the manifests; vmplan did not create this volume, so it stays on the host and only the record is dropped"]
                changes.append(change)
                continue
            }
            guard spec.reclaim == .delete else {
                change.reasons = ["removed from the manifests; reclaim: retain keeps it on the host with its data, vmplan only forgets it"]
                changes.append(change)
                continue
            }
            // A domain vmplan does not handle in this plan would lose its disk.
            let users = (domains[host] ?? []).filter { domain in
                !(domain.isManaged && handledVMs.contains(domain.name))
                    && domain.spec.disks.contains { $0.pool == spec.pool && $0.volume == spec.name }
            }
            if !users.isEmpty {
                problems.append(Diagnostic("Volume '\(spec.name)' is to be deleted (reclaim: delete) but is a disk of domain "
                    + "\(users.map(\.name).sorted().joined(separator: ", ")) on host '\(host)', which this plan does not remove; detach it first", at: nil))
                continue
            }
            change.effect = .deleteVolume(expectedKey: existing.key)
            change.dataLoss = !isSeed
            change.reasons = [isSeed ? "the VM's cloudInit is gone; the seed is deleted" : "removed from the manifests with reclaim: delete: its data is deleted"]
            deleted.insert("\(spec.pool)/\(spec.name)")
            changes.append(change)
        }

        for (_, entry) in storage.recorded.sorted(by: { $0.key < $1.key }) {
            guard case .pool(let spec) = entry.spec, !desiredPoolNames.contains(spec.name), let live = storage.live[entry.host] else { continue }
            var change = StorageChange(kind: .pool, name: spec.name, host: entry.host, pool: spec.name, action: .delete,
                                       effect: .forget, summary: "\(entry.host), \(spec.shortDescription)", record: nil)
            let remaining = live.volumes.filter { $0.pool == spec.name && !deleted.contains("\($0.pool)/\($0.name)") }.map(\.name).sorted()
            if let existing = live.pool(spec.name), let owner = storage.owner(.pool, host: entry.host, pool: spec.name, name: spec.name),
               owner.libvirtKey == existing.uuid {
                if remaining.isEmpty {
                    change.effect = .deletePool(expectedUUID: existing.uuid)
                    change.reasons = [spec.type == .dir
                        ? "removed from the manifests; the pool is empty: it is stopped, its directory removed and it is undefined"
                        : "removed from the manifests; the pool is empty: it is stopped and undefined. The volume group \(spec.volumeGroup ?? spec.path) "
                            + "and its devices stay on the host (vmplan never removes a volume group)"]
                } else {
                    change.reasons = ["removed from the manifests, but it still holds \(remaining.joined(separator: ", ")): the pool stays, vmplan only forgets it"]
                }
            } else {
                change.reasons = ["removed from the manifests; vmplan did not create this pool (or it is gone), so only the record is dropped"]
            }
            changes.append(change)
        }
    }
}
