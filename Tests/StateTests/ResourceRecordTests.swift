import Foundation
import Testing
@testable import State

/// The resource row vmplan writes by hand (no JSONEncoder per change) reads back as written.
@Suite("Resource record rows")
struct ResourceRecordTests {
    @Test(arguments: [[], ["vcpus"], ["memory", "networks"], ["quote \" backslash \\ newline \n tab \t é"]])
    func pendingRestartRoundTrips(fields: [String]) throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("vmplan-record-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: directory) }
        let database = try StateDatabase(path: directory.appendingPathComponent("state.db").path)
        let record = ResourceRecord(kind: "VirtualMachine", name: "web", host: "kvm-01", specJSON: "{\"name\":\"web\"}", specHash: "0123456789abcdef",
                                    generation: 3, commitID: "abc", appliedAt: Date(timeIntervalSince1970: 1_800_000_000.25),
                                    pendingRestart: fields)
        try database.queue.write { db in try record.save(db) }
        let read = try #require(try database.resources(kind: "VirtualMachine").first)
        #expect(read == record)
        let text = try database.queue.read { db in try String.fetchOne(db, sql: "SELECT pending_restart FROM resource") }
        let decoded = try JSONDecoder().decode([String].self, from: Data((text ?? "").utf8))
        #expect(decoded == fields, "the column is a JSON array: \(text ?? "nil")")
    }
}
