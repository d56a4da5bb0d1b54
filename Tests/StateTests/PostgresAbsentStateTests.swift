import Foundation
import Testing
@testable import PostgresState
import State

/// A run that only reads (plan, drift) never creates a state, in PostgreSQL as with an SQLite file.
@Suite("A PostgreSQL state that does not exist yet", .enabled(if: Backend.all.contains(.postgres), "needs VMPLAN_TEST_POSTGRES"))
struct PostgresAbsentStateTests {
    /// Whether the schema is there, asked without vmplan's migrations (which would create it).
    static func schemaExists(_ state: TestState) throws -> Bool {
        let location = try PostgresLocation(url: state.location)
        return try PostgresLink(location).statement { sql in
            try !sql.rows("SELECT 1 FROM information_schema.schemata WHERE schema_name = \(location.schema)").isEmpty
        }
    }

    @Test func aRunThatOnlyReadsUsesAnEmptyStateInMemoryAndCreatesNoSchema() throws {
        let state = try TestState(.postgres)
        defer { state.delete() }
        let schema = try PostgresLocation(url: state.location).schema
        #expect(try !PostgresStateStore.exists(url: state.location) && !Self.schemaExists(state))

        let store = try PostgresStateStore.open(url: state.location, whenAbsent: .useEmptyInMemory)
        let memory = try #require(store as? StateDatabase)
        #expect(memory.path == state.shown)
        #expect(memory.notice == "note: state \(state.shown) is empty (database vmplan_test has no schema \(schema) with tables yet); "
            + "treating it as a new, empty state and writing nothing to it.")
        // What a plan and a drift check record stays in memory.
        let plan = try store.beginRun(.plan, actor: "test")
        try store.finishRun(plan, result: .succeeded, summary: "1 to add")
        let drift = DriftObservation(kind: "VirtualMachine", name: "web-1", host: "kvm-01", field: "memory", recorded: "8GiB", live: "4GiB")
        #expect(try store.recordDriftCheck([drift], checkedHosts: ["kvm-01"], at: Date()).count == 1)
        #expect(try !Self.schemaExists(state))

        // A run that records (apply) creates it, empty: nothing of the runs in memory.
        let created = try PostgresStateStore.open(url: state.location, whenAbsent: .create)
        #expect(created is PostgresStateStore)
        #expect(try PostgresStateStore.exists(url: state.location))
        #expect(try created.runs().isEmpty && created.driftHistory(name: nil).isEmpty)
        // From then on a plan reads it.
        #expect(try PostgresStateStore.open(url: state.location, whenAbsent: .useEmptyInMemory) is PostgresStateStore)
    }

    @Test func anEmptySchemaIsAnAbsentStateUntilARunRecordsIntoIt() throws {
        let state = try TestState(.postgres)
        defer { state.delete() }
        let location = try PostgresLocation(url: state.location)
        // As a database administrator may make it for vmplan, with its grants.
        try PostgresLink(location).statement { sql in try sql.execute(unsafeSQL: "CREATE SCHEMA \"\(location.schema)\"") }

        #expect(try !PostgresStateStore.exists(url: state.location))
        #expect(try PostgresStateStore.open(url: state.location, whenAbsent: .useEmptyInMemory) is StateDatabase)
        let created = try PostgresStateStore.open(url: state.location, whenAbsent: .create)
        #expect(try created.stateID().count == 36 && PostgresStateStore.exists(url: state.location))
    }
}
