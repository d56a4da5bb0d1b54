import Foundation
import Testing
@testable import State

@Suite("State database (real SQLite file; writes and lock takeovers also on PostgreSQL)")
struct StateDatabaseTests {
    let directory = FileManager.default.temporaryDirectory.appendingPathComponent("vmplan-state-\(UUID().uuidString)")
    var path: String { directory.appendingPathComponent(".vmplan/state.db").path }

    func record(_ name: String, generation: Int = 1) -> ResourceRecord {
        ResourceRecord(kind: "VirtualMachine", name: name, host: "kvm-01", specJSON: "{\"name\":\"\(name)\"}",
                       specHash: "00000000000000\(generation)", generation: generation, commitID: nil, appliedAt: Date())
    }

    @Test func createsTheFileAndItsDirectoryAndMigrates() throws {
        defer { try? FileManager.default.removeItem(at: directory) }
        _ = try StateDatabase(path: path)
        #expect(FileManager.default.fileExists(atPath: path))
        let tables = try TestSQL.tables(path)
        #expect(Set(["resource", "run", "journal", "lock", "grdb_migrations"]).isSubset(of: tables))
        // Opening again runs no migration twice and keeps the data.
        let database = try StateDatabase(path: path)
        #expect(try database.resources().isEmpty)
    }

    @Test(arguments: Backend.all)
    func journalDoneAndResourceUpdateLandTogether(_ backend: Backend) throws {
        let state = try TestState(backend)
        defer { state.delete() }
        let database = try state.open()
        let run = try database.beginRun(.apply, actor: "test")
        let id = try database.journalBegin(JournalEntry(runID: run, kind: "VirtualMachine", name: "web-1", host: "kvm-01", action: "create", detail: ""))
        #expect(try database.pendingJournal().map(\.name) == ["web-1"])
        try database.journalDone(id, update: .upsert(record("web-1")))
        #expect(try database.pendingJournal().isEmpty)
        #expect(try database.resources().map(\.name) == ["web-1"])
        #expect(try database.journal(runID: run).first?.status == .done)

        let delete = try database.journalBegin(JournalEntry(runID: run, kind: "VirtualMachine", name: "web-1", host: "kvm-01", action: "delete", detail: ""))
        try database.journalDone(delete, update: .remove(kind: "VirtualMachine", name: "web-1"))
        #expect(try database.resources().isEmpty)
        try database.finishRun(run, result: .succeeded, summary: "ok")
        #expect(try database.runs().first?.result == .succeeded)
    }

    @Test(arguments: Backend.all)
    func failedChangesKeepTheirErrorAndTouchNoResource(_ backend: Backend) throws {
        let state = try TestState(backend)
        defer { state.delete() }
        let database = try state.open()
        let run = try database.beginRun(.apply, actor: "test")
        let id = try database.journalBegin(JournalEntry(runID: run, kind: "VirtualMachine", name: "db", host: "kvm-01", action: "create", detail: ""))
        try database.journalFailed(id, error: "libvirt said no")
        let entry = try #require(try database.journal(runID: run).first)
        #expect(entry.status == .failed)
        #expect(entry.error == "libvirt said no")
        #expect(try database.resources().isEmpty)
    }

