import Drivers
import Spec

extension StoragePlanner {
    /// Recorded pools and volumes that left the manifests. Only what vmplan created (the ownership
    /// table, with libvirt's key matching) is ever deleted, and a volume only with `reclaim: delete`
    /// in its recorded spec; everything else is forgotten: its record goes, the object stays.
    static func removals(_ storage: StorageSnapshot, desiredVolumes: [Located<VolumeSpec>], handledVMs: Set<String>,
                         domains: [String: [ObservedDomain]], changes: inout [ResourceChange], problems: inout [Diagnostic]) {
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
            var change = ResourceChange(ResourceAddress(.volume, spec.name, host: host), action: .forget, reason: .removedFromManifests,
                                        effect: .recordOnly, before: entry.spec, summary: summary)
            let existing = live.volume(pool: spec.pool, name: spec.name)
            let owner = storage.owner(.volume, host: host, pool: spec.pool, name: spec.name)
            guard let existing else {
                change.notes = ["removed from the manifests; the volume is already gone from \(host), only the record is dropped"]
                changes.append(change)
                continue
            }
            guard let owner, owner.libvirtKey == existing.key else {
                change.notes = ["removed from the manifests; vmplan did not create this volume, so it stays on the host and only the record is dropped"]
                changes.append(change)
                continue
            }
            guard spec.reclaim == .delete else {
                change.notes = ["removed from the manifests; reclaim: retain keeps it on the host with its data, vmplan only forgets it"]
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
            change.action = .delete
            change.effect = .deleteVolume(pool: spec.pool, expectedKey: existing.key)
            change.dataLoss = !isSeed
            change.notes = [isSeed ? "the VM's cloudInit is gone; the seed is deleted" : "removed from the manifests with reclaim: delete: its data is deleted"]
            deleted.insert("\(spec.pool)/\(spec.name)")
            changes.append(change)
        }

        for (_, entry) in storage.recorded.sorted(by: { $0.key < $1.key }) {
            guard case .storagePool(let spec) = entry.spec, !desiredPoolNames.contains(spec.name), let live = storage.live[entry.host] else { continue }
            var change = ResourceChange(ResourceAddress(.storagePool, spec.name, host: entry.host), action: .forget, reason: .removedFromManifests,
                                        effect: .recordOnly, before: entry.spec, summary: "\(entry.host), \(spec.shortDescription)")
            let remaining = live.volumes.filter { $0.pool == spec.name && !deleted.contains("\($0.pool)/\($0.name)") }.map(\.name).sorted()
            if let existing = live.pool(spec.name), let owner = storage.owner(.storagePool, host: entry.host, pool: spec.name, name: spec.name),
               owner.libvirtKey == existing.uuid {
                if remaining.isEmpty {
                    change.action = .delete
                    change.effect = .deletePool(expectedUUID: existing.uuid)
                    change.notes = [spec.type == .dir
                        ? "removed from the manifests; the pool is empty: it is stopped, its directory removed and it is undefined"
                        : "removed from the manifests; the pool is empty: it is stopped and undefined. The volume group \(spec.volumeGroup ?? spec.path) "
                            + "and its devices stay on the host (vmplan never removes a volume group)"]
                } else {
                    change.notes = ["removed from the manifests, but it still holds \(remaining.joined(separator: ", ")): the pool stays, vmplan only forgets it"]
                }
            } else {
                change.notes = ["removed from the manifests; vmplan did not create this pool (or it is gone), so only the record is dropped"]
            }
            changes.append(change)
        }
    }
}
