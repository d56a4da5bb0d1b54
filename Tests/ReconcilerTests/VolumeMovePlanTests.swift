import Testing
import Drivers
@testable import Reconciler
import Spec
import State

/// A VM moving hosts with its pool and volumes: what each side of the move plans, from views built
/// in memory. kvm-01 is where everything is recorded and lives; the manifests put it on kvm-02.
@Suite("Volume moves")
struct VolumeMovePlanTests {
    typealias P = PlannerTests
    typealias S = StoragePlannerTests

    static let movedPool = StoragePoolSpec(name: "p", host: "kvm-02", path: "/srv/p")

    static func disk(_ volume: String, shareable: Bool = false) -> DiskSpec {
        DiskSpec(volume: volume, pool: "p", shareable: shareable)
    }

    /// `vm` with `volumes` recorded and running on kvm-01; the manifests move the VM and pool p to kvm-02.
    static func snapshot(volumes: [VolumeSpec], disks: [DiskSpec], state: PowerState = .running,
                         cloudInit: CloudInitSpec? = nil, kvm02Volumes: [ObservedVolume] = [], owned02: [OwnedStorage] = []) -> Snapshot {
        var old = P.vm("web", host: "kvm-01", state: state)
        old.disks = disks
        old.cloudInit = cloudInit
        var moved = old
        moved.host = "kvm-02"
        var snapshot = Snapshot(desired: [Located(moved, at: P.here)], recorded: ["web": P.recorded(old)],
                                live: ["kvm-01": [P.domain(old)], "kvm-02": []], drivers: [:], rules: ["kvm-01": .kvm, "kvm-02": .kvm])
        var storage = StorageSnapshot(pools: [Located(movedPool, at: P.here)], volumes: volumes.map { Located($0, at: P.here) },
                                      owned: [OwnedStorage(kind: "StoragePool", host: "kvm-01", pool: "p", name: "p", libvirtKey: "u-1")]
                                          + volumes.map(\.name).map(S.owned) + owned02,
                                      live: ["kvm-01": ObservedStorage(pools: [S.livePool], volumes: volumes.map { S.live($0.name) }),
                                             "kvm-02": ObservedStorage(pools: kvm02Volumes.isEmpty ? [] : [S.livePool], volumes: kvm02Volumes)])
        storage.recorded[StorageSnapshot.key(.storagePool, "p")] = ("kvm-01", .storagePool(S.pool))
        for volume in volumes { storage.recorded[StorageSnapshot.key(.volume, volume.name)] = ("kvm-01", .volume(volume)) }
        for seed in StoragePlanner.seedVolumes([Located(old, at: P.here)]).map(\.value) {
            storage.recorded[StorageSnapshot.key(.volume, seed.name)] = ("kvm-01", .volume(seed))
            storage.owned.append(S.owned(seed.name))
            storage.live["kvm-01"]?.volumes.append(S.live(seed.name, format: "raw"))
        }
        snapshot.storage = storage
        return snapshot
    }

    static func change(_ plan: Plan, _ kind: ResourceKind, _ name: String, on host: String) throws -> ResourceChange {
        try #require(plan.changes.first { $0.kind == kind && $0.name == name && $0.host == host })
    }

