import Drivers
import Spec

/// Plans pools and volumes, cloud-init seeds included. Pure, like `Planner`: no I/O.
/// Nothing absent from the ownership table is ever deleted; a volume's data goes only when its
/// recorded spec says `reclaim: delete`.
public enum StoragePlanner {
    /// - Parameters:
    ///   - recordedVMs: names of the VMs in the state database; with the desired ones, the
    ///     domains whose disks the VM planner takes care of.
    ///   - carriers: the VM whose migration carries a volume's data to its new host, by volume name.
    public static func plan(_ storage: StorageSnapshot, vms: [Located<VirtualMachineSpec>], recordedVMs: Set<String>,
                            domains: [String: [ObservedDomain]], carriers: [String: String] = [:]) throws(PlanError) -> [ResourceChange] {
        var problems: [Diagnostic] = []
        var changes: [ResourceChange] = []
        let poolSpecs = Dictionary(storage.pools.map { ($0.value.name, $0.value) }, uniquingKeysWith: { first, _ in first })
        let desiredVolumes = storage.volumes + seedVolumes(vms)
        var planned: Set<String> = []  // volumes that exist or will before their dependants are made
        // Storage of VMs being imported (`import: {uuid}`) is taken over with them, as it is.
        let importingVMs = DomainImports.importing(vms, recorded: recordedVMs)
        let importedVolumes = Dictionary(importingVMs.flatMap { vm in vm.disks.map { ($0.volume, vm.name) } }, uniquingKeysWith: { first, _ in first })
        let importedPools = Set(importingVMs.flatMap { $0.disks.map(\.pool) })

        for located in storage.pools {
            let spec = located.value
            let summary = "\(spec.host), \(spec.shortDescription)"
            let address = ResourceAddress(.storagePool, spec.name, host: spec.host)
            let record = ResourceValue.storagePool(spec)
            let recorded = storage.recorded[StorageSnapshot.key(.storagePool, spec.name)]
            guard let live = storage.live[spec.host] else { continue }  // the VM planner reports unobserved hosts
            guard let existing = live.pool(spec.name) else {
                var change = ResourceChange(address, action: .create, reason: recorded == nil ? .new : .goneFromHost, effect: .createPool(spec),
                                            notes: [recorded == nil ? "new in the manifests" : "recorded, but gone from \(spec.host): deleted outside vmplan"],
                                            before: recorded?.spec, after: record, summary: summary)
                change.diffs = spec.type == .dir ? [FieldDiff(field: "path", before: nil, after: spec.path, origin: .manifest)]
                    : [FieldDiff(field: "volumeGroup", before: nil, after: spec.volumeGroup ?? "", origin: .manifest)]
                        + (spec.devices.isEmpty ? [] : [FieldDiff(field: "devices", before: nil, after: spec.devices.joined(separator: ", "), origin: .manifest)])
                if spec.type == .logical {
                    change.dataLoss = spec.build
                    change.notes.append(spec.build
                        ? "build: true makes the volume group \(spec.volumeGroup ?? "") on \(spec.devices.joined(separator: ", ")): whatever they hold is lost "
                            + "(libvirt refuses a device with a file system, partition table or LVM signature)"
                        : "uses the existing volume group \(spec.volumeGroup ?? ""); starting the pool fails if the host has no such group")
                }
                changes.append(change)
                continue
            }
            if storage.owner(.storagePool, host: spec.host, pool: spec.name, name: spec.name) == nil,
               storage.interruptedCreates.contains(address), existing.path == spec.path, existing.type == spec.type.rawValue {
                changes.append(ResourceChange(address, action: .adopt, reason: .interruptedCreate,
                                              effect: .adoptStorage(pool: spec.name, key: existing.uuid),
                                              notes: [Self.interruptedNote], before: recorded?.spec, after: record, summary: summary))
                continue
            }
            if existing.path != spec.path || existing.type != spec.type.rawValue {
                problems.append(Diagnostic("pool '\(spec.name)' already exists on host '\(spec.host)' as \(existing.type) \(existing.path), but the manifests say \(spec.type.rawValue) \(spec.path); "
                    + "a pool's type and path cannot change: use another name, or fix the manifest", at: located.location))
            } else if !existing.isActive {
                problems.append(Diagnostic("pool '\(spec.name)' on host '\(spec.host)' is defined but not running; start it (virsh pool-start \(spec.name)) and plan again", at: located.location))
            }
            let recordBehind = recorded.map { $0.spec != record } ?? true
            if recorded == nil, importedPools.contains(spec.name), storage.owner(.storagePool, host: spec.host, pool: spec.name, name: spec.name) == nil {
                changes.append(ResourceChange(address, action: .import, reason: .importRequested, effect: .recordOnly,
                                              notes: ["an existing pool a VM being imported uses: recorded, never changed or deleted (vmplan did not create it)"],
                                              after: record, summary: summary))
                continue
            }
            changes.append(ResourceChange(address, action: .noop, reason: recordBehind ? .recordBehind : .inSync,
                                          effect: recordBehind ? .recordOnly : .none, before: recorded?.spec, after: record, summary: summary))
        }

        // Bases first, so that copies and overlays find them; seeds need nothing.
        var needed: [String: ByteCount] = [:]  // pool → bytes the plan adds
        for located in ordered(desiredVolumes) {
            let spec = located.value
            guard let poolSpec = poolSpecs[spec.pool], let live = storage.live[poolSpec.host] else { continue }
            let host = poolSpec.host
            let isSeed = if case .seed = spec.source { true } else { false }
            let address = ResourceAddress(.volume, spec.name, host: host)
            let recorded = storage.recorded[StorageSnapshot.key(.volume, spec.name)]
            let capacityAt = storage.fieldLocations["Volume/\(spec.name).capacity"] ?? located.location
            let summary = isSeed ? "pool \(spec.pool), cloud-init seed" : "pool \(spec.pool), \(spec.capacity) \(spec.format.rawValue)"
            if let refusal = LogicalPool.refusal(of: spec, in: poolSpec) {
                problems.append(Diagnostic(refusal.message, at: storage.fieldLocations["Volume/\(spec.name).\(refusal.field)"] ?? located.location))
                planned.insert(spec.name)  // one error for it, none for its copies
                continue
            }
            let sharedMove = poolSpec.shared && StorageMoves.movedFrom(storage, .volume, spec.name, to: host) != nil
            guard let existing = live.volume(pool: spec.pool, name: spec.name) else {
                if sharedMove {  // the pool here may list it only once it is refreshed, or made
                    changes.append(ResourceChange(address, action: .create, reason: .hostChanged, effect: .adoptSharedVolume(pool: spec.pool),
                                                  before: recorded?.spec, after: .volume(spec), summary: summary))
                    planned.insert(spec.name)
                    continue
                }
                // A migration fills it: its source is not read again.
                let carried = StorageMoves.movedFrom(storage, .volume, spec.name, to: host) != nil && carriers[spec.name] != nil
                let content: VolumeContent
                switch spec.source {
                case _ where carried && !isSeed: content = .empty
                case nil: content = .empty
                case .image(let path)?:
                    content = .image(path: path)
                    if live.images[path] != true {
                        problems.append(Diagnostic("Volume '\(spec.name)': base image \(path) does not exist on host '\(host)' "
                            + "(or is not a readable file; image files are read on the machine running vmplan, which must be the host)", at: located.location))
                    }
                case .volume(let base)?, .backing(let base)?:
                    let basePool = storage.volumes.first { $0.value.name == base }?.value.pool ?? ""
                    content = spec.source == .volume(base) ? .copy(pool: basePool, volume: base) : .overlay(pool: basePool, volume: base)
                    if !planned.contains(base) {
                        problems.append(Diagnostic("Volume '\(spec.name)' needs volume '\(base)', which neither exists nor is created by this plan", at: located.location))
                    }
                case .seed?:
                    let vm = vms.first { VirtualMachineSpec.seedVolumeName(for: $0.value.name) == spec.name }?.value
                    content = .seed((vm?.cloudInit?.files(vmName: vm?.name ?? "") ?? []).map { SeedFile(name: $0.name, content: $0.content) })
                }
                if !isSeed { needed[spec.pool, default: ByteCount(bytes: 0)].bytes += spec.capacity.bytes }
                changes.append(ResourceChange(address, action: .create, reason: recorded == nil ? .new : .goneFromHost,
                                              effect: .createVolume(spec, content),
                                              notes: [recorded == nil ? "new in the manifests" : "recorded, but gone from pool \(spec.pool): deleted outside vmplan"],
                                              before: recorded?.spec, after: .volume(spec), summary: summary))
                planned.insert(spec.name)
                continue
            }
            planned.insert(spec.name)
            if storage.owner(.volume, host: host, pool: spec.pool, name: spec.name) == nil, storage.interruptedCreates.contains(address) {
                changes.append(ResourceChange(address, action: .adopt, reason: .interruptedCreate,
                                              effect: .adoptStorage(pool: spec.pool, key: existing.key),
                                              notes: [Self.interruptedNote], before: recorded?.spec, after: .volume(spec), summary: summary))
                continue
            }
            if recorded == nil, let vm = importedVolumes[spec.name], storage.owner(.volume, host: host, pool: spec.pool, name: spec.name) == nil {
                if existing.format != spec.format.rawValue || existing.capacity != spec.capacity {
                    problems.append(Diagnostic("Volume '\(spec.name)' is imported with \(vm), but it is \(existing.capacity) \(existing.format) on the host and "
                        + "\(spec.capacity) \(spec.format.rawValue) in the manifests; an import changes nothing: make them match", at: capacityAt))
                    continue
                }
                changes.append(ResourceChange(address, action: .import, reason: .importRequested, effect: .adoptStorage(pool: spec.pool, key: existing.key),
                                              notes: ["an existing volume \(vm) uses, imported with it as it is: recorded as vmplan's with reclaim: \(spec.reclaim.rawValue)"
                                                  + (spec.reclaim == .retain ? " (it stays on the host if it leaves the manifests)" : " (DELETED if it leaves the manifests)")],
                                              after: .volume(spec), summary: summary))
                continue
            }
            if sharedMove, storage.owner(.volume, host: host, pool: spec.pool, name: spec.name) == nil {
                changes.append(ResourceChange(address, action: .create, reason: .hostChanged, effect: .adoptStorage(pool: spec.pool, key: existing.key),
                                              before: recorded?.spec, after: .volume(spec), summary: summary))
                continue
            }
            guard let owner = storage.owner(.volume, host: host, pool: spec.pool, name: spec.name), owner.libvirtKey == existing.key else {
                if let old = StorageMoves.movedFrom(storage, .volume, spec.name, to: host) {
                    problems.append(Diagnostic("Volume '\(spec.name)' moves from host '\(old)' to '\(host)', but pool '\(spec.pool)' on '\(host)' already has "
                        + "a volume of that name that vmplan did not create (storage both hosts share, or one left there): if the pool's directory "
                        + "is storage both hosts share, say so with shared: true on the StoragePool; otherwise move that volume away by hand", at: located.location))
                    continue
                }
                problems.append(Diagnostic("a volume named '\(spec.name)' already exists in pool '\(spec.pool)' on host '\(host)' and was not created by vmplan; "
                    + "vmplan never takes over a volume it did not create: rename the Volume, or move that volume away by hand", at: located.location))
                continue
            }
            let recordBehind = recorded.map { $0.spec != .volume(spec) } ?? true
            var change = ResourceChange(address, action: .noop, reason: recordBehind ? .recordBehind : .inSync,
                                        effect: recordBehind ? .recordOnly : .none, before: recorded?.spec, after: .volume(spec), summary: summary)
            if case .volume(let old)? = recorded?.spec {
                for (field, before, after) in [("reclaim", old.reclaim.rawValue, spec.reclaim.rawValue),
                                               ("shareable", String(old.shareable), String(spec.shareable))] where before != after {
                    change.diffs.append(FieldDiff(field: field, before: before, after: after, origin: .manifest))
                }
            }
            if isSeed {
                if case .volume(let old)? = recorded?.spec, old.source != spec.source {
                    let vm = vms.first { VirtualMachineSpec.seedVolumeName(for: $0.value.name) == spec.name }?.value
                    let files = (vm?.cloudInit?.files(vmName: vm?.name ?? "") ?? []).map { SeedFile(name: $0.name, content: $0.content) }
                    change.action = .update
                    change.reason = .fieldsDiffer
                    change.effect = .rebuildVolume(spec, .seed(files), expectedKey: existing.key)
                    change.diffs.append(FieldDiff(.cloudInit, before: "previous seed", after: "new files", origin: .manifest))
                    let running = vm.flatMap { vm in domains[host]?.first { $0.name == vm.name } }?.isRunning ?? false
                    change.notes.append(running
                        ? "the cloud-init files changed; \(vm?.name ?? "the VM") is running and reads the new seed only after it restarts (vmplan does not restart it for this)"
                        : "the cloud-init files changed; the VM reads the new seed when it next boots")
                }
            } else if existing.format != spec.format.rawValue {
                problems.append(Diagnostic("Volume '\(spec.name)' is \(existing.format) on the host but the manifests say format: \(spec.format.rawValue); "
                    + "a volume's format cannot change in place: create a new Volume and copy it (from: {volume: \(spec.name)})", at: located.location))
            } else if spec.capacity < existing.capacity {
                problems.append(Diagnostic("Volume '\(spec.name)': capacity \(spec.capacity) is smaller than the volume's current size \(existing.capacity); "
                    + "shrinking a volume loses data and is refused. Set capacity to at least \(existing.capacity)", at: capacityAt))
            } else if spec.capacity > existing.capacity, poolSpec.type == .logical {
                problems.append(Diagnostic("Volume '\(spec.name)': growing a volume in the logical (LVM) pool '\(spec.pool)' from \(existing.capacity) to \(spec.capacity) is refused: "
                    + "libvirt's LVM backend cannot resize logical volumes (virStorageVolResize is unsupported there). "
                    + "Grow it by hand (lvextend -L \(spec.capacity.bytes / 1024)k \(existing.path)) and plan again, or keep capacity at \(existing.capacity)", at: capacityAt))
            } else if spec.capacity > existing.capacity {
                let user = domains[host]?.first { $0.isRunning && ($0.runningSpec ?? $0.spec).disks.contains { $0.pool == spec.pool && $0.volume == spec.name } }
                change.action = .update
                change.reason = .fieldsDiffer
                change.effect = .growVolume(pool: spec.pool, to: spec.capacity)
                change.diffs.append(FieldDiff(field: "capacity", before: existing.capacity.description, after: spec.capacity.description, origin: .manifest))
                change.notes.append(user.map { "grows in place, live: \($0.name) is running with it attached (virDomainBlockResize)" } ?? "grows in place")
                needed[spec.pool, default: ByteCount(bytes: 0)].bytes += spec.capacity.bytes - existing.capacity.bytes
            }
            if change.action == .noop, !change.diffs.isEmpty {  // reclaim/shareable: recorded only
                change.action = .update
                change.reason = .fieldsDiffer
                change.effect = .recordOnly
            }
            changes.append(change)
        }

        for index in changes.indices {
            let change = changes[index]
            guard let old = StorageMoves.movedFrom(storage, change.kind, change.name, to: change.host) else { continue }
            let shared = if case .volume(let spec)? = change.after { poolSpecs[spec.pool]?.shared ?? false } else { false }
            StorageMoves.onNewHost(&changes[index], from: old, carrier: carriers[change.name], shared: shared)
        }

        for (pool, bytes) in needed.sorted(by: { $0.key < $1.key }) {
            guard let poolSpec = poolSpecs[pool], let live = storage.live[poolSpec.host]?.pool(pool), live.isActive, bytes > live.available else { continue }
            let first = desiredVolumes.first { $0.value.pool == pool }
            let location = first.flatMap { storage.fieldLocations["Volume/\($0.value.name).capacity"] } ?? first?.location
            problems.append(Diagnostic("volumes planned in pool '\(pool)' on host '\(poolSpec.host)' need \(bytes) more, "
                + "but the pool has only \(live.available) free (libvirt's pool info); lower the capacities or free space in \(live.path)", at: location))
        }

        let handledVMs = recordedVMs.union(vms.map(\.value.name))
        removals(storage, desiredVolumes: desiredVolumes, handledVMs: handledVMs, domains: domains, changes: &changes, problems: &problems)
        StorageMoves.leftBehind(storage, volumes: desiredVolumes, carriers: carriers, handledVMs: handledVMs, domains: domains,
                                changes: &changes, problems: &problems)
        guard problems.isEmpty else { throw PlanError(problems) }
        return changes
    }

