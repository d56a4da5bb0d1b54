import Testing
import Drivers
@testable import Reconciler
import Spec
import State

/// StoragePlanner on in-memory snapshots: no libvirt, no database.
@Suite("Storage planner")
struct StoragePlannerTests {
    static let here = SourceLocation(file: "storage.yaml", line: 1, column: 1)
    static let capacityAt = SourceLocation(file: "storage.yaml", line: 9, column: 13)
    static let pool = StoragePoolSpec(name: "p", host: "kvm-01", path: "/srv/p")
    static let livePool = ObservedPool(name: "p", uuid: "u-1", type: "dir", path: "/srv/p", isActive: true,
                                       capacity: .gibibytes(100), allocation: .gibibytes(10), available: .gibibytes(90))

    static func volume(_ name: String, _ capacity: ByteCount = .gibibytes(1), source: VolumeSource? = nil, reclaim: Reclaim = .retain) -> VolumeSpec {
        VolumeSpec(name: name, pool: "p", capacity: capacity, source: source, reclaim: reclaim)
    }

    static func live(_ name: String, _ capacity: ByteCount = .gibibytes(1), format: String = "qcow2") -> ObservedVolume {
        ObservedVolume(pool: "p", name: name, key: "/srv/p/\(name)", path: "/srv/p/\(name)", format: format, capacity: capacity, allocation: .mebibytes(1))
    }

    static func owned(_ name: String) -> OwnedStorage {
        OwnedStorage(kind: "Volume", host: "kvm-01", pool: "p", name: name, libvirtKey: "/srv/p/\(name)")
    }

    static func plan(volumes: [VolumeSpec] = [], vms: [VirtualMachineSpec] = [], pools: [StoragePoolSpec] = [pool],
                     live: ObservedStorage = ObservedStorage(pools: [livePool]), recorded: [ResourceValue] = [],
                     owned: [OwnedStorage] = [], domains: [ObservedDomain] = []) throws(PlanError) -> [ResourceChange] {
        var snapshot = StorageSnapshot(pools: pools.map { Located($0, at: here) }, volumes: volumes.map { Located($0, at: here) },
                                       fieldLocations: Dictionary(uniqueKeysWithValues: volumes.map { ("Volume/\($0.name).capacity", capacityAt) }),
                                       owned: owned, live: ["kvm-01": live])
        for record in recorded {
            switch record {
            case .storagePool(let spec): snapshot.recorded[StorageSnapshot.key(.storagePool, spec.name)] = ("kvm-01", record)
            case .volume(let spec): snapshot.recorded[StorageSnapshot.key(.volume, spec.name)] = ("kvm-01", record)
            case .virtualMachine, .mediatedDevice, .network: Issue.record("not storage: \(record)")
            }
        }
        return try StoragePlanner.plan(snapshot, vms: vms.map { Located($0, at: here) }, recordedVMs: [], domains: ["kvm-01": domains])
    }

    static func problems(_ body: () throws(PlanError) -> [ResourceChange]) -> [String] {
        do { _ = try body(); return [] } catch { return error.problems.map(\.description) }
    }

    @Test func poolsThenBasesThenCopiesAndOverlays() throws {
        let changes = try Self.plan(
            volumes: [Self.volume("overlay", source: .backing("copy")), Self.volume("copy", source: .volume("base")), Self.volume("base")],
            live: ObservedStorage())
        #expect(changes.map(\.name) == ["p", "base", "copy", "overlay"])
        #expect(changes.allSatisfy { $0.action == .create })
        #expect(changes[2].effect == .createVolume(Self.volume("copy", source: .volume("base")), .copy(pool: "p", volume: "base")))
        #expect(changes[3].effect == .createVolume(Self.volume("overlay", source: .backing("copy")), .overlay(pool: "p", volume: "copy")))
    }

    @Test func shrinkingIsRefusedAtTheCapacityLine() {
        let problems = Self.problems { () throws(PlanError) in
            try Self.plan(volumes: [Self.volume("data", .gibibytes(1))], live: ObservedStorage(pools: [Self.livePool], volumes: [Self.live("data", .gibibytes(2))]),
                          owned: [Self.owned("data")])
        }
        #expect(problems == ["storage.yaml:9:13: error: Volume 'data': capacity 1GiB is smaller than the volume's current size 2GiB; shrinking a volume loses data and is refused. Set capacity to at least 2GiB"])
    }

