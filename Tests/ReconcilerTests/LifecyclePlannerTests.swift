import Testing
import Drivers
import Reconciler
import Spec

@Suite("Planner: lifecycle, change modes, targets")
struct LifecyclePlannerTests {
    typealias P = PlannerTests

    static func vm(_ name: String, host: String = "kvm-01", memory: UInt64 = 128, maxMemory: UInt64? = 512,
                   lifecycle: Lifecycle = Lifecycle()) -> VirtualMachineSpec {
        var spec = P.vm(name, host: host, memory: memory, maxMemory: maxMemory)
        spec.lifecycle = lifecycle
        return spec
    }

    @Test func restartNeverTurnsARestartIntoANextBootChange() throws {
        let before = Self.vm("a", lifecycle: Lifecycle(restart: .never))
        let after = Self.vm("a", maxMemory: 1024, lifecycle: Lifecycle(restart: .never))
        let change = try #require(try P.plan(desired: [after], recorded: [P.recorded(before)], live: [P.domain(before)]).changes.first)
        #expect(change.action == .update)
        #expect(change.mode == .nextBoot)
        #expect(change.pendingRestart == [.maxMemory])
        #expect(change.notes.contains { $0.contains("lifecycle.restart is never") })

        let allowed = try #require(try P.plan(desired: [Self.vm("a", maxMemory: 1024)], recorded: [P.recorded(Self.vm("a"))],
                                              live: [P.domain(Self.vm("a"))]).changes.first)
        #expect(allowed.mode == .restart)
        #expect(allowed.pendingRestart.isEmpty)
    }

    @Test func aConfigAheadOfTheRunningVMIsReportedAsWaiting() throws {
        let spec = Self.vm("a", maxMemory: 1024, lifecycle: Lifecycle(restart: .never))
        var domain = P.domain(spec)
        domain.runningSpec = Self.vm("a", maxMemory: 512)  // booted before the change
        let plan = try P.plan(desired: [spec], recorded: [P.recorded(spec)], live: [domain])
        let change = try #require(plan.changes.first)
        #expect(change.action == .noop)
        #expect(change.pendingRestart == [.maxMemory])
        #expect(!plan.hasChanges)
        #expect(change.effect == .recordOnly && change.reason == .recordBehind, "the record learns that a restart is pending")

        // Once restarts are allowed again, vmplan catches up with a restart.
        var relaxed = spec
        relaxed.lifecycle.restart = .allowed
        let catchUp = try #require(try P.plan(desired: [relaxed], recorded: [P.recorded(spec)], live: [domain]).changes.first)
        #expect(catchUp.action == .update)
        #expect(catchUp.mode == .restart)
    }

    @Test func liveMemoryLagOfABalloonlessGuestIsNotDrift() throws {
        // The live XML of a guest without a balloon driver keeps its old current memory.
        let spec = Self.vm("a", memory: 256)
        var domain = P.domain(spec)
        domain.runningSpec = Self.vm("a", memory: 128)
        let change = try #require(try P.plan(desired: [spec], recorded: [P.recorded(spec)], live: [domain]).changes.first)
        #expect(change.action == .noop)
        #expect(change.pendingRestart.isEmpty)
    }

    @Test func protectFailsADeleteAndNamesWhy() throws {
        let spec = Self.vm("db", lifecycle: Lifecycle(protect: true))
        #expect {
            try P.plan(desired: [], recorded: [P.recorded(spec)], live: [P.domain(spec)])
        } throws: { error in
            "\(error)".contains("'db' is protected (lifecycle.protect: true), but it was removed from the manifests")
        }
    }

    @Test func protectFailsAReplaceAndNamesTheFieldThatForcedIt() throws {
        let spec = Self.vm("db", lifecycle: Lifecycle(protect: true))
        let moved = Self.vm("db", host: "kvm-02", lifecycle: Lifecycle(protect: true))
        #expect {
            try P.plan(desired: [moved], recorded: [P.recorded(spec)], live: [P.domain(spec)], hosts: ["kvm-01", "kvm-02"])
        } throws: { error in
            "\(error)".contains("vms.yaml:1:1: error: VirtualMachine 'db' is protected (lifecycle.protect: true), but host changed from kvm-01 to kvm-02")
        }
        #expect(throws: PlanError.self) {
            try Planner.plan(desired: [Located(spec, at: P.here)], recorded: ["db": P.recorded(spec)],
                             live: ["kvm-01": [P.domain(spec)]], options: PlanOptions(replace: ["db"]))
        }
    }

    @Test func ignoredFieldsAreNeitherActedOnNorOverwritten() throws {
        let recorded = Self.vm("a", memory: 128, lifecycle: Lifecycle(ignoreChanges: [.memory]))
        let edited = Self.vm("a", memory: 256, lifecycle: Lifecycle(ignoreChanges: [.memory]))
        let byHand = Self.vm("a", memory: 192)
        let change = try #require(try P.plan(desired: [edited], recorded: [P.recorded(recorded)], live: [P.domain(byHand)]).changes.first)
        #expect(change.action == .noop)
        #expect(change.ignored.map(\.field) == [VMField.memory.rawValue])
        #expect(change.ignored.first?.before == "192MiB")
        #expect(change.ignored.first?.after == "256MiB")

        // Another field changes: the update carries the host's memory, not the manifests'.
        var both = edited
        both.description = "new"
        let update = try #require(try P.plan(desired: [both], recorded: [P.recorded(recorded)], live: [P.domain(byHand)]).changes.first)
        #expect(update.action == .update)
        #expect(update.diffs.map(\.field) == ["description"])
        #expect(update.desiredVM?.memory == .mebibytes(192))
    }

    @Test func targetsNarrowThePlanAndUnknownTargetsFail() throws {
        let plan = try Planner.plan(desired: [Located(P.vm("a"), at: P.here), Located(P.vm("b"), at: P.here)], recorded: [:],
                                    live: ["kvm-01": []], options: PlanOptions(targets: ["b"]))
        #expect(plan.changes.map(\.name) == ["b"])
        #expect {
            try Planner.plan(desired: [Located(P.vm("web"), at: P.here)], recorded: [:], live: ["kvm-01": []],
                             options: PlanOptions(targets: ["wbe"]))
        } throws: { error in
            "\(error)".contains("no VirtualMachine named 'wbe'") && "\(error)".contains("did you mean 'web'?")
        }
    }

    @Test func forcedReplaceOfAnUnchangedVM() throws {
        let spec = P.vm("a")
        let plan = try Planner.plan(desired: [Located(spec, at: P.here)], recorded: ["a": P.recorded(spec)],
                                    live: ["kvm-01": [P.domain(spec)]], options: PlanOptions(replace: ["a"]))
        #expect(plan.changes.first?.action == .replace)
        #expect(plan.toAdd == 1 && plan.toDestroy == 1)
    }

    @Test func planInputsNameWhatMoved() throws {
        let before = PlanInputs(Snapshot(desired: [Located(P.vm("a"), at: P.here)], recorded: [:],
                                         live: ["kvm-01": [P.domain(P.vm("a"))]], drivers: [:], rules: [:]))
        var handEdited = P.vm("a")
        handEdited.vcpus = 3
        let after = PlanInputs(Snapshot(desired: [Located(P.vm("a"), at: P.here)], recorded: [:],
                                        live: ["kvm-01": [P.domain(handEdited)]], drivers: [:], rules: [:]))
        #expect(before.differences(to: before).isEmpty)
        #expect(before.differences(to: after) == ["live state: kvm-01/a: maxVcpus 1 -> 3, vcpus 1 -> 3"])
    }
}

