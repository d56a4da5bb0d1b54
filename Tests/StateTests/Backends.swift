import Foundation
import Testing
@testable import PostgresState
@testable import State

/// The backends the behavioural suites run against. PostgreSQL joins when VMPLAN_TEST_POSTGRES names
/// a server (scripts/postgres-up prints one); without it those runs are skipped with a printed reason,
/// unless VMPLAN_REQUIRE_POSTGRES=1 (scripts/test), which makes them fail instead.
enum Backend: String, Sendable, CustomTestStringConvertible {
    case sqlite, postgres

    static let postgresURL = ProcessInfo.processInfo.environment["VMPLAN_TEST_POSTGRES"].flatMap { $0.isEmpty ? nil : $0 }
    static let postgresRequired = ProcessInfo.processInfo.environment["VMPLAN_REQUIRE_POSTGRES"] == "1"

    static let all: [Backend] = {
        if postgresURL != nil || postgresRequired { return [.sqlite, .postgres] }
        print("SKIP: the PostgreSQL runs of the state suites need VMPLAN_TEST_POSTGRES: run scripts/postgres-up (as root) and export the URL it prints")
        return [.sqlite]
    }()

    var testDescription: String { rawValue }
}

/// One new, empty state of a backend: a temporary SQLite file, or a schema of its own in the test server.
final class TestState: Sendable {
    let backend: Backend
    /// The file path or the URL (with its `?schema=`).
    let location: String

    init(_ backend: Backend) throws {
        self.backend = backend
        switch backend {
        case .sqlite:
            location = FileManager.default.temporaryDirectory.appendingPathComponent("vmplan-state-\(UUID().uuidString).db").path
        case .postgres:
            guard let url = Backend.postgresURL else {
                throw StateError.unreadable(path: "VMPLAN_TEST_POSTGRES", reason: "VMPLAN_REQUIRE_POSTGRES=1 but VMPLAN_TEST_POSTGRES is not set: run scripts/postgres-up")
            }
            location = url + (url.contains("?") ? "&" : "?") + "schema=t_" + UUID().uuidString.prefix(12).lowercased().replacingOccurrences(of: "-", with: "")
        }
    }

    /// A store on this state; a second call is a second writer on the same state (another run).
    func open() throws -> any StateStore {
        switch backend {
        case .sqlite: try StateDatabase(path: location)
        case .postgres: try PostgresStateStore(url: location)
        }
    }

    /// The path or redacted URL the store's messages name.
    var shown: String {
        backend == .sqlite ? location : ((try? PostgresLocation(url: location).redacted) ?? location)
    }

    /// Writes `holder` as the lock, replacing any, as another vmplan left it (an older one, or one
    /// whose process died): for tests of who may take a lock over. A PostgreSQL lock row always has a
    /// lock id, a heartbeat and a lease: the acquisition time and the lease's end stand in for them.
    func writeLock(_ holder: LockHolder) throws {
        switch backend {
        case .sqlite:
            try StateDatabase(path: location).queue.write { db in
                try db.execute(sql: "DELETE FROM lock")
                try holder.insert(db)
            }
        case .postgres:
            let heartbeat = holder.heartbeatAt ?? holder.acquiredAt
            let lease = holder.lease ?? max(1, holder.expiresAt.timeIntervalSince(heartbeat))
            try PostgresStateStore(url: location).link.transaction { sql in
                try sql.execute("DELETE FROM lock")
                try sql.execute("""
                    INSERT INTO lock (id, lock_id, holder, pid, hostname, acquired_at, expires_at, process_start, boot_id, operation,
                                      commit_id, heartbeat_at, lease_seconds)
                    VALUES (1, \(holder.lockID ?? "000000000000"), \(holder.holder), \(holder.pid), \(holder.hostname), \(holder.acquiredAt),
                            \(holder.expiresAt), \(holder.processStart), \(holder.bootID), \(holder.operation?.rawValue), \(holder.commitID),
                            \(heartbeat), \(lease))
                    """)
            }
        }
    }

    func delete() {
        switch backend {
        case .sqlite:
            try? FileManager.default.removeItem(atPath: location)
        case .postgres:
            guard let store = try? PostgresStateStore(url: location) else { return }
            _ = try? store.link.statement { sql in
                try sql.execute(unsafeSQL: "DROP SCHEMA \"\(store.location.schema)\" CASCADE")
            }
        }
    }
}
