import Foundation
import Synchronization
import Testing
import Drivers
@testable import Reconciler
import Spec
import State

/// Applying a move whose migration fails, on stand-in hosts with a real SQLite state: what stays
/// on the old host is kept, and the records stay where the data still is.
@Suite("Volume moves: a failed migration")
struct VolumeMoveApplyTests {
    /// A host that makes pools and volumes and cannot migrate anything.
    final class StandIn: QuietHypervisor, @unchecked Sendable {
        let hostName: String
        let calls = Mutex<[String]>([])

        init(_ name: String) { hostName = name }

        func migrate(_ name: String, to destination: any Hypervisor, volumes: [VolumeMove], progress: ProgressHandler?) async throws {
            throw DriverError(.operation, "cannot migrate domain \(name): the destination refused it")
        }
        func createPool(_ spec: StoragePoolSpec) async throws -> String { calls.withLock { $0.append("createPool \(spec.name)") }; return "u-2" }
        func createVolume(_ spec: VolumeSpec, content: VolumeContent) async throws -> String {
            calls.withLock { $0.append("createVolume \(spec.name)") }
            return "/srv/p/\(spec.name)"
        }
        func deletePool(_ name: String, expectedUUID: String) async throws { calls.withLock { $0.append("deletePool \(name)") } }
        func deleteVolume(pool: String, name: String, expectedKey: String, allowAttached: Bool) async throws {
            calls.withLock { $0.append("deleteVolume \(name)") }
        }
    }

    @Test func aFailedMigrationKeepsTheOldCopyAndTheRecordsOnTheOldHost() async throws {
        let plan = try VolumeMovePlanTests.snapshot(volumes: [StoragePlannerTests.volume("data", reclaim: .delete)],
                                                    disks: [VolumeMovePlanTests.disk("data")]).plan()
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("vmplan-move-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: directory) }
        let database = try StateDatabase(path: directory.appendingPathComponent("state.db").path)
        let old = StandIn("kvm-01"), new = StandIn("kvm-02")
        let applier = try Applier(drivers: ["kvm-01": old, "kvm-02": new], store: database, shutdownTimeout: .seconds(1))
        let run = try database.beginRun(.apply, actor: "test")
        let outcome = try await applier.apply(plan, runID: run) { _ in }

        #expect(new.calls.withLock { $0 } == ["createPool p", "createVolume data"])
        #expect(old.calls.withLock { $0 }.isEmpty, "nothing on kvm-01 is deleted when the VM did not move")
        #expect(outcome.failed.map { "\($0.change.address)@\($0.change.host)" } == ["web@kvm-02", "volume data@kvm-01", "pool p@kvm-01"])
        #expect(outcome.failed.dropFirst().allSatisfy { $0.error.hasPrefix("kept: ") })
        let records = Dictionary(try database.resources().map { ("\($0.kind)/\($0.name)", $0.host) }, uniquingKeysWith: { $1 })
        #expect(records == ["StoragePool/p": "kvm-01", "Volume/data": "kvm-01"])
        // The copy made on kvm-02 is vmplan's there: the next plan migrates into it.
        let owned = try database.ownedStorage().map { "\($0.kind) \($0.name)@\($0.host)" }
        #expect(Set(owned).isSuperset(of: ["Volume data@kvm-02", "StoragePool p@kvm-02"]))
    }
}
