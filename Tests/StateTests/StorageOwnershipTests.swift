import Foundation
import Testing
@testable import State

@Suite("Storage ownership records (real SQLite file and PostgreSQL)")
struct StorageOwnershipTests {
    @Test(arguments: Backend.all)
    func ownershipIsWrittenAndForgottenWithTheJournal(_ backend: Backend) throws {
        let state = try TestState(backend)
        defer { state.delete() }
        let database = try state.open()
        let run = try database.beginRun(.apply, actor: "test")
        let create = try database.journalBegin(JournalEntry(runID: run, kind: "Volume", name: "data", host: "kvm-01", action: "create", detail: ""))
        let owned = OwnedStorage(kind: "Volume", host: "kvm-01", pool: "p", name: "data", libvirtKey: "/p/data", createdAt: Date(timeIntervalSince1970: 0))
        try database.journalDone(create, update: .keep, ownership: .record(owned))
        #expect(try database.ownedStorage() == [owned])
        let delete = try database.journalBegin(JournalEntry(runID: run, kind: "Volume", name: "data", host: "kvm-01", action: "delete", detail: ""))
        try database.journalDone(delete, update: .keep, ownership: .forget(kind: "Volume", host: "kvm-01", pool: "p", name: "data"))
        #expect(try database.ownedStorage().isEmpty)
        #expect(try database.journal(runID: run).map(\.status) == [.done, .done])
    }
}
