import Foundation
import GRDB
import Testing
@testable import State

/// Which files vmplan takes as its state, on real files: anything it refuses is left byte for byte as it was.
@Suite("State file identity (real SQLite files)")
struct StateFileTests {
    let directory = FileManager.default.temporaryDirectory.appendingPathComponent("vmplan-statefile-\(UUID().uuidString)")
    var path: String { directory.appendingPathComponent("state.db").path }

    init() throws {
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
    }

    func bytes(_ path: String) throws -> Data {
        try Data(contentsOf: URL(fileURLWithPath: path))
    }

    @Test func aNewStateCarriesVMPlansApplicationID() throws {
        defer { try? FileManager.default.removeItem(at: directory) }
        let database = try StateDatabase(path: path)
        #expect(database.origin == .created)
        #expect(database.notice == nil)
        #expect(try TestSQL.query(path, "PRAGMA application_id").trimmingCharacters(in: .whitespacesAndNewlines) == "1986883692")
    }

    @Test func anotherProgramsSQLiteFileIsRefusedUnchanged() throws {
        defer { try? FileManager.default.removeItem(at: directory) }
        try TestSQL.execute(path, "CREATE TABLE notes (body TEXT); INSERT INTO notes VALUES ('keep me');")
        let before = try bytes(path)
        #expect {
            _ = try StateDatabase(path: path)
        } throws: { error in
            guard case StateError.notVMPlan(let refused, let found) = error else { return false }
            return refused == path && found.contains("table notes") && "\(error)".contains("Nothing was changed")
        }
        #expect(try bytes(path) == before)
        #expect(try TestSQL.tables(path) == ["notes"])
    }

    @Test func anSQLiteFileWithAnotherApplicationIDIsRefusedEvenWithTablesLikeOurs() throws {
        defer { try? FileManager.default.removeItem(at: directory) }
        try TestSQL.execute(path, "PRAGMA application_id = 42; CREATE TABLE resource (x); CREATE TABLE run (x);")
        let before = try bytes(path)
        #expect {
            _ = try StateDatabase(path: path, whenAbsent: .useEmptyInMemory)
        } throws: { error in
            "\(error)".contains("application id 0x0000002A") && "\(error)".contains(path)
        }
        #expect(try bytes(path) == before)
    }

    @Test func aStateMigratedByANewerVMPlanIsRefusedUnchanged() throws {
        defer { try? FileManager.default.removeItem(at: directory) }
        _ = try StateDatabase(path: path)
        try TestSQL.execute(path, "INSERT INTO grdb_migrations (identifier) VALUES ('v99: something from the future')")
        let before = try bytes(path)
        #expect {
            _ = try StateDatabase(path: path)
        } throws: { error in
            guard case StateError.newerVMPlan(let refused, let migrations) = error else { return false }
            return refused == path && migrations == ["v99: something from the future"] && "\(error)".contains("a newer vmplan wrote it")
        }
        #expect(try bytes(path) == before)
    }

    @Test func aStateFromBeforeTheApplicationIDIsRecognisedAndMarked() throws {
        defer { try? FileManager.default.removeItem(at: directory) }
        // What vmplan wrote before migration v4: no application id, no lock.process_start.
        try Migrations.migrator.migrate(try DatabaseQueue(path: path), upTo: "v3: owned_storage")
        #expect(try TestSQL.query(path, "PRAGMA application_id").trimmingCharacters(in: .whitespacesAndNewlines) == "0")
        let database = try StateDatabase(path: path)
        #expect(database.origin == .existing)
        #expect(try TestSQL.query(path, "PRAGMA application_id").trimmingCharacters(in: .whitespacesAndNewlines) == "1986883692")
        let lock = try database.acquireLock(holder: "test")
        #expect(try database.lockHolder()?.processStart == ProcessStart.ticks(of: getpid()))
        try lock.release()
    }

    @Test func aZeroByteFileIsANewStateAndSaysSo() throws {
        defer { try? FileManager.default.removeItem(at: directory) }
        #expect(FileManager.default.createFile(atPath: path, contents: Data()))
        let planned = try StateDatabase(path: path, whenAbsent: .useEmptyInMemory)
        #expect(planned.origin == .inMemory(found: "0 bytes"))
        #expect(planned.notice?.contains("state \(path) is empty (0 bytes)") == true)
        _ = try planned.beginRun(.plan, actor: "test")
        #expect(try bytes(path).isEmpty, "a plan writes nothing into it")

        let applied = try StateDatabase(path: path)
        #expect(applied.origin == .initialisedEmptyFile(found: "0 bytes"))
        #expect(applied.notice?.contains("state \(path) was empty (0 bytes); it is now a new vmplan state database") == true)
        #expect(try TestSQL.query(path, "PRAGMA application_id").trimmingCharacters(in: .whitespacesAndNewlines) == "1986883692")
    }

    @Test func aFileThatIsNotSQLiteIsRefusedUnchanged() throws {
        defer { try? FileManager.default.removeItem(at: directory) }
        try Data("resource: web-1\nhost: kvm-01\n".utf8).write(to: URL(fileURLWithPath: path))
        let before = try bytes(path)
        #expect {
            _ = try StateDatabase(path: path)
        } throws: { error in
            guard case StateError.notSQLite(let refused, let found) = error else { return false }
            return refused == path && found == #"starts with "resource: web-1\nhost: kv…""#
                && "\(error)".contains("it is not an SQLite file (it starts with")
        }
        #expect(try bytes(path) == before)
    }

    @Test func aMissingStateReadForAPlanIsEmptyAndCreatesNothing() throws {
        defer { try? FileManager.default.removeItem(at: directory) }
        let nested = directory.appendingPathComponent("not-yet/.vmplan/state.db").path
        let database = try StateDatabase(path: nested, whenAbsent: .useEmptyInMemory)
        #expect(database.origin == .inMemory(found: nil))
        #expect(database.notice == nil)
        #expect(try database.resources().isEmpty)
        let run = try database.beginRun(.plan, actor: "test")
        try database.finishRun(run, result: .succeeded, summary: "no changes")
        #expect(!FileManager.default.fileExists(atPath: directory.appendingPathComponent("not-yet").path))
    }
}
