import Foundation
import Synchronization
import Testing
import Drivers
@testable import Reconciler
import Spec
import State

/// Partial plans (a host that could not be observed) and applies spread over hosts, from views
/// built in memory and stand-in hypervisors, with a real SQLite state for the journal.
@Suite("Fleet: partial plans and parallel applies")
struct FleetPlanTests {
    typealias P = PlannerTests

    /// kvm-01 answers, kvm-02 does not.
    static func partialSnapshot() -> Snapshot {
        let moving = P.vm("move-d", host: "kvm-01")
        var snapshot = Snapshot(
            desired: [P.vm("web-a"), P.vm("web-b", host: "kvm-02"), moving].map { Located($0, at: P.here) },
            recorded: ["web-b": P.recorded(P.vm("web-b", host: "kvm-02")), "old-c": P.recorded(P.vm("old-c", host: "kvm-02")),
                       "move-d": P.recorded(P.vm("move-d", host: "kvm-02"))],
            live: ["kvm-01": []], drivers: [:], rules: ["kvm-01": .kvm])
        snapshot.unreachable = [HostFailure(host: "kvm-02", uri: "qemu+tcp://127.0.10.2/system", reason: "Connection refused")]
        return snapshot
    }

    @Test func anUnreachableHostsResourcesAreUnknownAndTheRestIsPlanned() throws {
        let plan = try Self.partialSnapshot().plan()
        #expect(plan.actionable.map(\.name) == ["web-a"])
        #expect(plan.actionable.first?.action == .create)
        // Nothing on kvm-02 is deleted or created again, and the VM moving from it does not move.
        #expect(plan.unknown.map(\.address.name) == ["move-d", "old-c", "web-b"])
        #expect(plan.unknown.allSatisfy { $0.unreachableHost == "kvm-02" })
        #expect(plan.unknown.first { $0.address.name == "move-d" }?.address.host == "kvm-01")
        #expect(plan.isPartial)
        #expect(plan.summary == "Plan: 1 to add, 0 to change, 0 to destroy. 3 unknown on 1 unreachable host.")
    }

    @Test func everyHostAnsweringMakesAWholePlan() throws {
        var snapshot = Self.partialSnapshot()
        snapshot.unreachable = []
        snapshot.live["kvm-02"] = []
        snapshot.rules["kvm-02"] = .kvm
        let plan = try snapshot.plan()
        #expect(!plan.isPartial && plan.unknown.isEmpty)
        #expect(Set(plan.actionable.map(\.name)) == ["web-a", "web-b", "old-c", "move-d"])
        #expect(!plan.summary.contains("unknown"))
    }

    @Test func unreachableStorageAndMdevsAreUnknownToo() throws {
        var snapshot = Self.partialSnapshot()
        snapshot.storage = StorageSnapshot(
            pools: [Located(StoragePoolSpec(name: "far", host: "kvm-02", path: "/srv/far"), at: P.here)],
            volumes: [Located(VolumeSpec(name: "far-disk", pool: "far", capacity: .mebibytes(1)), at: P.here)],
            recorded: [StorageSnapshot.key(.volume, "gone"): ("kvm-02", .volume(VolumeSpec(name: "gone", pool: "far", capacity: .mebibytes(1))))])
        snapshot.recordedDevices = [RecordedDevice(uuid: "u-1", host: "kvm-02", type: "nvidia-222", parent: nil)]
        let plan = try snapshot.plan()
        let unknown = Set(plan.unknown.map(\.address.description))
        #expect(unknown.isSuperset(of: ["pool far", "volume far-disk", "volume gone", "mdev u-1"]))
        #expect(!plan.changes.contains { $0.host == "kvm-02" })
    }

    @Test func hostsLinkedByAMovingVMShareALane() {
        let change = { (name: String, host: String, previous: String?) in
            ResourceChange(ResourceAddress(.virtualMachine, name, host: host), action: previous == nil ? .create : .replace, reason: .new,
                           effect: .vm([.define(P.vm(name, host: host))]), after: .virtualMachine(P.vm(name, host: host)), previousHost: previous)
        }
        let lanes = Applier.lanes([change("a", "kvm-01", nil), change("b", "kvm-02", nil), change("c", "kvm-02", "kvm-03"),
                                   change("d", "kvm-03", nil), change("e", "kvm-01", nil)])
        #expect(lanes.map { $0.map(\.name) } == [["a", "e"], ["b", "c", "d"]])
    }

    /// How many calls run at once, and the most that ever did.
    final class Gauge: Sendable {
        private let counts = Mutex<(now: Int, most: Int)>((0, 0))
        var most: Int { counts.withLock { $0.most } }
        func enter() { counts.withLock { $0.now += 1; $0.most = max($0.most, $0.now) } }
        func leave() { counts.withLock { $0.now -= 1 } }
    }

    /// A hypervisor whose defines take a while, counting how many run at once across all hosts.
    final class SlowHost: QuietHypervisor, @unchecked Sendable {
        let hostName: String
        let gauge: Gauge

        init(_ name: String, gauge: Gauge) {
            hostName = name
            self.gauge = gauge
        }

        func define(_ spec: VirtualMachineSpec, owner: String) async throws {
            gauge.enter()
            try await Task.sleep(for: .milliseconds(300))
            gauge.leave()
        }
    }

