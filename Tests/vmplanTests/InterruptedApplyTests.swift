import Foundation
import Testing
import TestSupport

/// What an apply created on the host and stopped before recording, on a real libvirtd. The
/// window is made exactly (the volume and its pending journal entry written by hand, as a run
/// killed between the two leaves them) instead of raced with a SIGKILL.
@Suite("Creations an interrupted apply never recorded, on a real libvirtd", .enabled(if: TestHost.shouldRun(), "needs a libvirt host: run scripts/host-up"))
struct InterruptedApplyTests {
    /// A workspace whose pool vmplan created, and a volume `data` in it that vmplan did not record.
    static func poolWithUnrecordedVolume() throws -> (TestPool, Workspace) {
        let pool = try TestPool()
        let workspace = try Workspace()
        try workspace.write("pool.yaml", pool.yaml)
        #expect(try StorageTests.apply(workspace).status == 0)
        #expect(try TestHost.virsh("vol-create-as", pool.name, "data", "8M", "--format", "qcow2").status == 0)
        return (pool, workspace)
    }

    @Test func aVolumeCreatedButNotRecordedIsRecognisedFromItsPendingJournalEntry() throws {
        let (pool, workspace) = try Self.poolWithUnrecordedVolume()
        defer { pool.delete(domains: []); workspace.delete() }
        // The killed run: the volume exists, its creation is journaled as pending, nothing else.
        _ = try TestSQL.query(workspace.statePath, """
            INSERT INTO run (kind, started_at, actor, result) VALUES ('apply', '2026-11-29 12:00:00.000', 'killed', 'running');
            INSERT INTO journal (run_id, kind, name, host, action, detail, status, started_at)
              VALUES (last_insert_rowid(), 'Volume', 'data', 'local', 'create', 'pool \(pool.name), 8MiB qcow2', 'pending', '2026-11-29 12:00:01.000');
            """)
        try workspace.write("volume.yaml", TestPool.volume("data", pool: pool.name, "capacity: 8MiB, reclaim: delete"))

        let plan = try CLI.run("plan", workspace.path)
        #expect(plan.status == 0, "not refused as someone else's volume: \(plan.stderr)")
        #expect(plan.stdout.contains("An earlier apply stopped before finishing 1 change (data)"), "\(plan.stdout)")
        #expect(plan.stdout.contains("    volume data (local)"), "listed to be recorded: \(plan.stdout)")
        let apply = try StorageTests.apply(workspace)
        #expect(apply.status == 0, "\(apply.stdout)\(apply.stderr)")
        #expect(try TestSQL.query(workspace.statePath, "SELECT name FROM owned_storage WHERE kind = 'Volume'").contains("data"))
        #expect(try TestSQL.query(workspace.statePath, "SELECT count(*) FROM journal WHERE status = 'pending'").hasPrefix("0"))
        #expect(try CLI.run("plan", workspace.path, "--detailed-exitcode").status == 0, "recorded: nothing left to do")

        // Now vmplan's: removing it from the manifests deletes it (reclaim: delete).
        try workspace.remove("volume.yaml")
        let removal = try CLI.run("plan", workspace.path)
        #expect(removal.stdout.contains("- volume data (DATA LOSS: reclaim: delete;"), "\(removal.stdout)")
        #expect(try StorageTests.apply(workspace).status == 0)
        #expect(try !pool.volumeNames().contains("data"))
    }

    @Test func withoutAPendingEntryTheSameVolumeIsSomeoneElses() throws {
        let (pool, workspace) = try Self.poolWithUnrecordedVolume()
        defer { pool.delete(domains: []); workspace.delete() }
        try workspace.write("volume.yaml", TestPool.volume("data", pool: pool.name, "capacity: 8MiB"))
        let plan = try CLI.run("plan", workspace.path)
        #expect(plan.status == 1 && plan.stderr.contains("a volume named 'data' already exists in pool '\(pool.name)' on host 'local' and was not created by vmplan"),
                "\(plan.stderr)")
    }
}