    static let interruptedNote = "an apply that stopped before recording it created this (its journal entry is still pending): "
        + "it is recorded as vmplan's, the host is not changed"

    /// With `--target`, only the storage the targeted VMs use: their volumes, those volumes' bases
    /// and pools. Nothing is removed in a targeted plan.
    public static func scoped(_ changes: [ResourceChange], to targets: Set<String>, vms: [Located<VirtualMachineSpec>],
                              volumes: [Located<VolumeSpec>]) -> [ResourceChange] {
        guard !targets.isEmpty else { return changes }
        var names = Set(vms.filter { targets.contains($0.value.name) }.flatMap { $0.value.attachedDisks.map(\.volume) })
        var pending = Array(names)
        while let name = pending.popLast() {
            switch volumes.first(where: { $0.value.name == name })?.value.source {
            case .volume(let base)?, .backing(let base)?:
                if names.insert(base).inserted { pending.append(base) }
            default: break
            }
        }
        let pools = Set(changes.compactMap { change -> String? in
            guard case .volume(let spec)? = change.after, names.contains(spec.name) else { return nil }
            return spec.pool
        })
        return changes.filter { change in
            !change.action.isRemoval && (change.kind == .volume ? names.contains(change.name) : pools.contains(change.name))
        }
    }

    /// Seeds are volumes vmplan derives from each VM's cloudInit; they hold no user data.
    static func seedVolumes(_ vms: [Located<VirtualMachineSpec>]) -> [Located<VolumeSpec>] {
        vms.compactMap { located in
            let vm = located.value
            guard let cloudInit = vm.cloudInit, let pool = vm.seedPool else { return nil }
            return Located(VolumeSpec(name: VirtualMachineSpec.seedVolumeName(for: vm.name), pool: pool, capacity: .mebibytes(1),
                                      format: .raw, source: .seed(cloudInit.contentHash(vmName: vm.name)), reclaim: .delete),
                           at: located.location)
        }
    }

    /// Volumes without a base first, then those whose base is already placed.
    static func ordered(_ volumes: [Located<VolumeSpec>]) -> [Located<VolumeSpec>] {
        var result: [Located<VolumeSpec>] = []
        var remaining = volumes
        while !remaining.isEmpty {
            let placed = Set(result.map(\.value.name))
            let ready = remaining.filter { volume in
                switch volume.value.source {
                case .volume(let base)?, .backing(let base)?: placed.contains(base) || !remaining.contains { $0.value.name == base }
                default: true
                }
            }
            guard !ready.isEmpty else { return result + remaining }  // a cycle: reported as a missing base
            result += ready
            remaining.removeAll { volume in ready.contains { $0.value.name == volume.value.name } }
        }
        return result
    }
}
