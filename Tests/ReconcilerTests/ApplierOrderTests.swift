import Foundation
import Testing
import Drivers
import Reconciler
import Spec
import State

/// The applier's ordering and journaling, with a recording stand-in for the hypervisor (the real
/// driver is tested against libvirt elsewhere) and a real SQLite state file.
@Suite("Applier: order and journal")
struct ApplierOrderTests {
    typealias P = PlannerTests

    final class RecordingHost: Hypervisor, @unchecked Sendable {
        let hostName = "kvm-01"
        var hostUUID: String? = nil
        let features = DriverFeatures(changeRules: .kvm, mediatedDevices: true, mdevctl: true)
        var failing: Set<String> = []
        /// How long a define, update or delete takes, so that calls running at once overlap.
        var pause: Duration = .zero
        private let lock = NSLock()
        private var log: [String] = []
        private var active = 0
        private var peak = 0
        var calls: [String] { lock.withLock { log } }
        /// The most VM calls that were running at one time.
        var mostAtOnce: Int { lock.withLock { peak } }

        func record(_ call: String, _ name: String) throws {
            lock.withLock { log.append("\(call) \(name)") }
            if failing.contains(name) { throw DriverError(.operation, "\(call) \(name) refused") }
        }

        private func overlapping(_ call: String, _ name: String) async throws {
            lock.withLock {
                active += 1
                peak = max(peak, active)
            }
            defer { lock.withLock { active -= 1 } }
            if pause > .zero { try await Task.sleep(for: pause) }
            try record(call, name)
        }

        func observe() async throws -> [ObservedDomain] { [] }
        func guestStatus(_ name: String) async throws -> GuestStatus? { nil }
        func define(_ spec: VirtualMachineSpec, owner: String) async throws { try await overlapping("define", spec.name) }
        func update(_ spec: VirtualMachineSpec, owner: String, progress: ProgressHandler?) async throws {
            try await overlapping("update", spec.name)
        }
        func importDomain(_ spec: VirtualMachineSpec, uuid: String, owner: String) async throws { try record("import", spec.name) }
        func start(_ name: String) async throws { try record("start", name) }
        func stop(_ name: String, policy: StopPolicy, progress: ProgressHandler?) async throws { try record("stop", name) }
        func delete(_ name: String, policy: StopPolicy, progress: ProgressHandler?) async throws { try await overlapping("delete", name) }
        func inventory() async throws -> HostInventory { HostInventory(pciDevices: [], mediatedDevices: []) }
        func createMediatedDevice(uuid: String, type: String, parent: PCIAddress) async throws { try record("mdev+", uuid) }
        func removeMediatedDevice(libvirtName: String) async throws { try record("mdev-", libvirtName) }
        func observeStorage(imagePaths: [String]) async throws -> ObservedStorage { ObservedStorage() }
        func createPool(_ spec: StoragePoolSpec) async throws -> String { try record("pool+", spec.name); return "uuid-\(spec.name)" }
        func deletePool(_ name: String, expectedUUID: String) async throws { try record("pool-", name) }
        func createVolume(_ spec: VolumeSpec, content: VolumeContent) async throws -> String {
            try record("volume+", spec.name)
            return "/srv/\(spec.pool)/\(spec.name)"
        }
        func growVolume(pool: String, name: String, to capacity: ByteCount) async throws -> String? { try record("grow", name); return nil }
        func deleteVolume(pool: String, name: String, expectedKey: String, allowAttached: Bool) async throws { try record("volume-", name) }
    }

    func database() throws -> (StateDatabase, URL) {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("vmplan-applier-\(UUID().uuidString)")
        return (try StateDatabase(path: directory.appendingPathComponent("state.db").path), directory)
    }

