import Drivers
import Spec

extension PlanInputs {
    /// Pools and volumes in every view, so that `apply FILE` refuses when storage moved too.
    /// Keys are `StoragePool/NAME` and `Volume/NAME` (desired, recorded) and `HOST/pool/NAME`,
    /// `HOST/volume/POOL/NAME` (live, only those the manifests or the state name).
    mutating func addStorage(_ storage: StorageSnapshot, vms: [Located<VirtualMachineSpec>]) {
        for pool in storage.pools {
            desired["StoragePool/\(pool.value.name)"] = Self.fields(pool.value)
        }
        for volume in storage.volumes + StoragePlanner.seedVolumes(vms) {
            desired["Volume/\(volume.value.name)"] = Self.fields(volume.value)
        }
        var relevantVolumes: Set<String> = Set(storage.volumes.map(\.value.name))
        var relevantPools: Set<String> = Set(storage.pools.map(\.value.name))
        for (key, entry) in storage.recorded {
            switch entry.spec {
            case .storagePool(let spec):
                recorded[key] = Self.fields(spec)
                relevantPools.insert(spec.name)
            case .volume(let spec):
                recorded[key] = Self.fields(spec)
                relevantVolumes.insert(spec.name)
            case .virtualMachine, .mediatedDevice, .network:
                break
            }
        }
        for owned in storage.owned {
            recorded["owned/\(owned.kind)/\(owned.host)/\(owned.pool)/\(owned.name)"] = ["key": owned.libvirtKey]
        }
        for (host, observed) in storage.live {
            for pool in observed.pools where relevantPools.contains(pool.name) {
                live["\(host)/pool/\(pool.name)"] = ["path": pool.path, "type": pool.type, "active": String(pool.isActive), "uuid": pool.uuid]
            }
            // Seeds have derived names; their VMs are in the plan, so watch them too.
            for volume in observed.volumes where relevantVolumes.contains(volume.name) || volume.name.hasSuffix("-cidata.iso") {
                live["\(host)/volume/\(volume.pool)/\(volume.name)"] = [
                    "capacity": volume.capacity.description, "format": volume.format, "key": volume.key,
                    "backing": volume.backingPath ?? "",
                ]
            }
            for (path, exists) in observed.images {
                live["\(host)/image/\(path)"] = ["exists": String(exists)]
            }
        }
    }

    private static func fields(_ pool: StoragePoolSpec) -> [String: String] {
        var fields = ["host": pool.host, "type": pool.type.rawValue, "path": pool.path]
        if pool.shared { fields["shared"] = "true" }
        return fields
    }

    private static func fields(_ volume: VolumeSpec) -> [String: String] {
        var fields = ["pool": volume.pool, "capacity": volume.capacity.description, "format": volume.format.rawValue,
                      "reclaim": volume.reclaim.rawValue, "shareable": String(volume.shareable)]
        switch volume.source {
        case .image(let path)?: fields["from.image"] = path
        case .volume(let base)?: fields["from.volume"] = base
        case .backing(let base)?: fields["backing"] = base
        case .seed(let hash)?: fields["seed"] = hash
        case nil: break
        }
        return fields
    }
}
