import Foundation
import Testing
@testable import State

/// Copying a whole state into a new one, between any two backends, as `vmplan state push` and `pull` do.
@Suite("State copy between backends (real SQLite files and PostgreSQL)")
struct StateCopyTests {
    static let holder = "vmplan state push (test)"

    /// A state with something in every table: two applies (done, failed and interrupted changes,
    /// owned storage, a resource with a pending restart), drift seen, fixed and back, a reconcile still
    /// running, a lock taken over as stale and one unlocked, and a serial moved on.
    static func fill(_ state: TestState) async throws {
        let store = try state.open()
        let stale = try store.acquireLock(LockRequest(holder: "alice@ci", operation: .apply, lease: 0.2, warn: { _ in }))
        stale.stopHeartbeat()
        try await Task.sleep(for: .milliseconds(400))
        let lock = try state.open().acquireLock(LockRequest(holder: "bob@laptop", operation: .apply, warn: { _ in }))
        try stale.release()

        let apply = try store.beginRun(.apply, actor: "bob@laptop", commit: RunCommit(id: "0123456789abcdef0123"))
        var condition = WriteCondition(serial: try store.serial(), lockID: lock.id)
        func entry(_ kind: String, _ name: String, _ action: String) throws -> Int64 {
            try store.journalBegin(JournalEntry(runID: apply, kind: kind, name: name, host: "kvm-01", action: action, detail: "pool p, 8MiB"))
        }
        let owned = OwnedStorage(kind: "Volume", host: "kvm-01", pool: "p", name: "web-1-root", libvirtKey: "/p/web-1-root")
        condition = try store.journalDone(try entry("Volume", "web-1-root", "create"), update: .keep, ownership: .record(owned), condition: condition)
        for (name, generation) in [("web-1", 2), ("db", 1)] {
            let record = ResourceRecord(kind: "VirtualMachine", name: name, host: "kvm-01", specJSON: #"{"memory":"8GiB","name":"\#(name)"}"#,
                                        specHash: "00000000000000a\(generation)", generation: generation, commitID: "0123456789abcdef0123",
                                        appliedAt: Date(), pendingRestart: name == "web-1" ? ["vcpus", "memory"] : [])
            condition = try store.journalDone(try entry("VirtualMachine", name, "create"), update: .upsert(record), ownership: .keep,
                                              condition: condition)
        }
        try store.journalFailed(try entry("VirtualMachine", "cache", "create"), error: "libvirt said: no 'quote' \u{1F600}\nsecond line")
        _ = try entry("VirtualMachine", "batch", "create")
        try store.finishRun(apply, result: .failed, summary: "1 failed")
        try lock.release()
        let unlocked = try store.acquireLock(LockRequest(holder: "carol@ci", operation: .reconcile, warn: { _ in }))
        _ = try store.unlock(id: unlocked.id, by: "dave@laptop")
        try unlocked.release()

        let drift = try store.beginRun(.drift, actor: "cron@ci")
        let memory = DriftObservation(kind: "VirtualMachine", name: "web-1", host: "kvm-01", field: "memory", recorded: "8GiB", live: "4GiB")
        let gone = DriftObservation(kind: "VirtualMachine", name: "db", host: "kvm-01", field: "exists", recorded: "yes", live: nil)
        _ = try store.recordDriftCheck([memory, gone], checkedHosts: ["kvm-01"], at: Date().addingTimeInterval(-3600))
        _ = try store.recordDriftCheck([gone], checkedHosts: ["kvm-01"], at: Date().addingTimeInterval(-1800))
        _ = try store.recordDriftCheck([memory, gone], checkedHosts: ["kvm-01"], at: Date().addingTimeInterval(-900))
        try store.finishRun(drift, result: .succeeded, summary: "2 drifted")
        _ = try store.beginRun(.reconcile, actor: "ci", commit: RunCommit(id: "fedcba9876543210", ref: "main", author: "Ann <ann@example.com>"))
    }

