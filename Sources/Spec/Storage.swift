import Foundation

/// `StoragePool.spec.type`.
public enum PoolType: String, Sendable, Codable, CaseIterable {
    /// A directory of image files.
    case dir
    /// An LVM volume group; each volume is a logical volume (raw block device).
    case logical
}

/// A `kind: StoragePool` document: a libvirt pool on one host.
public struct StoragePoolSpec: Hashable, Sendable, Codable {
    public var name: String
    public var host: String
    public var type: PoolType
    /// Absolute, normalised directory (checked at load time); `/dev/VG` for a logical pool.
    public var path: String
    /// A logical pool's volume group.
    public var volumeGroup: String?
    /// A logical pool's physical volumes (block devices), when vmplan builds the group or names its devices.
    public var devices: [String]
    /// A logical pool only: vmplan creates the volume group on `devices` (`virStoragePoolBuild`), erasing them.
    public var build: Bool
    /// A dir pool only: its directory is storage every host sees at the same path (NFS, a cluster
    /// file system), so a VM moving hosts with it keeps its volumes where they are: nothing is copied.
    public var shared: Bool

    public init(name: String, host: String, type: PoolType = .dir, path: String) {
        self.name = name
        self.host = host
        self.type = type
        self.path = path
        self.volumeGroup = nil
        self.devices = []
        self.build = false
        self.shared = false
    }

    /// A logical (LVM) pool on the volume group `volumeGroup`; its path is `/dev/VG`.
    public static func logical(name: String, host: String, volumeGroup: String, devices: [String] = [], build: Bool = false) -> StoragePoolSpec {
        var spec = StoragePoolSpec(name: name, host: host, type: .logical, path: "/dev/" + volumeGroup)
        spec.volumeGroup = volumeGroup
        spec.devices = devices
        spec.build = build
        return spec
    }

    private enum CodingKeys: String, CodingKey { case name, host, type, path, volumeGroup, devices, build, shared }

    // Records written before logical pools existed have none of the LVM fields, and dir pools
    // keep writing none of them, so their recorded JSON (and hash) stays the same.
    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        name = try container.decode(String.self, forKey: .name)
        host = try container.decode(String.self, forKey: .host)
        type = try container.decode(PoolType.self, forKey: .type)
        path = try container.decode(String.self, forKey: .path)
        volumeGroup = try container.decodeIfPresent(String.self, forKey: .volumeGroup)
        devices = try container.decodeIfPresent([String].self, forKey: .devices) ?? []
        build = try container.decodeIfPresent(Bool.self, forKey: .build) ?? false
        shared = try container.decodeIfPresent(Bool.self, forKey: .shared) ?? false
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(name, forKey: .name)
        try container.encode(host, forKey: .host)
        try container.encode(type, forKey: .type)
        try container.encode(path, forKey: .path)
        try container.encodeIfPresent(volumeGroup, forKey: .volumeGroup)
        if !devices.isEmpty { try container.encode(devices, forKey: .devices) }
        if build { try container.encode(build, forKey: .build) }
        if shared { try container.encode(shared, forKey: .shared) }
    }

    /// For plans: `dir /srv/p`, `logical vg0 on /dev/sdb`.
    public var shortDescription: String {
        switch type {
        case .dir: return "dir \(path)" + (shared ? ", shared" : "")
        case .logical:
            let vg = volumeGroup ?? path
            return devices.isEmpty ? "logical \(vg)" : "logical \(vg) on \(devices.joined(separator: ", "))"
        }
    }
}

public enum VolumeFormat: String, Sendable, Codable, CaseIterable {
    case qcow2
    case raw
}

/// What happens to a volume when it leaves the manifests.
public enum Reclaim: String, Sendable, Codable, CaseIterable {
    /// The volume stays on the host; vmplan only forgets it. The default: data is never lost by accident.
    case retain
    /// The volume is deleted, and the plan says so as a data-loss line.
    case delete
}

/// Where a new volume's content comes from. Only read when the volume is created.
public enum VolumeSource: Hashable, Sendable, Codable {
    /// A full copy of an image file on the host (absolute path), converted to the volume's format.
    case image(String)
    /// A full copy of another volume (`Volume` name) on the same host.
    case volume(String)
    /// A qcow2 overlay whose backing file is another volume; the base is never written.
    case backing(String)
    /// A cloud-init NoCloud seed vmplan builds; the value is the hash of its files.
    case seed(String)
}

/// A `kind: Volume` document.
public struct VolumeSpec: Hashable, Sendable, Codable {
    public var name: String
    public var pool: String
    public var capacity: ByteCount
    public var format: VolumeFormat
    public var source: VolumeSource?
    public var reclaim: Reclaim
    /// May be attached to more than one VM at a time.
    public var shareable: Bool

    public init(name: String, pool: String, capacity: ByteCount, format: VolumeFormat = .qcow2,
                source: VolumeSource? = nil, reclaim: Reclaim = .retain, shareable: Bool = false) {
        self.name = name
        self.pool = pool
        self.capacity = capacity
        self.format = format
        self.source = source
        self.reclaim = reclaim
        self.shareable = shareable
    }
}

public enum DiskBus: String, Sendable, Codable, CaseIterable {
    case virtio, sata, scsi
}