    /// Delete a-old (which had vGPU u-old), create b-new (which needs vGPU u-new), handed to `Plan`
    /// in the wrong order: the plan puts them in apply order and links the mdevs to their VMs.
    static func swapPlan(old: VirtualMachineSpec) throws -> Plan {
        let parent = try #require(PCIAddress(parsing: "0000:3b:00.0"))
        let new = P.vm("b-new")
        let oldDevice = RecordedDevice(uuid: "u-old", host: "kvm-01", type: "nvidia-222", parent: parent)
        let newDevice = RecordedDevice(uuid: "u-new", host: "kvm-01", type: "nvidia-222", parent: parent)
        return Plan(changes: [
            ResourceChange(ResourceAddress(.mediatedDevice, "u-old", host: "kvm-01"), action: .delete, reason: .unused,
                           effect: .removeMediatedDevice(libvirtName: "mdev_u_old"), before: .mediatedDevice(oldDevice), usedBy: "a-old"),
            ResourceChange(ResourceAddress(.virtualMachine, "b-new", host: "kvm-01"), action: .create, reason: .new,
                           effect: .vm([.define(new), .start]), after: .virtualMachine(new)),
            ResourceChange(ResourceAddress(.virtualMachine, "a-old", host: "kvm-01"), action: .delete, reason: .removedFromManifests,
                           effect: .vm([.delete(host: "kvm-01")]), before: .virtualMachine(old), previousHost: "kvm-01"),
            ResourceChange(ResourceAddress(.mediatedDevice, "u-new", host: "kvm-01"), action: .create, reason: .neededByVM,
                           effect: .createMediatedDevice(type: "nvidia-222", parent: parent), after: .mediatedDevice(newDevice), usedBy: "b-new"),
        ])
    }

    @Test func deletionsFirstMdevsAroundTheVMsAndEveryChangeJournaled() async throws {
        let (database, directory) = try database()
        defer { try? FileManager.default.removeItem(at: directory) }
        let old = P.vm("a-old")
        let plan = try Self.swapPlan(old: old)
        let host = RecordingHost()
        let applier = try Applier(drivers: ["kvm-01": host], store: database, shutdownTimeout: .seconds(1))
        let run = try database.beginRun(.apply, actor: "test")
        let outcome = try await applier.apply(plan, runID: run) { _ in }
        #expect(outcome.succeeded)
        #expect(host.calls == ["mdev+ u-new", "delete a-old", "define b-new", "start b-new", "mdev- mdev_u_old"])
        let journal = try database.journal(runID: run)
        #expect(journal.map(\.name) == ["u-new", "a-old", "b-new", "u-old"])
        #expect(journal.allSatisfy { $0.status == .done })
        #expect(Set(try database.resources().map(\.name)) == ["b-new", "u-new"])
    }

