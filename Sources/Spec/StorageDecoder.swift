import Foundation
import Yams

/// What a document declared about storage, for the cross-document checks in StorageReferences.
struct DecodedStorage {
    var pool: Located<StoragePoolSpec>?
    var volume: Located<VolumeSpec>?
    /// A Volume's `pool`, or a cloudInit's `pool`, and where it is written.
    var poolReferences: [(name: String, location: SourceLocation)] = []
    /// A Volume's `from.volume` / `backing`, or a VM's `disks[].volume`, and where it is written.
    var volumeReferences: [(name: String, location: SourceLocation)] = []
    /// `Volume/NAME.capacity` → location, for plan-time errors (shrink, free space).
    var fieldLocations: [String: SourceLocation] = [:]
    /// Where a VM's disks and cloudInit are written, for errors about the whole list.
    var disksLocation: SourceLocation?
    var cloudInitLocation: SourceLocation?
    /// The Volume did not say `format`: raw in a logical pool, qcow2 elsewhere (settled in StorageReferences).
    var volumeFormatDefaulted = false
}

extension DocumentDecoder {
    static let poolFields = ["host", "type", "path", "volumeGroup", "devices", "build", "shared"]
    static let volumeFields = ["pool", "capacity", "format", "from", "backing", "reclaim", "shareable"]
    static let diskFields = ["volume", "bus", "device", "boot", "readonly"]
    static let cloudInitFields = ["userData", "metaData", "networkConfig", "pool"]
    /// cloud-init files above this size are certainly a mistake (a binary, a log).
    static let maximumCloudInitBytes = 1 << 20

    static func decodeStorage(_ kind: ResourceKind, _ node: Node, name: String?, at location: SourceLocation,
                              checker: inout NodeChecker, decoded: inout DecodedDocument) {
        if kind == .storagePool {
            decodePool(node, name: name, at: location, checker: &checker, decoded: &decoded)
            return
        }
        guard let spec = checker.fields(of: node, what: "Volume spec", allowed: volumeFields, required: ["pool", "capacity"]) else { return }
        var valid = true
        func read<T>(_ key: String, _ body: (Field) -> T?) -> T? {
            guard let field = spec[key] else { return nil }
            let value = body(field)
            if value == nil { valid = false }
            return value
        }
        let pool = read("pool") { checker.string($0, name: "pool") }
        if let pool, let field = spec["pool"] { decoded.storage.poolReferences.append((pool, checker.document.location(of: field.value))) }
        let capacity = read("capacity") { checker.size($0, name: "capacity") }
        if let name, let field = spec["capacity"] {
            decoded.storage.fieldLocations["Volume/\(name).capacity"] = checker.document.location(of: field.value)
        }
        let format = read("format") { checker.choice($0, name: "format", as: VolumeFormat.self) } ?? .qcow2
        decoded.storage.volumeFormatDefaulted = spec["format"] == nil
        for key in ["format", "from", "backing"] {
            if let name, let field = spec[key] { decoded.storage.fieldLocations["Volume/\(name).\(key)"] = checker.document.location(of: field.key) }
        }
        let reclaim = read("reclaim") { checker.choice($0, name: "reclaim", as: Reclaim.self) } ?? .retain
        let shareable = read("shareable") { checker.boolean($0, name: "shareable") } ?? false
        var source: VolumeSource?
        if let field = spec["from"] {
            source = decodeFrom(field, volume: name, checker: &checker, decoded: &decoded)
            if source == nil { valid = false }
        }
        if let field = spec["backing"] {
            if spec["from"] != nil {
                checker.error("a Volume takes either from (a full copy) or backing (a qcow2 overlay), not both", at: field.key)
                valid = false
            } else if let base = checker.string(field, name: "backing") {
                decoded.storage.volumeReferences.append((base, checker.document.location(of: field.value)))
                source = .backing(base)
                if format != .qcow2 {
                    checker.error("backing needs format: qcow2 (an overlay is a qcow2 file); got format \(format.rawValue)", at: field.key)
                    valid = false
                }
            } else {
                valid = false
            }
        }
        guard valid, let name, let pool, let capacity else { return }
        decoded.storage.volume = Located(VolumeSpec(name: name, pool: pool, capacity: capacity, format: format,
                                                    source: source, reclaim: reclaim, shareable: shareable), at: location)
    }

