/// Checks between storage documents (a Volume's pool exists, a disk's volume is on the VM's
/// host, …) and fills each disk's pool, format and shareable in from its Volume.
enum StorageReferences {
    static func check(_ documents: inout [DecodedDocument], log: inout DiagnosticLog) -> StorageManifest {
        var pools: [String: StoragePoolSpec] = [:]
        var volumes: [String: VolumeSpec] = [:]
        var storage = StorageManifest()
        for document in documents {
            if let pool = document.storage.pool {
                pools[pool.value.name] = pool.value
                storage.pools.append(pool)
            }
            storage.fieldLocations.merge(document.storage.fieldLocations) { first, _ in first }
        }
        for document in documents {
            guard var volume = document.storage.volume else { continue }
            if let pool = pools[volume.value.pool], pool.type == .logical {
                // A logical volume is a raw block device: that is the default there.
                if document.storage.volumeFormatDefaulted { volume.value.format = .raw }
                if let refusal = LogicalPool.refusal(of: volume.value, in: pool) {
                    log.error(refusal.message, at: storage.fieldLocations["Volume/\(volume.value.name).\(refusal.field)"] ?? volume.location)
                }
            }
            volumes[volume.value.name] = volume.value
            storage.volumes.append(volume)
        }
        let poolNames = documents.filter { $0.kind == .storagePool }.compactMap(\.name)
        let volumeNames = documents.filter { $0.kind == .volume }.compactMap(\.name)
        let seedNames = documents.filter { $0.kind == .virtualMachine }.compactMap(\.name).map(VirtualMachineSpec.seedVolumeName)

        for document in documents {
            for reference in document.storage.poolReferences where !poolNames.contains(reference.name) {
                log.error("pool '\(reference.name)' is not defined by any StoragePool document; known pools: "
                    + known(poolNames, "declare one with kind: StoragePool") + DidYouMean.hint(for: reference.name, among: poolNames),
                    at: reference.location)
            }
            for reference in document.storage.volumeReferences where !volumeNames.contains(reference.name) {
                log.error("volume '\(reference.name)' is not defined by any Volume document; known volumes: "
                    + known(volumeNames, "declare one with kind: Volume") + DidYouMean.hint(for: reference.name, among: volumeNames),
                    at: reference.location)
            }
        }

        // Pool paths: two pools on one host must not share a directory (or a volume group, /dev/VG),
        // or either would list the other's volumes; nor may two volume groups claim one device.
        var pathOwners: [String: String] = [:]
        var deviceOwners: [String: String] = [:]
        for pool in storage.pools {
            let spec = pool.value
            let key = "\(spec.host)\u{0}\(spec.path)"
            if let other = pathOwners[key] {
                let what = spec.type == .logical ? "volume group \(spec.volumeGroup ?? spec.path)" : "directory \(spec.path)"
                log.error("StoragePool '\(spec.name)' uses the \(what) of StoragePool '\(other)' on host '\(spec.host)'; each pool needs its own",
                          at: pool.location)
            }
            pathOwners[key] = spec.name
            for device in spec.devices {
                let key = "\(spec.host)\u{0}\(device)"
                if let other = deviceOwners[key], other != spec.name {
                    log.error("StoragePool '\(spec.name)' lists device \(device), which StoragePool '\(other)' also lists on host '\(spec.host)'; a device belongs to one volume group",
                              at: pool.location)
                }
                deviceOwners[key] = spec.name
            }
        }
        for volume in storage.volumes {
            let spec = volume.value
            if seedNames.contains(spec.name) {
                log.error("Volume name '\(spec.name)' is reserved for a VirtualMachine's cloud-init seed; choose another name", at: volume.location)
            }
            // A copy or an overlay reads its base on the same host.
            let base: String? = switch spec.source {
            case .volume(let name)?, .backing(let name)?: name
            default: nil
            }
            if let base, let baseVolume = volumes[base], let host = pools[spec.pool]?.host, let baseHost = pools[baseVolume.pool]?.host, host != baseHost {
                log.error("Volume '\(spec.name)' is on host '\(host)' but its base '\(base)' is on host '\(baseHost)'; copies and overlays need the base on the same host",
                          at: volume.location)
            }
            if base == spec.name {
                log.error("Volume '\(spec.name)' cannot be its own base", at: volume.location)
            }
        }

        checkHostPaths(storage, hosts: documents.compactMap(\.host?.value), pools: pools, log: &log)

        var users: [String: [String]] = [:]
        for index in documents.indices {
            guard var vm = documents[index].virtualMachine else { continue }
            let location = vm.location
            for diskIndex in vm.value.disks.indices {
                let name = vm.value.disks[diskIndex].volume
                guard let volume = volumes[name], let pool = pools[volume.pool] else { continue }
                if pool.host != vm.value.host {
                    log.error("disk volume '\(name)' is in pool '\(pool.name)' on host '\(pool.host)', but VirtualMachine '\(vm.value.name)' runs on '\(vm.value.host)'",
                              at: documents[index].storage.disksLocation ?? location)
                }
                vm.value.disks[diskIndex].pool = volume.pool
                vm.value.disks[diskIndex].format = volume.format
                vm.value.disks[diskIndex].shareable = volume.shareable
                if !users[name, default: []].contains(vm.value.name) { users[name, default: []].append(vm.value.name) }
            }
            if vm.value.cloudInit != nil {
                let cloudInitLocation = documents[index].storage.cloudInitLocation ?? location
                if let poolName = vm.value.seedPool {
                    if let pool = pools[poolName], pool.host != vm.value.host {
                        log.error("the cloud-init seed's pool '\(poolName)' is on host '\(pool.host)', but VirtualMachine '\(vm.value.name)' runs on '\(vm.value.host)'",
                                  at: cloudInitLocation)
                    }
                } else {
                    log.error("cloudInit needs a pool for its seed volume: add cloudInit.pool, or a disk (the seed goes to the first disk's pool)",
                              at: cloudInitLocation)
                }
            }
            documents[index].virtualMachine = vm
        }
        for (name, vms) in users.sorted(by: { $0.key < $1.key }) where vms.count > 1 && volumes[name]?.shareable != true {
            let location = storage.volumes.first { $0.value.name == name }?.location
            log.error("volume '\(name)' is attached to \(vms.count) VMs (\(vms.sorted().joined(separator: ", "))); "
                + "a volume may only be shared when it says shareable: true (and the guests use a cluster file system)", at: location)
        }
        return storage
    }

    /// Directory pools and image files stay out of system directories and inside their host's storageRoots.
    private static func checkHostPaths(_ storage: StorageManifest, hosts: [HostSpec], pools: [String: StoragePoolSpec],
                                       log: inout DiagnosticLog) {
        func check(_ what: String, _ path: String, host name: String?, at location: SourceLocation?) {
            let roots = hosts.first { $0.name == name }?.storageRoots
            if let refusal = HostPaths.refusal(of: path, roots: roots, host: name) { log.error("\(what) \(refusal)", at: location) }
        }
        for pool in storage.pools where pool.value.type == .dir {
            let spec = pool.value
            check("StoragePool path", spec.path, host: spec.host, at: storage.fieldLocations["StoragePool/\(spec.name).path"] ?? pool.location)
        }
        for volume in storage.volumes {
            guard case let .image(path)? = volume.value.source else { continue }
            check("from.image", path, host: pools[volume.value.pool]?.host,
                  at: storage.fieldLocations["Volume/\(volume.value.name).from.image"] ?? volume.location)
        }
    }

    private static func known(_ names: [String], _ fallback: String) -> String {
        names.isEmpty ? "none (\(fallback))" : Array(Set(names)).sorted().joined(separator: ", ")
    }
}