@Suite("Planner: machine type")
struct MachineTypePlannerTests {
    typealias P = PlannerTests

    @Test func libvirtNamesMapToFamilies() {
        #expect(MachineType(libvirtName: "pc-q35-7.2") == .q35)
        #expect(MachineType(libvirtName: "q35") == .q35)
        #expect(MachineType(libvirtName: "pc-i440fx-7.2") == .pc)
        #expect(MachineType(libvirtName: "pc") == .pc)
        #expect(MachineType(libvirtName: "microvm") == nil)
    }

    @Test func aNewMachineTypeRestartsAndAnOpenOneIsNoDifference() throws {
        var live = P.vm("a")
        live.machine = .pc
        let open = try P.plan(desired: [P.vm("a")], recorded: [P.recorded(P.vm("a"))], live: [P.domain(live)])
        #expect(open.changes.first?.action == .noop)

        var q35 = P.vm("a")
        q35.machine = .q35
        let change = try #require(try P.plan(desired: [q35], recorded: [P.recorded(P.vm("a"))], live: [P.domain(live)]).changes.first)
        #expect(change.action == .update)
        #expect(change.mode == .restart)
        #expect(change.diffs.map(\.field) == ["machine"])
        #expect(change.diffs.first?.before == "pc" && change.diffs.first?.after == "q35")
    }

    @Test func aLiveVCPUChangeTheGuestDidNotTakeWaitsForARestart() throws {
        // The config says 1 vCPU; the running guest could not unplug the second.
        var spec = P.vm("a", vcpus: 1)
        spec.maxVcpus = 2
        var domain = P.domain(spec)
        var running = spec
        running.vcpus = 2
        domain.runningSpec = running
        let change = try #require(try P.plan(desired: [spec], recorded: [P.recorded(spec)], live: [domain]).changes.first)
        #expect(change.action == .update && change.mode == .restart && change.reason == .restartPending)
        #expect(change.effect == .vm([.restart]))

        var never = spec
        never.lifecycle.restart = .never
        let waiting = try #require(try P.plan(desired: [never], recorded: [P.recorded(never)], live: [domain]).changes.first)
        #expect(waiting.action == .noop && waiting.pendingRestart == [.vcpus], "shown as waiting, not as in sync")

        // Back to what the guest runs with: nothing waits, the config catches up live.
        var back = spec
        back.vcpus = 2
        let revert = try #require(try P.plan(desired: [back], recorded: [P.recorded(spec)], live: [domain]).changes.first)
        #expect(revert.mode == .live && revert.pendingRestart.isEmpty)
    }

    @Test func aVMToBeStoppedStopsBeforeItsConfigChanges() throws {
        var spec = P.vm("a", vcpus: 2)
        spec.maxVcpus = 2
        var stopped = spec
        stopped.vcpus = 1
        stopped.state = .stopped
        let change = try #require(try P.plan(desired: [stopped], recorded: [P.recorded(spec)], live: [P.domain(spec)]).changes.first)
        #expect(change.effect == .vm([.stop, .redefine(stopped)]))
    }
}