    @Test(arguments: Backend.all, Backend.all)
    func aCopyHoldsEveryRecordAndCopiedBackItIsTheSourceAgain(_ from: Backend, _ to: Backend) async throws {
        let (source, copy, back) = (try TestState(from), try TestState(to), try TestState(from))
        defer { [source, copy, back].forEach { $0.delete() } }
        try await Self.fill(source)
        let original = try source.open().snapshot()
        #expect(original.runs.count == 3 && original.journal.count == 5 && original.drift.count == 3 && original.lockEvents.count == 2)
        #expect(original.ownedStorage.count == 1 && original.resources.count == 2 && original.serial == 3)

        let report = try StateCopy.copy(from: try source.open(), to: { try copy.open() }, holder: Self.holder)
        #expect(report.verified && report.mismatches.isEmpty, "\(report.mismatches)")
        #expect(report.stateID == original.stateID && report.serial == 3 && report.takeover == nil)
        #expect(report.source.map(\.table) == ["identity", "resource", "run", "journal", "drift", "owned_storage", "lock_event"])
        #expect(report.source.map(\.count) == [1, 2, 3, 5, 3, 1, 2])
        #expect(report.copy == report.source)
        let copied = try copy.open()
        #expect(try copied.snapshot().toTheMillisecond == original.toTheMillisecond, "every record, every column")
        #expect(try copied.stateID() == original.stateID, "the markers of the state's domains carry its id")
        #expect(try copied.lockHolder() == nil && source.open().lockHolder() == nil, "the copy's lock on the source is released")
        #expect(try source.open().snapshot() == original, "the source is unchanged")

        // Copied back into the source's backend: the records as they were.
        let returned = try StateCopy.copy(from: copied, to: { try back.open() }, holder: "vmplan state pull (test)")
        #expect(returned.verified && returned.source == report.source)
        #expect(try back.open().snapshot().toTheMillisecond == original.toTheMillisecond)
    }

    @Test(arguments: Backend.all, Backend.all)
    func aCopyGoesOnWhereTheSourceStopped(_ from: Backend, _ to: Backend) async throws {
        let (source, copy) = (try TestState(from), try TestState(to))
        defer { [source, copy].forEach { $0.delete() } }
        try await Self.fill(source)
        _ = try StateCopy.copy(from: try source.open(), to: { try copy.open() }, holder: Self.holder)
        let store = try copy.open()
        let original = try source.open().snapshot()

        // The interrupted change is still pending for the next apply to settle, new rows get new ids,
        // and the serial goes on from the source's.
        #expect(try store.pendingJournal().map(\.name) == ["batch"])
        let lock = try store.acquireLock(LockRequest(holder: "erin@ci", operation: .apply, warn: { _ in }))
        let run = try store.beginRun(.apply, actor: "erin@ci")
        #expect(run > original.runs.compactMap(\.id).max() ?? 0)
        let entry = try store.journalBegin(JournalEntry(runID: run, kind: "VirtualMachine", name: "db", host: "kvm-01", action: "delete", detail: ""))
        #expect(entry > original.journal.compactMap(\.id).max() ?? 0)
        let next = try store.journalDone(entry, update: .remove(kind: "VirtualMachine", name: "db"), ownership: .keep,
                                         condition: WriteCondition(serial: original.serial, lockID: lock.id))
        #expect(next.serial == original.serial + 1)
        try lock.release()
        let events = try store.lockEvents(limit: 10)
        #expect(events.count == 2 && events.first?.event == .unlocked && events.last?.event == .takenOver)
        let open = try store.recordDriftCheck([], checkedHosts: ["kvm-01"], at: Date())
        #expect(open.isEmpty)
        #expect(try store.driftHistory(name: "web-1").map(\.earlierOccurrences) == [1, 0], "the copy knows the drift came back")
    }