public enum DiskDevice: String, Sendable, Codable, CaseIterable {
    case disk, cdrom
}

/// One entry of `VirtualMachine.spec.disks`.
public struct DiskSpec: Hashable, Sendable, Codable {
    public var volume: String
    /// The pool the volume is in; filled in from the Volume document when the manifests load.
    public var pool: String
    public var bus: DiskBus
    public var device: DiskDevice
    /// Boot order, 1 first; nil: not a boot device.
    public var boot: Int?
    public var readonly: Bool
    /// Filled in from the Volume document: the image format the disk is opened with.
    public var format: VolumeFormat
    /// Filled in from the Volume document.
    public var shareable: Bool

    public init(volume: String, pool: String, bus: DiskBus = .virtio, device: DiskDevice = .disk, boot: Int? = nil,
                readonly: Bool = false, format: VolumeFormat = .qcow2, shareable: Bool = false) {
        self.volume = volume
        self.pool = pool
        self.bus = bus
        self.device = device
        self.boot = boot
        self.readonly = readonly
        self.format = format
        self.shareable = shareable
    }

    /// How the disk is shown in plans and compared: format and pool follow from the volume.
    public var summary: String {
        var parts = [bus.rawValue]
        if device == .cdrom { parts.append("cdrom") }
        if let boot { parts.append("boot \(boot)") }
        if readonly { parts.append("readonly") }
        return "\(volume) (\(parts.joined(separator: ", ")))"
    }
}

/// `VirtualMachine.spec.cloudInit`: the files of a NoCloud seed, already read (`file:` resolved).
public struct CloudInitSpec: Hashable, Sendable, Codable {
    public var userData: String
    /// Defaults to an instance-id and hostname from the VM's name.
    public var metaData: String?
    public var networkConfig: String?
    /// The pool the seed volume goes to; nil: the pool of the VM's first disk.
    public var pool: String?

    public init(userData: String, metaData: String? = nil, networkConfig: String? = nil, pool: String? = nil) {
        self.userData = userData
        self.metaData = metaData
        self.networkConfig = networkConfig
        self.pool = pool
    }

    /// The seed's files in the order they go into the ISO: NoCloud's names.
    public func files(vmName: String) -> [(name: String, content: String)] {
        var files = [("user-data", userData), ("meta-data", metaData ?? "instance-id: \(vmName)\nlocal-hostname: \(vmName)\n")]
        if let networkConfig { files.append(("network-config", networkConfig)) }
        return files
    }

    /// FNV-1a 64 over the files: a change means the seed must be built again.
    public func contentHash(vmName: String) -> String {
        Fingerprint.fnv1a64(files(vmName: vmName).flatMap { Array($0.name.utf8) + [0] + Array($0.content.utf8) + [0] })
    }
}

extension VirtualMachineSpec {
    /// The seed volume's name: derived, so that it cannot be chosen to collide with another VM's.
    public static func seedVolumeName(for vm: String) -> String { "\(vm)-cidata.iso" }

    /// The pool the cloud-init seed goes to, when there is a seed.
    public var seedPool: String? {
        guard let cloudInit else { return nil }
        return cloudInit.pool ?? disks.first?.pool
    }

    /// Every disk the domain gets: the declared ones, then the seed as a read-only SATA cdrom.
    public var attachedDisks: [DiskSpec] {
        guard let pool = seedPool else { return disks }
        return disks + [DiskSpec(volume: Self.seedVolumeName(for: name), pool: pool, bus: .sata, device: .cdrom,
                                 readonly: true, format: .raw)]
    }
}

/// Pools and volumes of a manifest, with where their fields are for plan-time errors.
public struct StorageManifest: Sendable {
    public var pools: [Located<StoragePoolSpec>] = []
    public var volumes: [Located<VolumeSpec>] = []
    /// `Volume/NAME.capacity` and similar → where that value is written.
    public var fieldLocations: [String: SourceLocation] = [:]

    public init(pools: [Located<StoragePoolSpec>] = [], volumes: [Located<VolumeSpec>] = [],
                fieldLocations: [String: SourceLocation] = [:]) {
        self.pools = pools
        self.volumes = volumes
        self.fieldLocations = fieldLocations
    }

    public func pool(named name: String) -> StoragePoolSpec? { pools.first { $0.value.name == name }?.value }
    public func volume(named name: String) -> VolumeSpec? { volumes.first { $0.value.name == name }?.value }
}

/// Paths that reach a command line or a pool: absolute, normalised, no control characters.
public enum StoragePath {
    public static let rule = "an absolute path such as /var/lib/vmplan/pool, without '.' or '..' components, "
        + "repeated or trailing '/', spaces or control characters"

    public static func isValid(_ path: String) -> Bool {
        guard path.hasPrefix("/"), path.count > 1, path.count <= 4096, !path.hasSuffix("/") else { return false }
        if path.unicodeScalars.contains(where: { $0.properties.isWhitespace || $0.properties.generalCategory == .control }) {
            return false
        }
        let components = path.dropFirst().split(separator: "/", omittingEmptySubsequences: false)
        return components.allSatisfy { !$0.isEmpty && $0 != "." && $0 != ".." && !$0.hasPrefix("-") }
    }
}