    @Test func growingIsAnUpdateAndLiveWhenARunningVMHasTheDisk() throws {
        let vm = VirtualMachineSpec(name: "web-1", host: "kvm-01", vcpus: 1, memory: .mebibytes(64), disks: [DiskSpec(volume: "data", pool: "p")])
        let domain = ObservedDomain(name: "web-1", uuid: "u", id: 4, owner: OwnershipMarker(resource: "web-1", specHash: ""), spec: vm, domainType: "kvm")
        let changes = try Self.plan(volumes: [Self.volume("data", .gibibytes(3))],
                                    live: ObservedStorage(pools: [Self.livePool], volumes: [Self.live("data")]),
                                    owned: [Self.owned("data")], domains: [domain])
        let change = try #require(changes.first { $0.name == "data" })
        #expect(change.action == .update && change.effect == .growVolume(pool: "p", to: .gibibytes(3)))
        #expect(change.notes == ["grows in place, live: web-1 is running with it attached (virDomainBlockResize)"])
    }

    @Test func aVolumeVmplanDidNotCreateIsNeverTakenOver() {
        let problems = Self.problems { () throws(PlanError) in
            try Self.plan(volumes: [Self.volume("legacy")], live: ObservedStorage(pools: [Self.livePool], volumes: [Self.live("legacy")]))
        }
        #expect(problems.count == 1 && problems[0].contains("was not created by vmplan"))
    }

    @Test func missingImagesAndTooLittleSpaceFailThePlan() {
        var small = Self.livePool
        small.available = .gibibytes(5)
        let problems = Self.problems { () throws(PlanError) in
            try Self.plan(volumes: [Self.volume("a", .gibibytes(4), source: .image("/srv/none.img")), Self.volume("b", .gibibytes(4))],
                          live: ObservedStorage(pools: [small], images: ["/srv/none.img": false]))
        }
        #expect(problems.count == 2)
        #expect(problems[0].contains("base image /srv/none.img does not exist on host 'kvm-01'"))
        #expect(problems[1] == "storage.yaml:9:13: error: volumes planned in pool 'p' on host 'kvm-01' need 8GiB more, but the pool has only 5GiB free (libvirt's pool info); lower the capacities or free space in /srv/p")
    }

    @Test func removalsDeleteOnlyOwnedVolumesWithReclaimDelete() throws {
        let live = ObservedStorage(pools: [Self.livePool], volumes: ["scratch", "kept", "foreign"].map { Self.live($0) })
        let changes = try Self.plan(
            live: live,
            recorded: [.volume(Self.volume("scratch", reclaim: .delete)), .volume(Self.volume("kept")), .volume(Self.volume("foreign", reclaim: .delete))],
            owned: [Self.owned("scratch"), Self.owned("kept")])
        let byName = Dictionary(uniqueKeysWithValues: changes.map { ($0.name, $0) })
        #expect(byName["scratch"]?.effect == .deleteVolume(pool: "p", expectedKey: "/srv/p/scratch") && byName["scratch"]?.dataLoss == true)
        #expect(byName["kept"]?.action == .forget && byName["kept"]?.effect == .recordOnly && byName["kept"]?.dataLoss == false)
        #expect(byName["foreign"]?.action == .forget, "not in the ownership table: never deleted, whatever its reclaim says")
    }

    @Test func aPoolIsDeletedOnlyWhenOwnedAndEmpty() throws {
        let ownedPool = OwnedStorage(kind: "StoragePool", host: "kvm-01", pool: "p", name: "p", libvirtKey: "u-1")
        let empty = try Self.plan(pools: [], recorded: [.storagePool(Self.pool)], owned: [ownedPool])
        #expect(empty.map(\.effect) == [.deletePool(expectedUUID: "u-1")])
        let holding = try Self.plan(pools: [], live: ObservedStorage(pools: [Self.livePool], volumes: [Self.live("x")]),
                                    recorded: [.storagePool(Self.pool)], owned: [ownedPool])
        #expect(holding.map(\.action) == [.forget] && holding.map(\.effect) == [.recordOnly])
    }

