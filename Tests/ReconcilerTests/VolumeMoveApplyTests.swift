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
    final class StandIn: Hypervisor, @unchecked Sendable {
        let hostName: String
        var hostUUID: String? = nil
        let features = DriverFeatures(changeRules: .kvm, mediatedDevices: false, mdevctl: false)
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
        func define(_ spec: VirtualMachineSpec, owner: String) async throws {}
        func observe() async throws -> [ObservedDomain] { [] }
        func guestStatus(_ name: String) async throws -> GuestStatus? { nil }
        func update(_ spec: VirtualMachineSpec, owner: String, progress: ProgressHandler?) async throws {}
        func importDomain(_ spec: VirtualMachineSpec, uuid: String, owner: String) async throws {}
        func observeNetworks() async throws -> [ObservedNetwork] { [] }
        func createNetwork(_ spec: NetworkSpec, owner: String) async throws {}
        func updateNetwork(_ spec: NetworkSpec, owner: String, restart: Bool) async throws {}
        func deleteNetwork(_ name: String, owner: String) async throws {}
        func dhcpLeases(network: String) async throws -> [DHCPLease] { [] }
        func start(_ name: String) async throws {}
        func stop(_ name: String, policy: StopPolicy, progress: ProgressHandler?) async throws {}
        func delete(_ name: String, policy: StopPolicy, progress: ProgressHandler?) async throws {}
        func inventory() async throws -> HostInventory { HostInventory(pciDevices: [], mediatedDevices: []) }
        func createMediatedDevice(uuid: String, type: String, parent: PCIAddress) async throws {}
        func removeMediatedDevice(libvirtName: String) async throws {}
        func observeStorage(imagePaths: [String]) async throws -> ObservedStorage { ObservedStorage() }
        func growVolume(pool: String, name: String, to capacity: ByteCount) async throws -> String? { nil }
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
