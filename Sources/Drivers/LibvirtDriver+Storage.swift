import Foundation
import Spec

extension LibvirtDriver: StorageHost {
    /// Image files are read on the machine running vmplan, so only a local URI can use them.
    var isLocal: Bool {
        guard let components = URLComponents(string: uri) else { return false }
        return (components.host ?? "").isEmpty
    }

    public func observeStorage(imagePaths: [String]) async throws -> ObservedStorage {
        try await blocking { [connection, isLocal] in
            var storage = ObservedStorage()
            for pool in try connection.allPools() {
                let name = pool.name
                // A pool someone else removes between the listing and these reads is skipped, as it
                // would have been had the listing come a moment later.
                let facts: StorageXML.PoolFacts
                let active: Bool
                let info: (capacity: UInt64, allocation: UInt64, available: UInt64)
                do {
                    facts = try StorageXML.readPool(pool.xml())
                    active = pool.isActive
                    info = active ? try pool.info() : (capacity: 0, allocation: 0, available: 0)
                } catch let error as DriverError where error.code == .notFound {
                    continue
                }
                storage.pools.append(ObservedPool(
                    name: name, uuid: pool.uuid, type: facts.type, path: facts.path, isActive: active,
                    capacity: ByteCount(bytes: info.capacity), allocation: ByteCount(bytes: info.allocation),
                    available: ByteCount(bytes: info.available)))
                guard active else { continue }
                let volumes: [LibvirtVolume]
                do {
                    volumes = try pool.volumes()
                } catch let error as DriverError where error.code == .notFound {
                    continue
                }
                for volume in volumes {
                    // A volume deleted by someone else between the listing and this read is skipped.
                    guard let xml = try? volume.xml(), var volumeFacts = try? StorageXML.readVolume(xml) else { continue }
                    // libvirt gives logical volumes no format: they are raw block devices.
                    if facts.type == "logical", volumeFacts.format.isEmpty { volumeFacts.format = "raw" }
                    storage.volumes.append(ObservedVolume(
                        pool: name, name: volume.name, key: volume.key, path: volume.path, format: volumeFacts.format,
                        capacity: volumeFacts.capacity, allocation: volumeFacts.allocation, backingPath: volumeFacts.backingPath))
                }
            }
            for path in imagePaths {
                var isDirectory: ObjCBool = false
                storage.images[path] = isLocal && FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory)
                    && !isDirectory.boolValue && FileManager.default.isReadableFile(atPath: path)
            }
            return storage
        }
    }

    public func createPool(_ spec: StoragePoolSpec) async throws -> String {
        let xml = try StorageXML.pool(spec)
        return try await blocking { [connection] in
            let pool = try connection.definePool(xml: xml)
            do {
                // A directory pool's build makes the directory. A logical pool's makes the volume group,
                // erasing its devices: only with the manifest's build: true (libvirt still refuses a
                // device that carries a file system, partition table or LVM signature).
                if spec.type == .dir || spec.build { try pool.build() }
                try pool.start()
                try pool.setAutostart()
            } catch {
                // Leave nothing half-made behind: the next plan starts from scratch.
                try? pool.stop()
                try? pool.undefine()
                throw error
            }
            return pool.uuid
        }
    }

    public func deletePool(_ name: String, expectedUUID: String) async throws {
        try await blocking { [connection] in
            let pool = try connection.pool(named: name)
            guard pool.uuid == expectedUUID else {
                throw DriverError(.notOwned, "pool \(name) on \(connection.uri) is not the one vmplan created (uuid \(pool.uuid), recorded \(expectedUUID)); it was left untouched")
            }
            if pool.isActive {
                try pool.refresh()
                let left = try pool.volumes().map(\.name)
                guard left.isEmpty else {
                    throw DriverError(.operation, "pool \(name) still holds volumes (\(left.sorted().joined(separator: ", "))); it was left untouched")
                }
                try pool.stop()
            }
            // For a logical pool, virStoragePoolDelete would vgremove the group and wipe its devices:
            // vmplan never does that, it only undefines the pool.
            if try StorageXML.readPool(pool.xml()).type == "dir" { try pool.deleteDirectory() }
            try pool.undefine()
        }
    }

    public func createVolume(_ spec: VolumeSpec, content: VolumeContent) async throws -> String {
        try await blocking { [connection, isLocal] in
            let pool = try connection.pool(named: spec.pool)
            let isLogical = try StorageXML.readPool(pool.xml()).type == "logical"
            let format: String? = isLogical ? nil : spec.format.rawValue
            let volume: LibvirtVolume
            switch content {
            case .empty:
                volume = try pool.createVolume(xml: StorageXML.volume(name: spec.name, capacity: spec.capacity, format: format))
            case .copy(let basePool, let baseName):
                let base = try connection.pool(named: basePool).volume(named: baseName)
                volume = try pool.createVolume(xml: StorageXML.volume(name: spec.name, capacity: spec.capacity, format: format), from: base)
            case .overlay(let basePool, let baseName):
                let base = try connection.pool(named: basePool).volume(named: baseName)
                let baseFormat = try StorageXML.readVolume(base.xml()).format
                let xml = try StorageXML.volume(name: spec.name, capacity: spec.capacity, format: format,
                                                backing: (base.path, baseFormat.isEmpty ? "raw" : baseFormat))
                volume = try pool.createVolume(xml: xml)
            case .image(let path):
                volume = try Self.convert(image: path, into: pool, spec: spec, isLocal: isLocal)
            case .seed(let files):
                let iso = try SeedImage.build(files)
                volume = try pool.createVolume(xml: StorageXML.volume(name: spec.name, capacity: ByteCount(bytes: UInt64(iso.count)), format: isLogical ? nil : "raw"))
                do {
                    try volume.upload(iso, connection: connection)
                } catch {
                    try? volume.delete()
                    throw error
                }
            }
            // A copy keeps its source's size; the manifest may ask for more.
            if case .seed = content {} else if try StorageXML.readVolume(volume.xml()).capacity < spec.capacity {
                try volume.resize(to: spec.capacity.bytes)
            }
            return volume.key
        }
    }

    /// qemu-img writes the copy straight into the pool's directory, then the pool is refreshed
    /// so libvirt sees it: no second copy through a stream, but only for a local directory pool.
    private static func convert(image: String, into pool: LibvirtPool, spec: VolumeSpec, isLocal: Bool) throws -> LibvirtVolume {
        guard isLocal else {
            throw DriverError(.invalidInput, "from.image reads files on the machine running vmplan, so it needs a local host; put the image in a pool on that host and use from: {volume: …}")
        }
        guard StoragePath.isValid(image), ResourceName.isValid(spec.name) else {
            throw DriverError(.invalidInput, "invalid image path '\(image)' or volume name '\(spec.name)'")
        }
        let poolFacts = try StorageXML.readPool(pool.xml())
        guard poolFacts.type == "dir", StoragePath.isValid(poolFacts.path) else {
            throw DriverError(.invalidInput, "from.image needs a directory pool; pool \(spec.pool) is \(poolFacts.type) at \(poolFacts.path)")
        }
        let info = try ImageFile.info(image)
        guard info.backingFile == nil else {
            throw DriverError(.invalidInput, "image \(image) has a backing file; vmplan copies only self-contained images")
        }
        guard ["raw", "qcow2"].contains(info.format) else {
            throw DriverError(.invalidInput, "image \(image) is \(info.format); vmplan copies raw and qcow2 images")
        }
        guard info.virtualSize <= spec.capacity.bytes else {
            throw DriverError(.invalidInput, "Volume \(spec.name): capacity \(spec.capacity) is smaller than image \(image) (\(ByteCount(bytes: info.virtualSize))); raise capacity")
        }
        let target = poolFacts.path + "/" + spec.name
        guard (target as NSString).deletingLastPathComponent == poolFacts.path, !FileManager.default.fileExists(atPath: target) else {
            throw DriverError(.operation, "\(target) already exists; vmplan does not overwrite files it did not create")
        }
        do {
            try ImageFile.convert(image, format: info.format, to: target, targetFormat: spec.format.rawValue)
            try pool.refresh()
            return try pool.volume(named: spec.name)
        } catch {
            try? FileManager.default.removeItem(atPath: target)
            throw error
        }
    }

    public func growVolume(pool: String, name: String, to capacity: ByteCount) async throws -> String? {
        try await blocking { [connection] in
            let volume = try connection.pool(named: pool).volume(named: name)
            // QEMU holds an attached image open: it must do the resize itself, and tells the guest.
            for domain in try connection.allDomains() where domain.id != nil {
                guard let xml = try? domain.xml(inactive: false) else { continue }
                if let disk = try DiskXML.read(xml).first(where: { $0.disk.pool == pool && $0.disk.volume == name }) {
                    try domain.blockResize(target: disk.target, bytes: capacity.bytes)
                    return domain.name
                }
            }
            try volume.resize(to: capacity.bytes)
            return nil
        }
    }

    public func sharedVolumeKey(pool: String, name: String) async throws -> String {
        try await blocking { [connection, hostName] in
            let found = try connection.pool(named: pool)
            try found.refresh()
            guard let volume = try? found.volume(named: name) else {
                throw DriverError(.notFound, "volume \(name) is not in pool \(pool) on host '\(hostName)', even after a refresh: that pool's "
                    + "directory is not the storage the volume was in (shared: true is wrong for it); set shared: false to have the volume copied")
            }
            return volume.key
        }
    }

    public func deleteVolume(pool: String, name: String, expectedKey: String, allowAttached: Bool) async throws {
        try await blocking { [connection] in
            let volume = try connection.pool(named: pool).volume(named: name)
            guard volume.key == expectedKey else {
                throw DriverError(.notOwned, "volume \(name) in pool \(pool) is not the one vmplan created (key \(volume.key), recorded \(expectedKey)); it was left untouched")
            }
            // Both definitions: a guest that has not acknowledged an unplug still has the disk open.
            for domain in try connection.allDomains() where !allowAttached {
                let definitions = [try? domain.xml(inactive: true), domain.id == nil ? nil : try? domain.xml(inactive: false)]
                for xml in definitions.compactMap({ $0 })
                where try DiskXML.read(xml).contains(where: { ($0.disk.pool == pool && $0.disk.volume == name) || $0.disk.volume == volume.path }) {
                    throw DriverError(.operation, "volume \(name) in pool \(pool) is still a disk of domain \(domain.name); it was left untouched")
                }
            }
            try volume.delete()
        }
    }

    /// Attaches and detaches hot-pluggable disks of a running domain, live and in its config,
    /// before the config is redefined. Other disk changes wait for the restart the plan chose.
    static func hotplugDisks(_ domain: LibvirtDomain, desired spec: VirtualMachineSpec, progress: ProgressHandler?) throws {
        let live = try DiskXML.read(domain.xml(inactive: false))
        let config = try DiskXML.read(domain.xml(inactive: true))
        let wanted = spec.attachedDisks
        for found in live where DiskHotplug.isHotpluggable(found.disk) && !wanted.contains(found.disk) {
            progress?("\(spec.name): detaching disk \(found.target) (\(found.disk.volume)) live")
            let inConfig = config.contains { $0.disk == found.disk }
            try domain.changeDevice(xml: DiskXML.xml(for: found.disk, target: found.target), attach: false, config: inConfig, what: "a disk")
            if try DiskXML.read(domain.xml(inactive: false)).contains(where: { $0.target == found.target }) {
                progress?("\(spec.name): the guest has not released \(found.target) yet; it goes when the guest acknowledges the unplug, or at the next boot")
            }
        }
        let present = live.map(\.disk)
        let adding = wanted.filter { DiskHotplug.isHotpluggable($0) && !present.contains($0) }
        let taken = Set(live.map(\.target) + config.map(\.target))
        for (disk, target) in zip(adding, DiskXML.targets(for: adding, avoiding: taken)) {
            progress?("\(spec.name): attaching disk \(target) (\(disk.volume)) live")
            let inConfig = config.contains { $0.disk == disk }
            try domain.changeDevice(xml: DiskXML.xml(for: disk, target: target), attach: true, config: !inConfig, what: "a disk")
        }
    }
}