    /// `type: dir` with a `path`, or `type: logical` with a `volumeGroup` (and `devices` + `build: true`
    /// when vmplan is to create the group). Fields of the other type are refused, not ignored.
    private static func decodePool(_ node: Node, name: String?, at location: SourceLocation, checker: inout NodeChecker,
                                   decoded: inout DecodedDocument) {
        guard let spec = checker.fields(of: node, what: "StoragePool spec", allowed: poolFields, required: ["host", "type"]) else { return }
        let host = spec["host"].flatMap { checker.string($0, name: "host") }
        if let host, let field = spec["host"] { decoded.hostReference = (host, checker.document.location(of: field.value)) }
        guard let type = spec["type"].flatMap({ checker.choice($0, name: "type", as: PoolType.self) }) else {
            _ = spec["path"].map { checker.path($0, name: "path") }  // still worth a word when the type is wrong
            return
        }
        let others = type == .dir ? ["volumeGroup", "devices", "build"] : ["path", "shared"]
        var valid = true
        for key in others {
            guard let field = spec[key] else { continue }
            let why = type == .dir ? "only a logical (LVM) pool has \(key)"
                : key == "shared" ? "only a dir pool can be on storage several hosts share" : "a logical pool's path is /dev/VOLUMEGROUP, set by volumeGroup"
            checker.error("\(key) does not belong in a type: \(type.rawValue) pool; \(why)", at: field.key)
            valid = false
        }
        switch type {
        case .dir:
            guard let field = spec["path"] else {
                checker.error("missing required field 'path' in StoragePool spec (type: dir needs the pool's directory)", at: node)
                return
            }
            let path = checker.path(field, name: "path")
            if let name { decoded.storage.fieldLocations["StoragePool/\(name).path"] = checker.document.location(of: field.value) }
            let shared = spec["shared"].map { checker.boolean($0, name: "shared") } ?? false
            if valid, let name, let host, let path, let shared {
                var pool = StoragePoolSpec(name: name, host: host, type: .dir, path: path)
                pool.shared = shared
                decoded.storage.pool = Located(pool, at: location)
            }
        case .logical:
            guard let groupField = spec["volumeGroup"] else {
                checker.error("missing required field 'volumeGroup' in StoragePool spec (type: logical needs the LVM volume group's name)", at: node)
                return
            }
            var volumeGroup = checker.string(groupField, name: "volumeGroup")
            if let text = volumeGroup, !LogicalPool.isValidVolumeGroup(text) {
                checker.error("volumeGroup must be an LVM name: \(LogicalPool.volumeGroupRule); got '\(text)'", at: groupField.value)
                volumeGroup = nil
            }
            let devices = spec["devices"].map { decodeDevices($0, checker: &checker) } ?? []
            let build = spec["build"].map { checker.boolean($0, name: "build") } ?? false
            if build == true, devices?.isEmpty == true, let field = spec["build"] {
                checker.error("build: true needs devices, the block devices to make the volume group on (they are erased)", at: field.key)
                valid = false
            }
            if valid, let name, let host, let volumeGroup, let devices, let build {
                decoded.storage.pool = Located(.logical(name: name, host: host, volumeGroup: volumeGroup, devices: devices, build: build), at: location)
            }
        }
    }

    /// `devices: [/dev/sdb, /dev/sdc]`: absolute device paths, each once.
    private static func decodeDevices(_ field: Field, checker: inout NodeChecker) -> [String]? {
        checker.distinctList(field, name: "devices", example: "[/dev/sdb]",
                             whenEmpty: "name at least one block device such as /dev/sdb; leave it out to use an existing volume group") { checker, item in
            guard let path = checker.string(Field(key: item, value: item), name: "an entry of devices") else { return nil }
            guard LogicalPool.isValidDevice(path) else {
                checker.error("an entry of devices must be \(LogicalPool.deviceRule); got '\(path)'", at: item)
                return nil
            }
            return path
        }
    }