    @Test func aRunningVMMigratesWithItsVolumeWhichIsMadeEmptyThereAndDeletedHereAfterwards() throws {
        let data = S.volume("data", reclaim: .delete)
        let plan = try Self.snapshot(volumes: [data], disks: [Self.disk("data")]).plan()
        let vm = try Self.change(plan, .virtualMachine, "web", on: "kvm-02")
        #expect(vm.action == .migrate)
        #expect(vm.effect == .vm([.migrate(from: "kvm-01", volumes: [VolumeMove(pool: "p", volume: "data")])]))
        #expect(vm.notes == ["host changed from kvm-01 to kvm-02: migrated live, keeping its UUID; its volumes (data) are copied while it runs (copy-storage-all)"])

        let pool = try Self.change(plan, .storagePool, "p", on: "kvm-02")
        #expect(pool.action == .create && pool.effect == .createPool(Self.movedPool))
        #expect(pool.recordHost == "kvm-01", "the record moves only with the change that clears kvm-01")

        let made = try Self.change(plan, .volume, "data", on: "kvm-02")
        #expect(made.action == .migrate && made.reason == .hostChanged && made.previousHost == "kvm-01")
        #expect(made.effect == .createVolume(data, .empty))
        #expect(made.recordHost == "kvm-01")
        #expect(made.notes == ["moves from kvm-01 to kvm-02 with web: created empty here, its data copied in by web's migration"])

        let left = try Self.change(plan, .volume, "data", on: "kvm-01")
        #expect(left.action == .delete && !left.dataLoss)
        #expect(left.effect == .leaveBehind(pool: "p", expectedKey: "/srv/p/data", delete: true))
        #expect(left.recordHost == "kvm-02" && left.after == .volume(data))
        #expect(vm.requires == [made.address], "the VM moves only into the copy made for it")
        // Never before the VM has moved and the new copy exists.
        #expect(Set(left.requires) == [vm.address, made.address])
        let leftPool = try Self.change(plan, .storagePool, "p", on: "kvm-01")
        #expect(leftPool.action == .delete && leftPool.effect == .leaveBehind(pool: "p", expectedKey: "u-1", delete: true))
        #expect(leftPool.recordHost == "kvm-02")
        #expect(Set(leftPool.requires) == [pool.address, left.address])

        // Apply order: the new host's pool and volume, the VM, then what stays behind.
        #expect(plan.changes.filter(\.isApplied).map { "\($0.address)@\($0.host)" }
            == ["pool p@kvm-02", "volume data@kvm-02", "web@kvm-02", "volume data@kvm-01", "pool p@kvm-01"])
        #expect(Applier.lanes(plan.changes.filter(\.isApplied)).count == 1)
        #expect(plan.summary == "Plan: 1 to add, 2 to change, 2 to destroy.")
    }

    @Test func aRetainedVolumeStaysOnTheOldHostAndSoDoesItsPool() throws {
        let data = S.volume("data")
        let plan = try Self.snapshot(volumes: [data], disks: [Self.disk("data")], state: .stopped).plan()
        let vm = try Self.change(plan, .virtualMachine, "web", on: "kvm-02")
        #expect(vm.notes.first?.hasSuffix("its volumes (data) are copied first (streamed from kvm-01 to kvm-02)") == true)
        let left = try Self.change(plan, .volume, "data", on: "kvm-01")
        #expect(left.action == .forget && !left.dataLoss)
        #expect(left.effect == .leaveBehind(pool: "p", expectedKey: "/srv/p/data", delete: false))
        #expect(left.notes == ["its copy on kvm-01 stays there once web has moved (reclaim: retain): vmplan forgets it; "
            + "remove it by hand when the copy on kvm-02 is checked"])
        let leftPool = try Self.change(plan, .storagePool, "p", on: "kvm-01")
        #expect(leftPool.action == .forget && leftPool.effect == .leaveBehind(pool: "p", expectedKey: "u-1", delete: false))
    }

    @Test func aCloudInitSeedIsBuiltAgainOnTheNewHostAndDeletedOnTheOldOne() throws {
        let plan = try Self.snapshot(volumes: [S.volume("data")], disks: [Self.disk("data")], cloudInit: CloudInitSpec(userData: "#cloud-config\n")).plan()
        let vm = try Self.change(plan, .virtualMachine, "web", on: "kvm-02")
        // The seed is read-only: the migration does not copy it, the new host builds it.
        #expect(vm.effect == .vm([.migrate(from: "kvm-01", volumes: [VolumeMove(pool: "p", volume: "data")])]))
        let seed = try Self.change(plan, .volume, "web-cidata.iso", on: "kvm-02")
        #expect(seed.action == .migrate)
        guard case .createVolume(_, .seed(let files)) = seed.effect else { Issue.record("\(seed.effect)"); return }
        #expect(files.map(\.name) == ["user-data", "meta-data"])
        let left = try Self.change(plan, .volume, "web-cidata.iso", on: "kvm-01")
        #expect(left.action == .delete && !left.dataLoss && left.requires.contains(vm.address))
        #expect(left.notes == ["the cloud-init seed on kvm-01 is deleted: it is built again on kvm-02"])
    }

    @Test func anOverlayCannotMoveSoItsVMIsReplacedAndTheDeletedCopyIsDataLoss() throws {
        let base = S.volume("base", reclaim: .delete)
        let overlay = S.volume("root", source: .backing("base"), reclaim: .delete)
        let plan = try Self.snapshot(volumes: [base, overlay], disks: [Self.disk("root")]).plan()
        let vm = try Self.change(plan, .virtualMachine, "web", on: "kvm-02")
        #expect(vm.action == .replace)
        #expect(vm.notes == ["host changed from kvm-01 to kvm-02; not migrated: its volume root is a qcow2 overlay of volume base "
            + "(from: {backing}), and overlays are not copied between hosts"])
        let made = try Self.change(plan, .volume, "root", on: "kvm-02")
        #expect(made.action == .create && made.effect == .createVolume(overlay, .overlay(pool: "p", volume: "base")))
        #expect(made.notes.first?.contains("no VM migration carries its data") == true)
        let left = try Self.change(plan, .volume, "root", on: "kvm-01")
        #expect(left.action == .delete && left.dataLoss)
        #expect(left.notes == ["its copy on kvm-01 is DELETED with its data (reclaim: delete): nothing copies it to kvm-02"])
    }

    @Test func aVolumeWithABackingFileOfItsOwnIsNotMoved() throws {
        var snapshot = Self.snapshot(volumes: [S.volume("data")], disks: [Self.disk("data")])
        snapshot.storage.live["kvm-01"]?.volumes[0].backingPath = "/srv/images/base.qcow2"
        let vm = try Self.change(snapshot.plan(), .virtualMachine, "web", on: "kvm-02")
        #expect(vm.action == .replace)
        #expect(vm.notes.first?.hasSuffix("its volume data has a backing file (/srv/images/base.qcow2) on its host, "
            + "and backing files are not copied between hosts") == true, "\(vm.notes)")
    }

    @Test func readOnlyAndShareableDisksAreReplacedWithTheReason() throws {
        var readonly = Self.disk("data")
        readonly.readonly = true
        let data = S.volume("data")
        let first = try Self.change(Self.snapshot(volumes: [data], disks: [readonly]).plan(), .virtualMachine, "web", on: "kvm-02")
        #expect(first.action == .replace)
        #expect(first.notes.first?.hasSuffix("its volume data is attached read-only, and a live migration copies only writable disks") == true)
        let second = try Self.change(Self.snapshot(volumes: [data], disks: [Self.disk("data", shareable: true)]).plan(), .virtualMachine, "web", on: "kvm-02")
        #expect(second.notes.first?.hasSuffix("its volume data is shareable: other VMs may use it where it is") == true)
    }

    @Test func aCopyAnEarlierApplyMadeIsUsedAndTheRecordStaysUntilTheMoveIsDone() throws {
        let data = S.volume("data", reclaim: .delete)
        let made = OwnedStorage(kind: "Volume", host: "kvm-02", pool: "p", name: "data", libvirtKey: "/srv/p/data")
        let plan = try Self.snapshot(volumes: [data], disks: [Self.disk("data")], kvm02Volumes: [S.live("data")], owned02: [made]).plan()
        let there = try Self.change(plan, .volume, "data", on: "kvm-02")
        #expect(!there.isChange && there.recordHost == "kvm-01")
        #expect(try Self.change(plan, .virtualMachine, "web", on: "kvm-02").action == .migrate)
        #expect(try Self.change(plan, .volume, "data", on: "kvm-01").action == .delete)
    }

    @Test func aVolumeOfThatNameVmplanDidNotMakeOnTheNewHostFailsThePlan() throws {
        let plan = Self.snapshot(volumes: [S.volume("data")], disks: [Self.disk("data")], kvm02Volumes: [S.live("data")])
        let error = #expect(throws: PlanError.self) { try plan.plan() }
        #expect(error?.description.contains("Volume 'data' moves from host 'kvm-01' to 'kvm-02', but pool 'p' on 'kvm-02' already has a volume "
            + "of that name that vmplan did not create") == true, "\(String(describing: error))")
    }

    @Test func aCopyAnInterruptedApplyMadeIsAdoptedNotRefused() throws {
        var snapshot = Self.snapshot(volumes: [S.volume("data")], disks: [Self.disk("data")], kvm02Volumes: [S.live("data")])
        let journaled = JournalEntry(runID: 1, kind: "Volume", name: "data", host: "kvm-02", action: "migrate", detail: "")
        snapshot.interruptedCreates = Reconciliation.creates(in: [journaled])
        let plan = try snapshot.plan()
        let there = try Self.change(plan, .volume, "data", on: "kvm-02")
        #expect(there.action == .adopt && there.reason == .interruptedCreate && there.recordHost == "kvm-01")
        #expect(there.effect == .adoptStorage(pool: "p", key: "/srv/p/data"))
    }

    @Test func aMoveFromAHostNoLongerNamedFailsThePlan() throws {
        var snapshot = Self.snapshot(volumes: [S.volume("data")], disks: [Self.disk("data")])
        snapshot.storage.live["kvm-01"] = nil
        let error = #expect(throws: PlanError.self) { try snapshot.plan() }
        #expect(error?.description.contains("Volume 'data' moves from host 'kvm-01' to 'kvm-02', but no Host document names 'kvm-01' any more") == true)
        #expect(error?.description.contains("StoragePool 'p' moves from host 'kvm-01'") == true)
    }

    @Test func aVolumeInSharedStorageIsRecordedOnTheNewHostNotCopiedAndNeverDeleted() throws {
        var snapshot = Self.snapshot(volumes: [S.volume("data", reclaim: .delete)], disks: [Self.disk("data")])
        snapshot.storage.pools[0].value.shared = true
        let plan = try snapshot.plan()
        let vm = try Self.change(plan, .virtualMachine, "web", on: "kvm-02")
        #expect(vm.effect == .vm([.migrate(from: "kvm-01", volumes: [])]), "nothing is copied")
        #expect(vm.notes.first?.hasSuffix("its volumes in shared storage (data) are not copied") == true)
        let there = try Self.change(plan, .volume, "data", on: "kvm-02")
        #expect(there.action == .migrate && there.effect == .adoptSharedVolume(pool: "p") && there.recordHost == "kvm-01")
        #expect(vm.requires == [there.address])
        let left = try Self.change(plan, .volume, "data", on: "kvm-01")
        #expect(left.action == .forget && !left.dataLoss, "reclaim: delete would delete the file the new host uses")
        #expect(left.effect == .leaveBehind(pool: "p", expectedKey: "/srv/p/data", delete: false))
        let leftPool = try Self.change(plan, .storagePool, "p", on: "kvm-01")
        #expect(leftPool.effect == .leaveBehind(pool: "p", expectedKey: "u-1", delete: false), "its directory is the new host's")

        // The new host already lists it (its pool was there): recorded with the key it has there.
        var listed = Self.snapshot(volumes: [S.volume("data")], disks: [Self.disk("data")], kvm02Volumes: [S.live("data")])
        listed.storage.pools[0].value.shared = true
        #expect(try Self.change(listed.plan(), .volume, "data", on: "kvm-02").effect == .adoptStorage(pool: "p", key: "/srv/p/data"))
    }

    @Test func aVolumeMovingFromAnUnreachableHostIsUnknownNotMadeAnew() throws {
        var snapshot = Self.snapshot(volumes: [S.volume("data")], disks: [Self.disk("data")])
        snapshot.unreachable = [HostFailure(host: "kvm-01", uri: "qemu+tcp://127.0.10.1/system", reason: "Connection refused")]
        snapshot.live["kvm-01"] = nil
        snapshot.storage.live["kvm-01"] = nil
        let plan = try snapshot.plan()
        #expect(!plan.changes.contains { $0.kind == .volume || $0.kind == .storagePool })
        #expect(Set(plan.unknown.map { "\($0.address)@\($0.unreachableHost)" }) == ["web@kvm-01", "pool p@kvm-01", "volume data@kvm-01"])
    }
}
