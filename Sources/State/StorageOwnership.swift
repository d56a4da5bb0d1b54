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
    /// What happens to the ownership records when a storage change is done.
    public enum OwnershipUpdate: Sendable {
        case keep
        case record(OwnedStorage)
        case forget(kind: String, host: String, pool: String, name: String)
    }

    public func ownedStorage() throws -> [OwnedStorage] {
        try queue.read { db in
            try OwnedStorage.order(Column("kind"), Column("host"), Column("pool"), Column("name")).fetchAll(db)
        }
    }

    /// Like `journalDone(_:update:)`, and writes the ownership record in the same transaction:
    /// a volume is never recorded as created unless its creation is recorded as done.
    public func journalDone(_ id: Int64, update: RecordUpdate, ownership: OwnershipUpdate) throws {
        try queue.write { db in
            try db.execute(sql: "UPDATE journal SET status = 'done', finished_at = ? WHERE id = ?", arguments: [Date(), id])
            switch update {
            case .keep: break
            case .upsert(let record): try record.save(db)
            case .remove(let kind, let name):
                try db.execute(sql: "DELETE FROM resource WHERE kind = ? AND name = ?", arguments: [kind, name])
            }
            switch ownership {
            case .keep: break
            case .record(let owned): try owned.save(db)
            case .forget(let kind, let host, let pool, let name):
                try db.execute(sql: "DELETE FROM owned_storage WHERE kind = ? AND host = ? AND pool = ? AND name = ?",
                               arguments: [kind, host, pool, name])
            }
        }
    }
}