    /// `from: {image: /abs/path}` or `from: {volume: NAME}`.
    private static func decodeFrom(_ field: Field, volume name: String?, checker: inout NodeChecker, decoded: inout DecodedDocument) -> VolumeSource? {
        guard let from = checker.fields(of: field.value, what: "from", allowed: ["image", "volume"], required: []) else { return nil }
        switch (from["image"], from["volume"]) {
        case let (image?, nil):
            if let name { decoded.storage.fieldLocations["Volume/\(name).from.image"] = checker.document.location(of: image.value) }
            return checker.path(image, name: "from.image").map(VolumeSource.image)
        case let (nil, volume?):
            guard let base = checker.string(volume, name: "from.volume") else { return nil }
            decoded.storage.volumeReferences.append((base, checker.document.location(of: volume.value)))
            return .volume(base)
        default:
            checker.error("from needs exactly one of image (an image file on the host) or volume (a Volume to copy)", at: field.value)
            return nil
        }
    }

    static func decodeDisks(_ field: Field, checker: inout NodeChecker, decoded: inout DecodedDocument) -> [DiskSpec]? {
        decoded.storage.disksLocation = checker.document.location(of: field.key)
        guard case let .sequence(items) = field.value else {
            checker.error("disks must be a list such as [{volume: web-1-root, bus: virtio}]; got \(field.value.shownInMessage)", at: field.value)
            return nil
        }
        var disks: [DiskSpec] = []
        var valid = true
        var bootOrders: [Int: Node] = [:]
        for item in items {
            guard let fields = checker.fields(of: item, what: "a disk", allowed: diskFields, required: ["volume"]) else { valid = false; continue }
            let volume = fields["volume"].flatMap { checker.string($0, name: "disks[].volume") }
            if let volume, let node = fields["volume"]?.value {
                decoded.storage.volumeReferences.append((volume, checker.document.location(of: node)))
            }
            let bus = fields["bus"].map { checker.choice($0, name: "bus", as: DiskBus.self) } ?? .virtio
            let device = fields["device"].map { checker.choice($0, name: "device", as: DiskDevice.self) } ?? .disk
            let boot = fields["boot"].map { checker.integer($0, name: "boot", range: 1...64) } ?? nil
            let readonly = fields["readonly"].map { checker.boolean($0, name: "readonly") } ?? false
            if let boot, let node = fields["boot"]?.value {
                if bootOrders[boot] != nil {
                    checker.error("boot order \(boot) is used by two disks; each disk needs its own", at: node)
                    valid = false
                }
                bootOrders[boot] = node
            }
            if device == .cdrom, readonly == false, let node = fields["readonly"]?.value {
                checker.error("a cdrom is always read-only; drop readonly: false", at: node)
                valid = false
            }
            guard let volume, let bus, let device, fields["boot"] == nil || boot != nil, let readonly else { valid = false; continue }
            disks.append(DiskSpec(volume: volume, pool: "", bus: bus, device: device, boot: boot, readonly: readonly || device == .cdrom))
        }
        return valid ? disks : nil
    }

    static func decodeCloudInit(_ field: Field, checker: inout NodeChecker, decoded: inout DecodedDocument) -> CloudInitSpec? {
        decoded.storage.cloudInitLocation = checker.document.location(of: field.key)
        guard let fields = checker.fields(of: field.value, what: "cloudInit", allowed: cloudInitFields, required: ["userData"]) else { return nil }
        var valid = true
        func text(_ key: String) -> String? {
            guard let field = fields[key] else { return nil }
            let value = cloudInitText(field, name: "cloudInit.\(key)", checker: &checker)
            if value == nil { valid = false }
            return value
        }
        let userData = text("userData")
        let metaData = text("metaData")
        let networkConfig = text("networkConfig")
        var pool: String?
        if let field = fields["pool"] {
            pool = checker.string(field, name: "cloudInit.pool")
            if let pool { decoded.storage.poolReferences.append((pool, checker.document.location(of: field.value))) } else { valid = false }
        }
        guard valid, let userData else { return nil }
        return CloudInitSpec(userData: userData, metaData: metaData, networkConfig: networkConfig, pool: pool)
    }

