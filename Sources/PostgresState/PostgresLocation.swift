import Foundation
import State

/// Where a PostgreSQL state is: `postgres://USER[:PASSWORD]@HOST[:PORT]/DATABASE[?schema=NAME&sslmode=MODE]`.
/// Each state is one schema (default `vmplan`), so one database holds many states. A password not in
/// the URL is taken from `PGPASSWORD`; messages, plans and logs show `redacted`, never the password.
public struct PostgresLocation: Sendable, Hashable {
    public var host: String
    public var port: Int
    public var user: String
    public var password: String?
    public var database: String
    public var schema: String
    public var tls: TLSMode

    public enum TLSMode: String, Sendable, Hashable {
        /// TLS when the server offers it (libpq's default).
        case prefer
        case require
        case disable
    }

    public static let defaultSchema = "vmplan"

    /// Whether `--state` names a PostgreSQL state rather than an SQLite file.
    public static func isURL(_ text: String) -> Bool {
        text.hasPrefix("postgres://") || text.hasPrefix("postgresql://")
    }

    public init(url text: String, environment: [String: String] = ProcessInfo.processInfo.environment) throws {
        let shown = Self.redact(text)
        func refuse(_ reason: String) -> StateError {
            .unreadable(path: shown, reason: reason + "; write it as postgres://USER@HOST:PORT/DATABASE?schema=NAME")
        }
        guard Self.isURL(text), let components = URLComponents(string: text) else { throw refuse("it is not a postgres:// URL") }
        guard let host = components.host, !host.isEmpty else { throw refuse("it names no host") }
        let database = String(components.path.drop { $0 == "/" })
        guard !database.isEmpty, !database.contains("/") else { throw refuse("it names no database (the path after the host)") }
        self.host = host
        port = components.port ?? 5432
        user = components.user.flatMap { $0.removingPercentEncoding } ?? environment["PGUSER"] ?? "postgres"
        // An empty PGPASSWORD (a CI secret that is not set) is no password.
        password = components.password.flatMap { $0.removingPercentEncoding } ?? environment["PGPASSWORD"].flatMap { $0.isEmpty ? nil : $0 }
        self.database = database.removingPercentEncoding ?? database
        schema = Self.defaultSchema
        tls = .prefer
        for item in components.queryItems ?? [] {
            switch (item.name, item.value ?? "") {
            case ("schema", let name):
                // Lower-case SQL identifiers only: the name is written into statements, never bound.
                guard name.range(of: "^[a-z_][a-z0-9_]{0,62}$", options: .regularExpression) != nil else {
                    throw refuse("schema '\(name)' is not a lower-case identifier (a-z, 0-9, _; not starting with a digit)")
                }
                schema = name
            case ("sslmode", let mode):
                guard let parsed = TLSMode(rawValue: mode) else { throw refuse("sslmode '\(mode)' is not disable, prefer or require") }
                tls = parsed
            case (let name, _):
                throw refuse("it has an unknown parameter '\(name)' (known: schema, sslmode)")
            }
        }
    }

    /// The URL as it may be shown, and written into plans: without the password, which comes from
    /// `PGPASSWORD` when the URL is used again.
    public var redacted: String {
        let credentials = user
        var query: [String] = []
        if schema != Self.defaultSchema { query.append("schema=\(schema)") }
        if tls != .prefer { query.append("sslmode=\(tls.rawValue)") }
        return "postgres://\(credentials)@\(host):\(port)/\(database)" + (query.isEmpty ? "" : "?" + query.joined(separator: "&"))
    }

    /// Any `postgres://` URL with its password replaced by `***`, even one that does not parse.
    public static func redact(_ text: String) -> String {
        guard let at = text.range(of: "@"), let schemeEnd = text.range(of: "://"), schemeEnd.upperBound < at.lowerBound else { return text }
        let userInfo = text[schemeEnd.upperBound..<at.lowerBound]
        guard let colon = userInfo.firstIndex(of: ":") else { return text }
        return text.replacingCharacters(in: colon..<at.lowerBound, with: ":***")
    }
}