    @Test func aFailedVMKeepsItsMdevAndAMissingVGPUStopsItsVM() async throws {
        let (database, directory) = try database()
        defer { try? FileManager.default.removeItem(at: directory) }
        let old = P.vm("a-old")
        let plan = try Self.swapPlan(old: old)
        let host = RecordingHost()
        host.failing = ["a-old", "u-new"]
        let applier = try Applier(drivers: ["kvm-01": host], store: database, shutdownTimeout: .seconds(1))
        let run = try database.beginRun(.apply, actor: "test")
        let outcome = try await applier.apply(plan, runID: run) { _ in }
        #expect(!outcome.succeeded)
        // b-new is not created without its vGPU; a-old's mdev stays because a-old was not deleted.
        #expect(host.calls == ["mdev+ u-new", "delete a-old"])
        #expect(outcome.failed.map(\.change.name) == ["u-new", "a-old", "b-new", "u-old"])
        #expect(outcome.failed.first { $0.change.name == "b-new" }?.error == "not applied: it needs mdev u-new, which could not be changed")
        #expect(outcome.failed.first { $0.change.name == "u-old" }?.error == "kept: a-old did not change as planned and may still use it")
        #expect(try database.journal(runID: run).filter { $0.status == .failed }.map(\.name) == ["u-new", "a-old", "b-new", "u-old"],
                "what was skipped is journaled as failed too")
    }

    /// Pool, volume and VM built in that order, with the ownership of what was created recorded in
    /// the same transaction; then removed in reverse, and the ownership rows go with them.
    @Test func storageIsBuiltBeforeTheVMAndRemovedAfterIt() async throws {
        let (database, directory) = try database()
        defer { try? FileManager.default.removeItem(at: directory) }
        let pool = StoragePoolSpec(name: "p", host: "kvm-01", path: "/srv/p")
        let volume = VolumeSpec(name: "disk", pool: "p", capacity: .mebibytes(64))
        var vm = P.vm("web")
        vm.disks = [DiskSpec(volume: "disk", pool: "p")]
        let host = RecordingHost()
        let applier = try Applier(drivers: ["kvm-01": host], store: database, shutdownTimeout: .seconds(1))
        let build = Plan(changes: [
            ResourceChange(ResourceAddress(.virtualMachine, "web", host: "kvm-01"), action: .create, reason: .new,
                           effect: .vm([.define(vm), .start]), after: .virtualMachine(vm)),
            ResourceChange(ResourceAddress(.volume, "disk", host: "kvm-01"), action: .create, reason: .new,
                           effect: .createVolume(volume, .empty), after: .volume(volume)),
            ResourceChange(ResourceAddress(.storagePool, "p", host: "kvm-01"), action: .create, reason: .new,
                           effect: .createPool(pool), after: .storagePool(pool)),
        ])
        let built = try await applier.apply(build, runID: try database.beginRun(.apply, actor: "test")) { _ in }
        #expect(built.succeeded && built.summary == "Resources: 3 added, 0 changed, 0 destroyed.")
        #expect(host.calls == ["pool+ p", "volume+ disk", "define web", "start web"])
        #expect(try database.ownedStorage().map(\.libvirtKey) == ["uuid-p", "/srv/p/disk"])
        #expect(Set(try database.resources().map(\.kind)) == ["StoragePool", "Volume", "VirtualMachine"])

        let remove = Plan(changes: [
            ResourceChange(ResourceAddress(.storagePool, "p", host: "kvm-01"), action: .delete, reason: .removedFromManifests,
                           effect: .deletePool(expectedUUID: "uuid-p"), before: .storagePool(pool)),
            ResourceChange(ResourceAddress(.volume, "disk", host: "kvm-01"), action: .delete, reason: .removedFromManifests,
                           effect: .deleteVolume(pool: "p", expectedKey: "/srv/p/disk"), before: .volume(volume), dataLoss: true),
            ResourceChange(ResourceAddress(.virtualMachine, "web", host: "kvm-01"), action: .delete, reason: .removedFromManifests,
                           effect: .vm([.delete(host: "kvm-01")]), before: .virtualMachine(vm), previousHost: "kvm-01"),
        ])
        let removed = try await applier.apply(remove, runID: try database.beginRun(.apply, actor: "test")) { _ in }
        #expect(removed.succeeded && removed.summary == "Resources: 0 added, 0 changed, 3 destroyed.")
        #expect(host.calls.suffix(3) == ["delete web", "volume- disk", "pool- p"])
        #expect(try database.ownedStorage().isEmpty)
        #expect(try database.resources().isEmpty)
    }

    /// A real SQLite state whose `journalDone` fails from the `failAt`-th call on, as a full disk would.
    final class FailingStore: StateStore, @unchecked Sendable {
        let base: StateDatabase
        let failAt: Int
        private var done = 0

        init(_ base: StateDatabase, failAt: Int) {
            self.base = base
            self.failAt = failAt
        }

        func resources(kind: String?) throws -> [ResourceRecord] { try base.resources(kind: kind) }
        func beginRun(_ kind: RunKind, actor: String, commit: RunCommit?) throws -> Int64 { try base.beginRun(kind, actor: actor, commit: commit) }
        func finishRun(_ id: Int64, result: RunResult, summary: String) throws { try base.finishRun(id, result: result, summary: summary) }
        func runs(limit: Int) throws -> [RunRecord] { try base.runs(limit: limit) }
        func journalBegin(_ entry: JournalEntry) throws -> Int64 { try base.journalBegin(entry) }
        func journalDone(_ id: Int64, update: RecordUpdate, ownership: OwnershipUpdate, condition: WriteCondition) throws -> WriteCondition {
            done += 1
            if done >= failAt { throw CocoaError(.fileWriteOutOfSpace) }
            return try base.journalDone(id, update: update, ownership: ownership, condition: condition)
        }
        func journalFailed(_ id: Int64, error: String) throws { try base.journalFailed(id, error: error) }
        func pendingJournal() throws -> [JournalEntry] { try base.pendingJournal() }
        func journal(runID: Int64) throws -> [JournalEntry] { try base.journal(runID: runID) }
        func resolvePending(_ ids: [Int64], note: String) throws { try base.resolvePending(ids, note: note) }
        func serial() throws -> Int64 { try base.serial() }
        func acquireLock(_ request: LockRequest) throws -> StateLock { try base.acquireLock(request) }
        func lockHolder() throws -> LockHolder? { try base.lockHolder() }
        func unlock(id: String, by actor: String) throws -> LockHolder { try base.unlock(id: id, by: actor) }
        func lockEvents(limit: Int) throws -> [LockEvent] { try base.lockEvents(limit: limit) }
        func ownedStorage() throws -> [OwnedStorage] { try base.ownedStorage() }
        func recordDriftCheck(_ observations: [DriftObservation], checkedHosts: Set<String>, at date: Date) throws -> [DriftRecord] {
            try base.recordDriftCheck(observations, checkedHosts: checkedHosts, at: date)
        }
        func driftHistory(name: String?) throws -> [DriftRecord] { try base.driftHistory(name: name) }
        func resolveDrift(kind: String, name: String, host: String, resolution: String, at: Date) throws {
            try base.resolveDrift(kind: kind, name: name, host: host, resolution: resolution, at: at)
        }
        func stateID() throws -> String { try base.stateID() }
        func snapshot() throws -> StateSnapshot { try base.snapshot() }
        func restore(_ snapshot: StateSnapshot) throws { try base.restore(snapshot) }
    }

    @Test func theApplyStopsAtTheFirstStateWriteThatFailsAfterAHostChange() async throws {
        let (database, directory) = try database()
        defer { try? FileManager.default.removeItem(at: directory) }
        let host = RecordingHost()
        let store = FailingStore(database, failAt: 1)
        var applier = try Applier(drivers: ["kvm-01": host], store: store, shutdownTimeout: .seconds(1))
        // One at a time: with several creations at once, those already started finish (each journaled first).
        applier.perHostConcurrency = 1
        let plan = Plan(changes: ["a", "b", "c"].map { name in
            ResourceChange(ResourceAddress(.virtualMachine, name, host: "kvm-01"), action: .create, reason: .new,
                           effect: .vm([.define(P.vm(name))]), after: .virtualMachine(P.vm(name)))
        })
        let run = try database.beginRun(.apply, actor: "test")
        await #expect {
            _ = try await applier.apply(plan, runID: run) { _ in }
        } throws: { error in
            guard let error = error as? VMPlanError else { return false }
            return error.code == .state && error.message.contains("a on kvm-01 was changed, but the state could not record it")
        }
        #expect(host.calls == ["define a"], "nothing more reaches a host once the state cannot follow")
        // The intent stays pending: the next run finds the change from it.
        #expect(try database.pendingJournal().map(\.name) == ["a"])
    }

    /// With creations running alongside each other, a failed state write lets those already
    /// running finish (each was journaled before it reached the host) and starts no other.
    @Test func noChangeStartsAfterAStateWriteFailsWhileOthersRunAlongside() async throws {
        let (database, directory) = try database()
        defer { try? FileManager.default.removeItem(at: directory) }
        let host = RecordingHost()
        host.pause = .milliseconds(50)
        var applier = try Applier(drivers: ["kvm-01": host], store: FailingStore(database, failAt: 1), shutdownTimeout: .seconds(1))
        applier.perHostConcurrency = 2
        let run = try database.beginRun(.apply, actor: "test")
        await #expect {
            _ = try await applier.apply(Plan(changes: try Self.creations((1...6).map { "vm-\($0)" })), runID: run) { _ in }
        } throws: { error in
            (error as? VMPlanError)?.code == .state
        }
        // The stand-in's calls end early when cancelled (libvirt's do not): one or both of the two running reached it.
        let defined = host.calls.map { $0.replacingOccurrences(of: "define ", with: "") }
        #expect(!defined.isEmpty && Set(defined).isSubset(of: ["vm-1", "vm-2"]), "nothing after the first two started: \(defined)")
        #expect(Set(try database.pendingJournal().map(\.name)) == Set(defined), "each that reached the host left its pending entry")
        #expect(try database.journal(runID: run).allSatisfy { ["vm-1", "vm-2"].contains($0.name) }, "no other change was even journaled")
    }

    static func creations(_ names: [String], gpu: Bool = false) throws -> [ResourceChange] {
        let pci = try #require(PCIAddress(parsing: "0000:3b:00.0"))
        return names.map { name in
            var spec = P.vm(name, state: .stopped)
            if gpu { spec.gpus = [GPURequest(pci: pci)] }
            return ResourceChange(ResourceAddress(.virtualMachine, name, host: "kvm-01"), action: .create, reason: .new,
                                  effect: .vm([.define(spec)]), after: .virtualMachine(spec))
        }
    }

    @Test func independentCreationsAndDeletionsRunSeveralAtATimeEachJournaled() async throws {
        let (database, directory) = try database()
        defer { try? FileManager.default.removeItem(at: directory) }
        let host = RecordingHost()
        host.pause = .milliseconds(50)
        let applier = try Applier(drivers: ["kvm-01": host], store: database, shutdownTimeout: .seconds(1))
        let names = (1...9).map { "vm-\($0)" }
        let deletions = ["old-1", "old-2", "old-3"].map { name in
            ResourceChange(ResourceAddress(.virtualMachine, name, host: "kvm-01"), action: .delete, reason: .removedFromManifests,
                           effect: .vm([.delete(host: "kvm-01")]), before: .virtualMachine(P.vm(name)), previousHost: "kvm-01")
        }
        let run = try database.beginRun(.apply, actor: "test")
        let outcome = try await applier.apply(Plan(changes: try Self.creations(names) + deletions), runID: run) { _ in }
        #expect(outcome.succeeded && outcome.applied.count == 12)
        #expect(host.mostAtOnce == applier.perHostConcurrency, "creations overlap, at most perHostConcurrency at a time")
        // Every deletion before any creation (apply order), whatever ran alongside what.
        let calls = host.calls
        #expect(calls.prefix(3).allSatisfy { $0.hasPrefix("delete ") } && calls.count == 12)
        #expect(Set(try database.journal(runID: run).filter { $0.status == .done }.map(\.name)) == Set(names + ["old-1", "old-2", "old-3"]))
        #expect(try database.resources(kind: "VirtualMachine").map(\.name).sorted() == names.sorted())
    }

    @Test func updatesAndVMsWithPassthroughDevicesRunOneAtATime() async throws {
        let (database, directory) = try database()
        defer { try? FileManager.default.removeItem(at: directory) }
        let host = RecordingHost()
        host.pause = .milliseconds(30)
        let applier = try Applier(drivers: ["kvm-01": host], store: database, shutdownTimeout: .seconds(1))
        let updates = ["u-1", "u-2", "u-3"].map { name in
            ResourceChange(ResourceAddress(.virtualMachine, name, host: "kvm-01"), action: .update, reason: .fieldsDiffer,
                           effect: .vm([.redefine(P.vm(name, vcpus: 2))]), before: .virtualMachine(P.vm(name)),
                           after: .virtualMachine(P.vm(name, vcpus: 2)))
        }
        let run = try database.beginRun(.apply, actor: "test")
        let plan = Plan(changes: try Self.creations(["g-1", "g-2", "g-3"], gpu: true) + updates)
        let outcome = try await applier.apply(plan, runID: run) { _ in }
        #expect(outcome.succeeded && outcome.applied.count == 6)
        #expect(host.mostAtOnce == 1)
        #expect(host.calls == ["define g-1", "define g-2", "define g-3", "update u-1", "update u-2", "update u-3"])
    }
}
