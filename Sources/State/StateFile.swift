import Foundation
import GRDB

/// What is at a state path before vmplan writes to it: nothing, an empty file, or a vmplan state
/// database. Anything else (another program's SQLite file, a newer vmplan's state, not SQLite at
/// all) is refused here, having been read only.
enum StateFile {
    /// 'vmpl' in the application id field of the SQLite header: the mark of a vmplan state database.
    static let applicationID: Int32 = 0x766D_706C

    enum Contents: Equatable {
        case missing
        /// Nothing vmplan would lose by writing its schema into it; `found` says what it is.
        case empty(found: String)
        case vmplan
    }

    /// Tables of the first migration, which recognise a vmplan state from before the application id was set.
    private static let firstTables: Set<String> = ["resource", "run", "journal", "lock"]

    static func inspect(_ path: String, knownMigrations: [String]) throws -> Contents {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) else { return .missing }
        guard !isDirectory.boolValue else {
            throw StateError.unreadable(path: path, reason: "it is a directory; pass the path of a state file (for example \(path)/state.db)")
        }
        guard let handle = FileHandle(forReadingAtPath: path) else {
            throw StateError.unreadable(path: path, reason: "it cannot be read (check its permissions)")
        }
        let header = handle.readData(ofLength: 100)
        handle.closeFile()
        guard !header.isEmpty else { return .empty(found: "0 bytes") }
        guard header.starts(with: Data("SQLite format 3\u{0}".utf8)) else {
            throw StateError.notSQLite(path: path, found: describe(header))
        }

        var configuration = Configuration()
        configuration.readonly = true
        // Another vmplan may be creating or migrating the same file right now: wait for it.
        configuration.busyMode = .timeout(5)
        let found: (applicationID: Int32, tables: [String], migrations: [String])
        do {
            found = try DatabaseQueue(path: path, configuration: configuration).read { db in
                let tables = try String.fetchAll(db, sql: "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name")
                let migrations = tables.contains("grdb_migrations")
                    ? try String.fetchAll(db, sql: "SELECT identifier FROM grdb_migrations ORDER BY rowid") : []
                return (try Int32.fetchOne(db, sql: "PRAGMA application_id") ?? 0, tables, migrations)
            }
        } catch {
            throw StateError.unreadable(path: path, reason: "\(error)")
        }

        let recognised = found.applicationID == applicationID
            || (found.applicationID == 0 && found.migrations.contains(knownMigrations[0]) && firstTables.isSubset(of: found.tables))
        if recognised {
            let unknown = found.migrations.filter { !knownMigrations.contains($0) }
            guard unknown.isEmpty else { throw StateError.newerVMPlan(path: path, migrations: unknown) }
            return .vmplan
        }
        if found.applicationID != 0 {
            throw StateError.notVMPlan(path: path, found: String(format: "an SQLite database with application id 0x%08X (vmplan's is 0x%08X)",
                                                                 found.applicationID, applicationID))
        }
        guard !found.tables.isEmpty else { return .empty(found: "an SQLite database without tables") }
        let shown = found.tables.prefix(5).joined(separator: ", ") + (found.tables.count > 5 ? ", …" : "")
        throw StateError.notVMPlan(path: path, found: "an SQLite database with table\(found.tables.count == 1 ? "" : "s") \(shown) and no vmplan migration")
    }

    /// The start of a file that is not SQLite, quoted when it is text.
    private static func describe(_ header: Data) -> String {
        let start = header.prefix(24)
        let printable = start.allSatisfy { (0x20..<0x7F).contains($0) || $0 == 0x0A || $0 == 0x09 }
        guard printable, let text = String(data: start, encoding: .ascii) else { return "starts with binary data other than the SQLite header" }
        let quoted = text.replacingOccurrences(of: "\n", with: "\\n").replacingOccurrences(of: "\t", with: "\\t")
        return "starts with \"\(quoted)\(header.count > start.count ? "…" : "")\""
    }
}