    @Test func aChangedSeedIsRebuiltAndSaysTheVMMustRestart() throws {
        var vm = VirtualMachineSpec(name: "web-1", host: "kvm-01", vcpus: 1, memory: .mebibytes(64),
                                    disks: [DiskSpec(volume: "root", pool: "p")], cloudInit: CloudInitSpec(userData: "new"))
        let old = StoragePlanner.seedVolumes([Located({ vm.cloudInit = CloudInitSpec(userData: "old"); return vm }(), at: Self.here)])[0].value
        vm.cloudInit = CloudInitSpec(userData: "new")
        let domain = ObservedDomain(name: "web-1", uuid: "u", id: 4, owner: OwnershipMarker(resource: "web-1", specHash: ""), spec: vm, domainType: "kvm")
        let changes = try Self.plan(volumes: [Self.volume("root")], vms: [vm],
                                    live: ObservedStorage(pools: [Self.livePool], volumes: [Self.live("root"), Self.live("web-1-cidata.iso", .mebibytes(1), format: "iso")]),
                                    recorded: [.volume(old)], owned: [Self.owned("root"), Self.owned("web-1-cidata.iso")], domains: [domain])
        let seed = try #require(changes.first { $0.name == "web-1-cidata.iso" })
        #expect(seed.action == .update)
        guard case .rebuildVolume(_, .seed(let files), _) = seed.effect else { Issue.record("not a rebuild: \(seed.effect)"); return }
        #expect(files.first == SeedFile(name: "user-data", content: "new"))
        #expect(seed.notes.first?.contains("web-1 is running and reads the new seed only after it restarts") == true)
    }

    @Test func addingAVirtioDiskToARunningVMIsLiveAndASATADiskNeedsARestart() throws {
        let before = VirtualMachineSpec(name: "web-1", host: "kvm-01", vcpus: 1, memory: .mebibytes(64), disks: [DiskSpec(volume: "root", pool: "p")])
        let domain = ObservedDomain(name: "web-1", uuid: "u", id: 4, owner: OwnershipMarker(resource: "web-1", specHash: before.specHash),
                                    spec: before, runningSpec: before, domainType: "kvm")
        var virtio = before
        virtio.disks.append(DiskSpec(volume: "data", pool: "p", bus: .virtio))
        var sata = before
        sata.disks.append(DiskSpec(volume: "data", pool: "p", bus: .sata))
        for (spec, mode) in [(virtio, UpdateMode.live), (sata, .restart)] {
            let plan = try Planner.plan(desired: [Located(spec, at: Self.here)], recorded: [:], live: ["kvm-01": [domain]])
            #expect(plan.changes.first?.mode == mode)
        }
    }
}

@Suite("Storage planner with --target")
struct StorageTargetTests {
    @Test func aTargetedPlanKeepsOnlyTheTargetsStorage() throws {
        let vm = VirtualMachineSpec(name: "web-1", host: "kvm-01", vcpus: 1, memory: .mebibytes(64), disks: [DiskSpec(volume: "overlay", pool: "p")])
        let volumes = [StoragePlannerTests.volume("base"), StoragePlannerTests.volume("overlay", source: .backing("base")), StoragePlannerTests.volume("other")]
        let changes = try StoragePlannerTests.plan(volumes: volumes, vms: [vm], live: ObservedStorage(),
                                                   recorded: [.volume(StoragePlannerTests.volume("gone"))])
        let scoped = StoragePlanner.scoped(changes, to: ["web-1"], vms: [Located(vm, at: StoragePlannerTests.here)],
                                           volumes: volumes.map { Located($0, at: StoragePlannerTests.here) })
        #expect(scoped.map(\.name) == ["p", "base", "overlay"])
    }
}

/// Logical (LVM) pools: the planner's own refusals, whatever the loader let through.
@Suite("Storage planner, logical pools")
struct LogicalPoolPlannerTests {
    static let pool = StoragePoolSpec.logical(name: "p", host: "kvm-01", volumeGroup: "vg0", devices: ["/dev/loop7"], build: true)
    static let livePool = ObservedPool(name: "p", uuid: "u-1", type: "logical", path: "/dev/vg0", isActive: true,
                                       capacity: .mebibytes(252), allocation: .mebibytes(0), available: .mebibytes(252))

    static func volume(_ name: String, _ capacity: ByteCount = .mebibytes(16), format: VolumeFormat = .raw, source: VolumeSource? = nil) -> VolumeSpec {
        VolumeSpec(name: name, pool: "p", capacity: capacity, format: format, source: source)
    }

    static func live(_ name: String, _ capacity: ByteCount) -> ObservedVolume {
        ObservedVolume(pool: "p", name: name, key: "lv-uuid-\(name)", path: "/dev/vg0/\(name)", format: "raw", capacity: capacity, allocation: capacity)
    }

    @Test func buildingTheVolumeGroupIsShownAsDataLoss() throws {
        let changes = try StoragePlannerTests.plan(pools: [Self.pool], live: ObservedStorage())
        let change = try #require(changes.first)
        #expect(change.action == .create && change.effect == .createPool(Self.pool) && change.dataLoss)
        #expect(change.summary == "kvm-01, logical vg0 on /dev/loop7")
        #expect(change.notes.contains { $0.hasPrefix("build: true makes the volume group vg0 on /dev/loop7: whatever they hold is lost") })
        #expect(change.diffs.map(\.field) == ["volumeGroup", "devices"])

        var existing = Self.pool
        existing.build = false
        existing.devices = []
        let using = try #require(try StoragePlannerTests.plan(pools: [existing], live: ObservedStorage()).first)
        #expect(!using.dataLoss && using.notes.contains { $0.contains("uses the existing volume group vg0") })
    }

