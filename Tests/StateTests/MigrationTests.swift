import Foundation
import GRDB
import Testing
@testable import State

/// Migrations of states written by earlier vmplans, on real files: every row survives.
@Suite("State migrations (real SQLite file)")
struct MigrationTests {
    let path = FileManager.default.temporaryDirectory.appendingPathComponent("vmplan-migration-\(UUID().uuidString).db").path

    @Test func migratingAVersion6StateKeepsRunsAndJournalAndAcceptsTheNewRunKinds() throws {
        defer { try? FileManager.default.removeItem(atPath: path) }
        try Migrations.migrator.migrate(try DatabaseQueue(path: path), upTo: "v6: state identity")
        try TestSQL.execute(path, """
            INSERT INTO run (id, kind, started_at, finished_at, commit_id, actor, result, summary) VALUES
                (1, 'apply', '2026-01-01 10:00:00.000', '2026-01-01 10:01:00.000', 'abc123', 'alice@ci', 'failed', '1 failed'),
                (2, 'plan', '2026-01-02 10:00:00.000', '2026-01-02 10:00:01.000', NULL, 'bob@laptop', 'succeeded', 'no changes'),
                (3, 'apply', '2026-01-03 10:00:00.000', NULL, NULL, 'carol@ci', 'running', NULL),
                (4, 'plan', '2026-01-04 10:00:00.000', NULL, NULL, 'dave@ci', 'running', NULL);
            INSERT INTO journal (run_id, kind, name, host, action, detail, status, error, started_at, finished_at) VALUES
                (1, 'VirtualMachine', 'web-1', 'kvm-01', 'create', '', 'done', NULL, '2026-01-01 10:00:10.000', '2026-01-01 10:00:20.000'),
                (1, 'VirtualMachine', 'db', 'kvm-01', 'create', '', 'failed', 'libvirt said no', '2026-01-01 10:00:30.000', '2026-01-01 10:00:40.000'),
                (3, 'VirtualMachine', 'cache', 'kvm-01', 'create', '', 'pending', NULL, '2026-01-03 10:00:10.000', NULL);
            DELETE FROM run WHERE id = 4;
            """)
        // Version 6 refuses a drift run: the migration is what makes it possible.
        #expect(throws: (any Error).self) {
            try TestSQL.execute(path, "INSERT INTO run (kind, started_at, actor, result) VALUES ('drift', '2026-01-04', 'x', 'partial')")
        }

        let store: any StateStore = try StateDatabase(path: path)
        let runs = try store.runs()
        #expect(runs.map(\.id) == [3, 2, 1])
        #expect(runs.map(\.kind) == [.apply, .plan, .apply] && runs.map(\.result) == [.running, .succeeded, .failed])
        #expect(runs.last?.commitID == "abc123" && runs.last?.actor == "alice@ci" && runs.last?.summary == "1 failed")
        #expect(runs.last?.finishedAt == Date(timeIntervalSince1970: 1_767_261_660))
        #expect(try store.journal(runID: 1).map(\.status) == [.done, .failed])
        #expect(try store.journal(runID: 1).last?.error == "libvirt said no")
        #expect(try store.pendingJournal().map(\.name) == ["cache"])
        #expect(try TestSQL.query(path, "PRAGMA foreign_key_check").isEmpty)

        let drift = try store.beginRun(.drift, actor: "test")
        try store.finishRun(drift, result: .partial, summary: "kvm-02 did not answer")
        let reconcile = try store.beginRun(.reconcile, actor: "test", commit: RunCommit(id: "def456", ref: "refs/heads/main", author: "Ann <ann@example.com>"))
        try store.finishRun(reconcile, result: .succeeded, summary: "no changes")
        #expect(drift == 5 && reconcile == 6, "no run id is used twice, not even a deleted one's")
        #expect(try store.runs(limit: 2).map(\.kind) == [.reconcile, .drift])
        #expect(try store.runs(limit: 2).map(\.result) == [.succeeded, .partial])
        let reconciled = try #require(try store.runs(limit: 1).first)
        #expect(reconciled.commitID == "def456" && reconciled.ref == "refs/heads/main" && reconciled.author == "Ann <ann@example.com>")
        #expect(try store.lastReconciledCommit() == "def456")
        // journal.run_id still refers to run: deleting a run takes its journal with it.
        try TestSQL.execute(path, "PRAGMA foreign_keys = ON; DELETE FROM run WHERE id = 1")
        #expect(try store.journal(runID: 1).isEmpty)
    }
}
