import Foundation
import GRDB

/// A pool or volume vmplan created. For a pool `pool` is its own name; `libvirtKey` is the
/// pool's UUID or the volume's key (its path, for directory pools): a volume deleted by hand and
/// made again under the same name by someone else has the same path, so the key is a second
/// check, and the name a first one.
public struct OwnedStorage: Codable, Sendable, Hashable, FetchableRecord, PersistableRecord {
    public static let databaseTableName = "owned_storage"

    public var kind: String
    public var host: String
    public var pool: String
    public var name: String
    public var libvirtKey: String
    public var createdAt: Date

    public init(kind: String, host: String, pool: String, name: String, libvirtKey: String, createdAt: Date = Date()) {
        self.kind = kind
        self.host = host
        self.pool = pool
        self.name = name
        self.libvirtKey = libvirtKey
        self.createdAt = createdAt
    }

    enum CodingKeys: String, CodingKey {
        case kind, host, pool, name
        case libvirtKey = "libvirt_key", createdAt = "created_at"
    }
}

extension StateDatabase {
    public func ownedStorage() throws -> [OwnedStorage] {
        try queue.read { db in
            try OwnedStorage.order(Column("kind"), Column("host"), Column("pool"), Column("name")).fetchAll(db)
        }
    }
}