    @Test(arguments: Backend.all, Backend.all)
    func aDestinationThatHoldsAnythingIsRefusedUnchanged(_ from: Backend, _ to: Backend) async throws {
        let (source, destination) = (try TestState(from), try TestState(to))
        defer { [source, destination].forEach { $0.delete() } }
        try await Self.fill(source)
        let other = try destination.open()
        let run = try other.beginRun(.plan, actor: "someone@else")
        try other.finishRun(run, result: .succeeded, summary: "no changes")
        let before = try other.snapshot()

        #expect {
            _ = try StateCopy.copy(from: try source.open(), to: { try destination.open() }, holder: Self.holder)
        } throws: { error in
            guard case .notEmpty(let path, let found) = error as? StateError else { return false }
            return path == destination.shown && found == "1 run"
                && "\(error)".contains("already holds 1 run; a state is copied only into a new, empty one, never over another. Nothing was changed.")
        }
        #expect(try destination.open().snapshot() == before)
        #expect(try source.open().lockHolder() == nil, "the source's lock is released after a refusal too")

        // A lock alone is something: a run may be about to write.
        let empty = try TestState(to)
        defer { empty.delete() }
        let lock = try empty.open().acquireLock(LockRequest(holder: "frank@ci", operation: .apply, warn: { _ in }))
        #expect {
            _ = try StateCopy.copy(from: try source.open(), to: { try empty.open() }, holder: Self.holder)
        } throws: { error in
            "\(error)".contains("already holds a lock (vmplan apply (frank@ci)")
        }
        try lock.release()
        #expect(try empty.open().snapshot().runs.isEmpty)
    }

    @Test(arguments: Backend.all)
    func aSourceARunHoldsIsRefusedAndNothingIsCreated(_ backend: Backend) async throws {
        let (source, destination) = (try TestState(backend), try TestState(backend))
        defer { [source, destination].forEach { $0.delete() } }
        try await Self.fill(source)
        let lock = try source.open().acquireLock(LockRequest(holder: "grace@ci", operation: .apply, warn: { _ in }))
        var opened = false
        do {
            _ = try StateCopy.copy(from: try source.open(), to: { opened = true; return try destination.open() }, holder: Self.holder)
            Issue.record("a copy of a locked state was made")
        } catch {
            guard case .locked(let holder, _) = error as? StateError else { throw error }
            #expect(holder.lockID == lock.id && "\(error)".contains("is locked by vmplan apply (grace@ci)"), "\(error)")
        }
        #expect(!opened, "the destination is not even created")
        #expect(try source.open().lockHolder()?.lockID == lock.id)
        try lock.release()
    }

    @Test func aDigestChangesWithAnyColumnAndOnlyDatesBeyondTheMillisecondAreLeftOut() throws {
        let date = Date(timeIntervalSince1970: 1_800_000_000.123_456)
        let run = RunRecord(id: 7, kind: .apply, startedAt: date, finishedAt: nil, commitID: nil, actor: "a", result: .running,
                            summary: nil, ref: nil, author: nil)
        let snapshot = StateSnapshot(stateID: "id", serial: 1, resources: [], runs: [run], journal: [], drift: [], ownedStorage: [], lockEvents: [])
        let runs = { (snapshot: StateSnapshot) in snapshot.digests.first { $0.table == "run" } }
        #expect(runs(snapshot)?.rows == [#"["7","apply","1800000000123",null,null,"a","running",null,null,null]"#])
        #expect(runs(snapshot.toTheMillisecond) == runs(snapshot))
        #expect(snapshot.toTheMillisecond.runs[0].startedAt.timeIntervalSince1970 == 1_800_000_000.123)

        var changed = snapshot
        changed.runs[0].summary = ""
        #expect(runs(changed)?.sha256 != runs(snapshot)?.sha256, "an empty string is not a null")
        changed = snapshot
        changed.serial = 2
        #expect(changed.digests.first?.sha256 != snapshot.digests.first?.sha256)
        let report = StateCopy.Report(stateID: "id", serial: 1, source: snapshot.digests, copy: changed.digests, takeover: nil)
        #expect(!report.verified && report.mismatches.map(\.source.table) == ["identity"])
    }
}
