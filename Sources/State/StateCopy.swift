import Foundation

/// Copies a whole state into a new, empty one, of either backend (`vmplan state push` and `pull`),
/// and verifies the copy by reading it back: each table's row count and SHA-256 must be the source's.
/// The source's lock is held throughout, so no apply changes it meanwhile; a source locked by a live
/// run is refused. The source itself is left as it was.
public enum StateCopy {
    public struct Report: Sendable {
        public var stateID: String
        public var serial: Int64
        /// The source's tables, and the copy's as read back from the destination.
        public var source: [TableDigest]
        public var copy: [TableDigest]
        /// The stale lock the copy took over on the source, if it did.
        public var takeover: LockTakeover?

        /// Tables whose count or hash differs between the source and the copy.
        public var mismatches: [(source: TableDigest, copy: TableDigest?)] {
            source.compactMap { table in
                let copied = copy.first { $0.table == table.table }
                return copied?.count == table.count && copied?.sha256 == table.sha256 ? nil : (table, copied)
            }
        }

        public var verified: Bool { mismatches.isEmpty && copy.count == source.count }
    }

    /// - Parameters:
    ///   - destination: opens (and creates, if need be) the state to copy into; called once the
    ///     source's lock is held, so that a refused copy creates nothing.
    ///   - holder: who copies (`vmplan state push (alice@laptop)`), named in the source's lock meanwhile.
    ///   - lease: how long the source's lock binds without a heartbeat.
    /// - Throws: `StateError.locked` when a live run holds the source, `StateError.notEmpty` when the
    ///   destination holds anything (both changing nothing), and any read or write failure.
    public static func copy(from source: any StateStore, to destination: () throws -> any StateStore, holder: String,
                            lease: TimeInterval = LockRequest.defaultLease) throws -> Report {
        let lock = try source.acquireLock(LockRequest(holder: holder, lease: lease))
        defer { try? lock.release() }
        let snapshot = try source.snapshot().toTheMillisecond
        let destination = try destination()
        try destination.restore(snapshot)
        let copied = try destination.snapshot()
        return Report(stateID: snapshot.stateID, serial: snapshot.serial, source: snapshot.digests, copy: copied.digests,
                      takeover: lock.takeover)
    }
}