    /// Inline text, or `{file: PATH}` relative to the manifest's directory, read now.
    private static func cloudInitText(_ field: Field, name: String, checker: inout NodeChecker) -> String? {
        if case .scalar = field.value {
            guard let text = checker.string(field, name: name) else { return nil }
            guard text.utf8.count <= maximumCloudInitBytes else {
                checker.error("\(name) is \(YAMLLimits.shown(text.utf8.count)), over the limit of \(YAMLLimits.shown(maximumCloudInitBytes)) for cloud-init data", at: field.value)
                return nil
            }
            return text
        }
        guard let fields = checker.fields(of: field.value, what: name, allowed: ["file"], required: ["file"]),
              let fileField = fields["file"], let relative = checker.string(fileField, name: "\(name).file") else { return nil }
        let components = relative.split(separator: "/", omittingEmptySubsequences: false)
        guard !relative.hasPrefix("/"), !components.contains(where: { $0 == ".." || $0.isEmpty }) else {
            checker.error("\(name).file must be a path relative to the manifest's directory, without '..'; got '\(relative)'", at: fileField.value)
            return nil
        }
        return cloudInitFile(relative, name: name, at: fileField.value, checker: &checker)
    }

    /// Reads a `{file: PATH}`. Links are resolved first: the file must really be inside the manifest directory.
    private static func cloudInitFile(_ relative: String, name: String, at node: Node, checker: inout NodeChecker) -> String? {
        let directory = (checker.document.file as NSString).deletingLastPathComponent
        let path = directory.isEmpty ? relative : (directory as NSString).appendingPathComponent(relative)
        var root = checker.document.manifestRoot
        if root == nil, case let .resolved(real) = ManifestTree.realPath(directory.isEmpty ? "." : directory) { root = real }
        let realPath: String
        switch ManifestTree.realPath(path) {
        case let .resolved(resolved):
            guard let root, ManifestTree.isInside(resolved, root: root) else {
                checker.error("\(name).file '\(relative)' leads to '\(resolved)', outside the manifest directory '\(root ?? directory)'; "
                    + "the files a manifest names must be inside it", at: node)
                return nil
            }
            realPath = resolved
        case .loop:
            checker.error("\(name).file: '\(path)' is a loop of symbolic links", at: node)
            return nil
        case .dangling, .unreadable:
            checker.error("\(name).file: cannot read '\(path)'", at: node)
            return nil
        }
        // Measured before reading, so that naming a huge file costs no memory.
        let size = (try? FileManager.default.attributesOfItem(atPath: realPath))?[.size] as? Int ?? 0
        let data = size <= maximumCloudInitBytes ? FileManager.default.contents(atPath: realPath) : Data()
        guard let data else {
            checker.error("\(name).file: cannot read '\(path)'", at: node)
            return nil
        }
        guard size <= maximumCloudInitBytes, data.count <= maximumCloudInitBytes, let content = String(data: data, encoding: .utf8) else {
            checker.error("\(name).file '\(path)' must be UTF-8 text of at most \(YAMLLimits.shown(maximumCloudInitBytes))", at: node)
            return nil
        }
        return content
    }
}

extension NodeChecker {
    /// An absolute, normalised host path (it reaches libvirt and command lines).
    mutating func path(_ field: Field, name: String) -> String? {
        guard let text = string(field, name: name) else { return nil }
        guard StoragePath.isValid(text) else {
            error("\(name) must be \(StoragePath.rule); got '\(text)'", at: field.value)
            return nil
        }
        return text
    }
}