    @Test func qcow2OverlaysAndImagesAreRefusedInALogicalPool() {
        let problems = StoragePlannerTests.problems { () throws(PlanError) in
            try StoragePlannerTests.plan(volumes: [Self.volume("q", format: .qcow2), Self.volume("o", format: .qcow2, source: .backing("base")),
                                                   Self.volume("i", source: .image("/srv/a.img")), Self.volume("base")],
                                         pools: [Self.pool], live: ObservedStorage(pools: [Self.livePool], images: ["/srv/a.img": true]))
        }
        #expect(problems.count == 3, "\(problems)")
        #expect(problems.contains { $0.contains("Volume 'q' is in the logical (LVM) pool 'p', whose volumes are raw block devices; format: qcow2 needs a dir pool") })
        #expect(problems.contains { $0.contains("Volume 'o' is in the logical (LVM) pool 'p', and LVM has no qcow2 overlays") })
        #expect(problems.contains { $0.contains("Volume 'i': from.image cannot fill a volume in the logical (LVM) pool 'p' yet") })
    }

    @Test func aRawVolumeAndACopyArePlannedAndTheFreeSpaceIsChecked() throws {
        let changes = try StoragePlannerTests.plan(volumes: [Self.volume("a", .mebibytes(64)), Self.volume("b", .mebibytes(64), source: .volume("a"))],
                                                   pools: [Self.pool], live: ObservedStorage(pools: [Self.livePool]))
        #expect(changes.map(\.name) == ["p", "a", "b"])
        #expect(changes[2].effect == .createVolume(Self.volume("b", .mebibytes(64), source: .volume("a")), .copy(pool: "p", volume: "a")))
        let problems = StoragePlannerTests.problems { () throws(PlanError) in
            try StoragePlannerTests.plan(volumes: [Self.volume("a", .mebibytes(256))], pools: [Self.pool], live: ObservedStorage(pools: [Self.livePool]))
        }
        #expect(problems == ["storage.yaml:9:13: error: volumes planned in pool 'p' on host 'kvm-01' need 256MiB more, but the pool has only 252MiB free (libvirt's pool info); lower the capacities or free space in /dev/vg0"])
    }

    @Test func growingALogicalVolumeIsRefusedAndShrinkingToo() {
        let owned = OwnedStorage(kind: "Volume", host: "kvm-01", pool: "p", name: "data", libvirtKey: "lv-uuid-data")
        let live = ObservedStorage(pools: [Self.livePool], volumes: [Self.live("data", .mebibytes(16))])
        let grow = StoragePlannerTests.problems { () throws(PlanError) in
            try StoragePlannerTests.plan(volumes: [Self.volume("data", .mebibytes(32))], pools: [Self.pool], live: live, owned: [owned])
        }
        #expect(grow.count == 1 && grow[0].hasPrefix("storage.yaml:9:13: error: Volume 'data': growing a volume in the logical (LVM) pool 'p' from 16MiB to 32MiB is refused"), "\(grow)")
        #expect(grow.first?.contains("lvextend -L 32768k /dev/vg0/data") == true)
        let shrink = StoragePlannerTests.problems { () throws(PlanError) in
            try StoragePlannerTests.plan(volumes: [Self.volume("data", .mebibytes(8))], pools: [Self.pool], live: live, owned: [owned])
        }
        #expect(shrink == ["storage.yaml:9:13: error: Volume 'data': capacity 8MiB is smaller than the volume's current size 16MiB; shrinking a volume loses data and is refused. Set capacity to at least 16MiB"])
    }

    @Test func anEmptyLogicalPoolIsUndefinedButItsVolumeGroupStays() throws {
        let ownedPool = OwnedStorage(kind: "StoragePool", host: "kvm-01", pool: "p", name: "p", libvirtKey: "u-1")
        let changes = try StoragePlannerTests.plan(pools: [], live: ObservedStorage(pools: [Self.livePool]), recorded: [.storagePool(Self.pool)], owned: [ownedPool])
        #expect(changes.map(\.effect) == [.deletePool(expectedUUID: "u-1")])
        #expect(changes.first?.notes.first?.contains("The volume group vg0 and its devices stay on the host (vmplan never removes a volume group)") == true)
    }
}

