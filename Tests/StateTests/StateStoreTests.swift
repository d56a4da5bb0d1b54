import Foundation
import Testing
import State

/// What the reconciler does with recorded state, through the protocol only: the scenario every backend must pass.
@Suite("State store (through the protocol, SQLite and PostgreSQL)")
struct StateStoreTests {
    func entry(_ run: Int64, _ kind: String, _ name: String, _ action: String) -> JournalEntry {
        JournalEntry(runID: run, kind: kind, name: name, host: "kvm-01", action: action, detail: "")
    }

    @Test(arguments: Backend.all)
    func anApplyWithADoneAFailedAndAnInterruptedChange(_ backend: Backend) throws {
        let state = try TestState(backend)
        defer { state.delete() }
        let store = try state.open()
        let lock = try store.acquireLock(holder: "vmplan apply (test)")
        #expect(try store.lockHolder()?.holder == "vmplan apply (test)")

        let run = try store.beginRun(.apply, actor: "test", commit: RunCommit(id: "abc123"))
        var condition = WriteCondition(serial: try store.serial(), lockID: lock.id)
        let volume = try store.journalBegin(entry(run, "Volume", "web-1-root", "create"))
        let owned = OwnedStorage(kind: "Volume", host: "kvm-01", pool: "p", name: "web-1-root", libvirtKey: "/p/web-1-root",
                                 createdAt: Date(timeIntervalSince1970: 0))
        condition = try store.journalDone(volume, update: .keep, ownership: .record(owned), condition: condition)
        let vm = try store.journalBegin(entry(run, "VirtualMachine", "web-1", "create"))
        let record = ResourceRecord(kind: "VirtualMachine", name: "web-1", host: "kvm-01", specJSON: "{}", specHash: "0000000000000001",
                                    generation: 1, commitID: "abc123", appliedAt: Date())
        condition = try store.journalDone(vm, update: .upsert(record), ownership: .keep, condition: condition)
        #expect(try store.serial() == condition.serial && condition.serial == 2)
        let db = try store.journalBegin(entry(run, "VirtualMachine", "db", "create"))
        try store.journalFailed(db, error: "libvirt said no")
        let interrupted = try store.journalBegin(entry(run, "VirtualMachine", "cache", "create"))
        try store.finishRun(run, result: .failed, summary: "1 failed")

        #expect(try store.resources().map(\.name) == ["web-1"])
        #expect(try store.resources(kind: "Volume").isEmpty)
        #expect(try store.ownedStorage() == [owned])
        #expect(try store.pendingJournal().map(\.id) == [interrupted])
        // The next apply settles what the interrupted one left pending.
        try store.resolvePending([interrupted], note: "settled by observing")
        #expect(try store.pendingJournal().isEmpty)
        let journal = try store.journal(runID: run)
        #expect(journal.map(\.status) == [.done, .done, .failed, .failed])
        #expect(journal.last?.error == "settled by observing")
        #expect(try store.runs().map(\.result) == [.failed])
        #expect(try store.runs(limit: 1).first?.commitID == "abc123")

        try lock.release()
        #expect(try store.lockHolder() == nil)
    }

    @Test(arguments: Backend.all)
    func aNewStateHasAnIDThatStaysAndASecondOpenFindsWhatTheFirstRecorded(_ backend: Backend) throws {
        let state = try TestState(backend)
        defer { state.delete() }
        let first = try state.open()
        let id = try first.stateID()
        #expect(id.count == 36)
        let run = try first.beginRun(.reconcile, actor: "test", commit: RunCommit(id: "abc", ref: "main", author: "Ann"))
        let create = try first.journalBegin(entry(run, "VirtualMachine", "web-1", "create"))
        let record = ResourceRecord(kind: "VirtualMachine", name: "web-1", host: "kvm-01", specJSON: "{}", specHash: "0000000000000001",
                                    generation: 3, commitID: nil, appliedAt: Date(timeIntervalSince1970: 1_700_000_000),
                                    pendingRestart: ["vcpus", "memory"])
        try first.journalDone(create, update: .upsert(record))
        try first.finishRun(run, result: .partial, summary: "1 host did not answer")

        let second = try state.open()
        #expect(try second.stateID() == id)
        #expect(try second.resources() == [record])
        let recorded = try #require(try second.runs().first)
        #expect(recorded.kind == .reconcile && recorded.result == .partial && recorded.ref == "main" && recorded.author == "Ann")
        #expect(try second.lastReconciledCommit() == nil, "a partial reconcile is not a reconciled commit")
        let remove = try second.journalBegin(entry(run, "VirtualMachine", "web-1", "delete"))
        try second.journalDone(remove, update: .remove(kind: "VirtualMachine", name: "web-1"))
        #expect(try first.resources().isEmpty)
        #expect(try first.serial() == 2)
    }
}