    @Test(arguments: Backend.all)
    func aSecondWriterIsRefusedWithTheHolderNamed(_ backend: Backend) throws {
        let state = try TestState(backend)
        defer { state.delete() }
        let first = try state.open()
        let lock = try first.acquireLock(holder: "vmplan apply (alice@ci)")
        let second = try state.open()
        #expect {
            _ = try second.acquireLock(holder: "vmplan apply (bob@laptop)")
        } throws: { error in
            "\(error)".contains("locked by vmplan apply (alice@ci)") && "\(error)".contains("pid \(getpid())")
        }
        try lock.release()
        let again = try second.acquireLock(holder: "vmplan apply (bob@laptop)")
        #expect(try second.lockHolder()?.holder == "vmplan apply (bob@laptop)")
        try again.release()
        #expect(try second.lockHolder() == nil)
    }

    // Locks as another vmplan left them: one of an older vmplan (no lease, heartbeat or process start),
    // one of a process that died.
    static let longAgo = Date(timeIntervalSince1970: 1_767_225_600)  // 2026-01-01
    static let farAhead = Date(timeIntervalSince1970: 32_472_144_000)  // 2999-01-01

    @Test(arguments: Backend.all)
    func aLockWhoseProcessIsGoneIsTakenOver(_ backend: Backend) throws {
        let state = try TestState(backend)
        defer { state.delete() }
        let database = try state.open()
        // A pid that cannot be alive: above the kernel's pid_max.
        try state.writeLock(LockHolder(holder: "crashed apply", pid: 99_999_999, hostname: ProcessInfo.processInfo.hostName,
                                       acquiredAt: Self.longAgo, expiresAt: Self.farAhead))
        let lock = try database.acquireLock(holder: "next apply")
        #expect(try database.lockHolder()?.holder == "next apply")
        #expect(lock.takeover?.reason.hasPrefix("its process 99999999 on this machine is gone") == true)
        try lock.release()
    }

    @Test(arguments: Backend.all)
    func aLockWhosePidWasReusedIsTakenOver(_ backend: Backend) throws {
        let state = try TestState(backend)
        defer { state.delete() }
        let database = try state.open()
        let host = ProcessInfo.processInfo.hostName
        let started = try #require(ProcessStart.ticks(of: getpid()))
        let boot = try #require(ProcessStart.bootID)
        // This process's pid, but the holder started at another time: a process that died and whose pid was reused.
        try state.writeLock(LockHolder(holder: "crashed apply", pid: getpid(), hostname: host, acquiredAt: Self.longAgo, expiresAt: Self.farAhead,
                                       processStart: started + 1, bootID: boot))
        #expect(try database.lockHolder()?.isAlive() == false)
        let lock = try database.acquireLock(holder: "next apply")
        #expect(try database.lockHolder()?.holder == "next apply")
        try lock.release()

        // The same pid and start time, in an earlier boot of this machine.
        try state.writeLock(LockHolder(holder: "before the reboot", pid: getpid(), hostname: host, acquiredAt: Self.longAgo,
                                       expiresAt: Self.farAhead, processStart: started, bootID: "an-earlier-boot"))
        #expect(try database.lockHolder()?.isAlive() == false)
        try database.acquireLock(holder: "after the reboot").release()

        // The process that took it, still running: held.
        try state.writeLock(LockHolder(holder: "running apply", pid: getpid(), hostname: host, acquiredAt: Self.longAgo, expiresAt: Self.farAhead,
                                       processStart: started, bootID: boot))
        #expect(try database.lockHolder()?.isAlive() == true)
        #expect(throws: StateError.self) { try database.acquireLock(holder: "me") }
    }

    @Test(arguments: Backend.all)
    func anExpiredLockIsTakenOverButALiveOneOnAnotherHostIsNot(_ backend: Backend) throws {
        let state = try TestState(backend)
        defer { state.delete() }
        let database = try state.open()
        try state.writeLock(LockHolder(holder: "runner-7", pid: 1, hostname: "other-machine", acquiredAt: Self.longAgo, expiresAt: Self.farAhead))
        #expect(throws: StateError.self) { try database.acquireLock(holder: "me") }
        try state.writeLock(LockHolder(holder: "runner-7", pid: 1, hostname: "other-machine", acquiredAt: Self.longAgo,
                                       expiresAt: Date(timeIntervalSince1970: 946_684_800)))
        let lock = try database.acquireLock(holder: "me")
        #expect(lock.takeover?.reason.hasPrefix("stale: no heartbeat for ") == true)
        try lock.release()
    }

    @Test func anUnreadableFileIsAClearError() throws {
        defer { try? FileManager.default.removeItem(at: directory) }
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        let bogus = directory.appendingPathComponent("not-a-db")
        try Data("this is not sqlite at all, not even close".utf8).write(to: bogus)
        #expect {
            _ = try StateDatabase(path: bogus.path)
        } throws: { error in
            "\(error)".contains("cannot open state database \(bogus.path)")
        }
    }
}

/// Reads the file with the sqlite3 command, not through vmplan's own code.
enum TestSQL {
    static func tables(_ path: String) throws -> Set<String> {
        Set(try query(path, "SELECT name FROM sqlite_master WHERE type = 'table'").split(separator: "\n").map(String.init))
    }

    static func execute(_ path: String, _ sql: String) throws {
        _ = try query(path, sql)
    }

    static func query(_ path: String, _ sql: String) throws -> String {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["sqlite3", path, sql]
        let pipe = Pipe()
        process.standardOutput = pipe
        try process.run()
        let data = pipe.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        guard process.terminationStatus == 0 else { throw CocoaError(.fileReadUnknown) }
        return String(decoding: data, as: UTF8.self)
    }
}
