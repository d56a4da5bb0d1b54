import Spec

/// A storage pool as libvirt reports it.
public struct ObservedPool: Sendable, Hashable {
    public var name: String
    public var uuid: String
    /// libvirt's pool type, `dir`, `logical`, …
    public var type: String
    /// The pool's target path.
    public var path: String
    public var isActive: Bool
    public var capacity: ByteCount
    public var allocation: ByteCount
    /// Free space, from `virStoragePoolGetInfo`.
    public var available: ByteCount

    public init(name: String, uuid: String, type: String, path: String, isActive: Bool,
                capacity: ByteCount, allocation: ByteCount, available: ByteCount) {
        self.name = name
        self.uuid = uuid
        self.type = type
        self.path = path
        self.isActive = isActive
        self.capacity = capacity
        self.allocation = allocation
        self.available = available
    }
}

/// A volume as libvirt reports it. Volumes carry no metadata: ownership is in the state database.
public struct ObservedVolume: Sendable, Hashable {
    public var pool: String
    public var name: String
    /// libvirt's unique key (the file path, for directory pools).
    public var key: String
    public var path: String
    /// `qcow2`, `raw`, `iso`, … as libvirt detected it.
    public var format: String
    /// The virtual size the guest sees.
    public var capacity: ByteCount
    public var allocation: ByteCount
    /// The backing file of an overlay.
    public var backingPath: String?

    public init(pool: String, name: String, key: String, path: String, format: String, capacity: ByteCount,
                allocation: ByteCount, backingPath: String? = nil) {
        self.pool = pool
        self.name = name
        self.key = key
        self.path = path
        self.format = format
        self.capacity = capacity
        self.allocation = allocation
        self.backingPath = backingPath
    }
}

/// Everything storage-related on one host, read in one pass.
public struct ObservedStorage: Sendable, Hashable {
    public var pools: [ObservedPool]
    /// Volumes of active pools (an inactive pool cannot list them).
    public var volumes: [ObservedVolume]
    /// Image files asked about (`from: {image: …}`): path → whether it is a readable regular file.
    public var images: [String: Bool]

    public init(pools: [ObservedPool] = [], volumes: [ObservedVolume] = [], images: [String: Bool] = [:]) {
        self.pools = pools
        self.volumes = volumes
        self.images = images
    }

    public func pool(_ name: String) -> ObservedPool? { pools.first { $0.name == name } }
    public func volume(pool: String, name: String) -> ObservedVolume? {
        volumes.first { $0.pool == pool && $0.name == name }
    }
}

/// One file of a cloud-init seed.
public struct SeedFile: Sendable, Hashable {
    public var name: String
    public var content: String

    public init(name: String, content: String) {
        self.name = name
        self.content = content
    }
}

/// A volume whose data moves with a migrating VM into the volume of the same name, in the pool
/// of the same name, on the destination.
public struct VolumeMove: Sendable, Hashable {
    public var pool: String
    public var volume: String

    public init(pool: String, volume: String) {
        self.pool = pool
        self.volume = volume
    }
}

/// How a new volume gets its content, resolved by the planner (base pools looked up).
public enum VolumeContent: Sendable, Hashable {
    case empty
    /// Converted from an image file on the host running vmplan (local hosts only).
    case image(path: String)
    case copy(pool: String, volume: String)
    case overlay(pool: String, volume: String)
    case seed([SeedFile])
}

/// A hypervisor host that also manages storage. Every delete re-checks libvirt's key of the
/// object against the one vmplan recorded when it created it.
public protocol StorageHost: Sendable {
    /// Pools, volumes of active pools, and whether the given image files exist.
    func observeStorage(imagePaths: [String]) async throws -> ObservedStorage

    /// Defines, builds (creates the directory), starts and autostarts a pool. Returns its UUID.
    func createPool(_ spec: StoragePoolSpec) async throws -> String

    /// Stops, deletes (an empty directory only) and undefines a pool whose UUID is `expectedUUID`.
    func deletePool(_ name: String, expectedUUID: String) async throws

    /// Creates a volume. Returns its key.
    func createVolume(_ spec: VolumeSpec, content: VolumeContent) async throws -> String

    /// Grows a volume; through the running domain (`virDomainBlockResize`) when one has it open.
    /// Returns the domain that was resized live, if any.
    func growVolume(pool: String, name: String, to capacity: ByteCount) async throws -> String?

    /// Deletes a volume whose key is `expectedKey`. Unless `allowAttached` (a seed being rebuilt),
    /// refuses a volume that is a disk of any domain.
    func deleteVolume(pool: String, name: String, expectedKey: String, allowAttached: Bool) async throws

    /// The key of a volume another host made in storage this one shares, read after refreshing
    /// the pool (a pool lists what was there when it was last read).
    func sharedVolumeKey(pool: String, name: String) async throws -> String
}

extension StorageHost {
    public func sharedVolumeKey(pool: String, name: String) async throws -> String {
        throw DriverError(.operation, "this host cannot look volumes up in shared storage")
    }
}