    @Test(arguments: [1, 3])
    func hostsAreAppliedAtMostParallelismAtATimeAndTheOutcomeKeepsApplyOrder(parallelism: Int) async throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("vmplan-fleet-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: directory) }
        let database = try StateDatabase(path: directory.appendingPathComponent("state.db").path)
        let gauge = Gauge()
        let hosts = ["kvm-01", "kvm-02", "kvm-03"]
        let vms = hosts.flatMap { host in (1...2).map { P.vm("\(host)-vm\($0)", host: host) } }
        let plan = Plan(changes: vms.map {
            ResourceChange(ResourceAddress(.virtualMachine, $0.name, host: $0.host), action: .create, reason: .new,
                           effect: .vm([.define($0)]), after: .virtualMachine($0))
        })
        var applier = try Applier(drivers: Dictionary(uniqueKeysWithValues: hosts.map { ($0, SlowHost($0, gauge: gauge) as any Hypervisor) }),
                                  store: database, shutdownTimeout: .seconds(1))
        applier.parallelism = parallelism
        // Hosts are counted here: one VM at a time on each (ApplierOrderTests counts VMs on one host).
        applier.perHostConcurrency = 1
        let run = try database.beginRun(.apply, actor: "test")
        let outcome = try await applier.apply(plan, runID: run) { _ in }
        #expect(outcome.succeeded)
        #expect(outcome.applied.map(\.name) == plan.changes.map(\.name))
        #expect(gauge.most == parallelism)
        #expect(try database.journal(runID: run).allSatisfy { $0.status == .done })
        #expect(Set(try database.resources().map(\.name)) == Set(vms.map(\.name)))
    }

    static func movePlan(running: Bool, rules: ChangeRules = .kvm, lifecycle: Lifecycle = Lifecycle()) throws -> Plan {
        var old = P.vm("web", host: "kvm-01", state: running ? .running : .stopped)
        old.lifecycle = lifecycle
        var moved = old
        moved.host = "kvm-02"
        let snapshot = Snapshot(desired: [Located(moved, at: P.here)], recorded: ["web": P.recorded(old)],
                                live: ["kvm-01": [P.domain(old)], "kvm-02": []], drivers: [:], rules: ["kvm-01": rules, "kvm-02": rules])
        return try snapshot.plan()
    }

    @Test func aVMWhoseHostChangedMigratesLiveWhenRunningAndByDefinitionWhenStopped() throws {
        let running = try #require(try Self.movePlan(running: true).actionable.first)
        #expect(running.action == .migrate && running.reason == .hostChanged)
        #expect(running.effect == .vm([.migrate(from: "kvm-01")]))
        #expect(running.host == "kvm-02" && running.previousHost == "kvm-01")
        #expect(running.notes == ["host changed from kvm-01 to kvm-02: migrated live, keeping its UUID"])
        let stopped = try #require(try Self.movePlan(running: false).actionable.first)
        #expect(stopped.action == .migrate)
        #expect(stopped.notes.first?.contains("shut off, its definition moves (not started)") == true)
        #expect(try Self.movePlan(running: true).summary == "Plan: 0 to add, 1 to change, 0 to destroy.")
    }

    @Test func aVMThatCannotMigrateIsReplacedAndThePlanSaysWhy() throws {
        let xen = try #require(try Self.movePlan(running: true, rules: .xen).actionable.first)
        #expect(xen.action == .replace)
        #expect(xen.notes == ["host changed from kvm-01 to kvm-02; not migrated: both hosts must be KVM hosts reached through libvirt"])

        var gpu = P.vm("gpu", host: "kvm-02")
        gpu.gpus = [GPURequest(pci: PCIAddress(parsing: "0000:3b:00.0"))]
        var observed = P.domain(P.vm("gpu", host: "kvm-01"))
        #expect(Migration.blocker(gpu, observed: observed, migratable: true) == "it has a passthrough GPU or a vGPU, which is bound to its host")
        var bigger = P.vm("web", host: "kvm-02", memory: 256)
        observed = P.domain(P.vm("web", host: "kvm-01"))
        #expect(Migration.blocker(bigger, observed: observed, migratable: true)?.contains("change too; change the host alone to migrate") == true)
        bigger.memory = .mebibytes(128)
        #expect(Migration.blocker(bigger, observed: observed, migratable: true) == nil)
    }

    @Test func lifecycleMigrateNeverMakesAHostChangeAReplaceAndWithProtectAnError() throws {
        let plan = try Self.movePlan(running: true, lifecycle: Lifecycle(migrate: .never))
        let change = try #require(plan.actionable.first)
        #expect(change.action == .replace && change.reason == .hostChanged)
        #expect(change.effect == .vm([.delete(host: "kvm-01"), .define(P.vm("web", host: "kvm-02").withLifecycle(Lifecycle(migrate: .never))), .start]))
        #expect(change.notes == ["host changed from kvm-01 to kvm-02; not migrated: lifecycle forbids migration (lifecycle.migrate: never)"])
        // It wins over every other reason: it is the manifest's own word.
        #expect(try Self.movePlan(running: true, rules: .xen, lifecycle: Lifecycle(migrate: .never)).actionable.first?.notes
            == ["host changed from kvm-01 to kvm-02; not migrated: lifecycle forbids migration (lifecycle.migrate: never)"])
        let error = #expect(throws: PlanError.self) { try Self.movePlan(running: true, lifecycle: Lifecycle(protect: true, migrate: .never)) }
        #expect(error?.description.contains("is protected (lifecycle.protect: true), but host changed from kvm-01 to kvm-02; "
                + "not migrated: lifecycle forbids migration") == true)
        #expect(try Self.movePlan(running: true, lifecycle: Lifecycle(migrate: .allowed)).actionable.first?.action == .migrate)
    }
}

extension VirtualMachineSpec {
    func withLifecycle(_ lifecycle: Lifecycle) -> VirtualMachineSpec {
        var spec = self
        spec.lifecycle = lifecycle
        return spec
    }
}
