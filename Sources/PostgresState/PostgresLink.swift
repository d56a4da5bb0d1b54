import Foundation
import Logging
import NIOConcurrencyHelpers
import NIOCore
import NIOPosix
import NIOSSL
import PostgresNIO
import State

/// One connection to the server, used by one caller at a time. `StateStore` is synchronous: each
/// call blocks its thread on postgres-nio's futures, which complete on an event loop of this link's
/// own, so a caller on Swift's cooperative pool never waits for a thread of that pool.
final class PostgresLink: Sendable {
    let location: PostgresLocation
    private let group: MultiThreadedEventLoopGroup
    /// Held for a whole statement or transaction: the lock's heartbeat thread and the run's writes
    /// share the connection, and a transaction must not take in another caller's statement.
    private let connection: NIOLockedValueBox<PostgresConnection?>
    private let logger = Logger(label: "vmplan.postgres", factory: { _ in SwiftLogNoOpLogHandler() })

    init(_ location: PostgresLocation) {
        self.location = location
        group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        connection = NIOLockedValueBox(nil)
    }

    deinit {
        connection.withLockedValue { connection in
            _ = try? connection?.close().wait()
            connection = nil
        }
        try? group.syncShutdownGracefully()
    }

    /// Statements of one transaction (or of none, for `PostgresLink.statement`).
    struct Statements {
        fileprivate let connection: PostgresConnection
        fileprivate let logger: Logger

        /// Runs one statement and returns its rows.
        @discardableResult
        func rows(_ query: PostgresQuery) throws -> [PostgresRandomAccessRow] {
            try connection.query(query, logger: logger).wait().rows.map { $0.makeRandomAccess() }
        }

        /// Runs SQL this module wrote (a schema name, never a value from outside).
        @discardableResult
        func execute(unsafeSQL sql: String) throws -> Int {
            try execute(PostgresQuery(unsafeSQL: sql))
        }

        /// Runs one statement and returns how many rows it changed.
        @discardableResult
        func execute(_ query: PostgresQuery) throws -> Int {
            try connection.query(query, logger: logger).wait().metadata.rows ?? 0
        }
    }

    /// Runs `body` in one transaction: committed when it returns, rolled back when it throws.
    @discardableResult
    func transaction<T>(_ body: (Statements) throws -> T) throws -> T {
        try withConnection { statements in
            try statements.execute("BEGIN")
            do {
                let result = try body(statements)
                try statements.execute("COMMIT")
                return result
            } catch {
                _ = try? statements.execute("ROLLBACK")
                throw error
            }
        }
    }

    /// One statement on its own (its own transaction).
    @discardableResult
    func statement<T>(_ body: (Statements) throws -> T) throws -> T {
        try withConnection(body)
    }

    private func withConnection<T>(_ body: (Statements) throws -> T) throws -> T {
        try connection.withLockedValue { connection in
            do {
                if connection == nil || connection?.isClosed == true {
                    connection = try connect()
                }
                return try body(Statements(connection: connection!, logger: logger))
            } catch let error as StateError {
                throw error
            } catch {
                throw StateError.failed(path: location.redacted, reason: Self.describe(error))
            }
        }
    }

    private func connect() throws -> PostgresConnection {
        let tls: PostgresConnection.Configuration.TLS
        switch location.tls {
        case .disable: tls = .disable
        case .prefer: tls = .prefer(try NIOSSLContext(configuration: .makeClientConfiguration()))
        case .require: tls = .require(try NIOSSLContext(configuration: .makeClientConfiguration()))
        }
        let configuration = PostgresConnection.Configuration(host: location.host, port: location.port, username: location.user,
                                                              password: location.password, database: location.database, tls: tls)
        do {
            let connection = try PostgresConnection.connect(on: group.next(), configuration: configuration, id: 1, logger: logger).wait()
            // Every statement names its tables unqualified: they are the state's schema's.
            _ = try connection.query(PostgresQuery(unsafeSQL: "SET search_path TO \"\(location.schema)\""), logger: logger).wait()
            return connection
        } catch {
            throw StateError.unreadable(path: location.redacted, reason: "cannot connect to PostgreSQL at \(location.host):\(location.port): "
                + Self.describe(error) + "; check that the server runs and the user, database and password (PGPASSWORD) are right")
        }
    }

    /// The server's own message and SQLSTATE (postgres-nio's description hides them; they carry no password).
    static func describe(_ error: any Error) -> String {
        guard let error = error as? PSQLError else { return "\(error)" }
        if let info = error.serverInfo, let message = info[.message] {
            return message + (info[.sqlState].map { " (SQLSTATE \($0))" } ?? "") + (info[.detail].map { ": \($0)" } ?? "")
        }
        return "\(error.code)" + (error.underlying.map { ": \($0)" } ?? "")
    }

    /// The server reported a SQLSTATE of `code` (`23514`: a CHECK constraint).
    static func sqlState(of error: any Error) -> String? {
        (error as? PSQLError)?.serverInfo?[.sqlState]
    }
}
