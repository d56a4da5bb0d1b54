import Testing
import Drivers
import Reconciler
import Spec

@Suite("Planner: autostart, graphics, guest agent")
struct VMEssentialsPlannerTests {
    typealias P = PlannerTests

    static func vm(autostart: Bool? = true, graphics: GraphicsSpec? = nil, guestAgent: Bool = false, state: PowerState = .running) -> VirtualMachineSpec {
        var spec = P.vm("a", state: state)
        spec.autostart = autostart
        spec.graphics = graphics
        spec.guestAgent = guestAgent
        return spec
    }

    static func change(from before: VirtualMachineSpec, to after: VirtualMachineSpec, live: VirtualMachineSpec? = nil) throws -> ResourceChange {
        try #require(try P.plan(desired: [after], recorded: [P.recorded(before)], live: [P.domain(live ?? before)]).changes.first)
    }

    @Test func autostartChangesLiveWithoutARestart() throws {
        let change = try Self.change(from: Self.vm(autostart: true), to: Self.vm(autostart: false))
        #expect(change.action == .update && change.mode == .live)
        #expect(change.effect == .vm([.redefine(Self.vm(autostart: false))]))
        #expect(change.diffs == [FieldDiff(.autostart, before: "true", after: "false", origin: .manifest)])
    }

    @Test func autostartTurnedOffByHandIsDrift() throws {
        let change = try Self.change(from: Self.vm(), to: Self.vm(), live: Self.vm(autostart: false))
        #expect(change.diffs == [FieldDiff(.autostart, before: "false", after: "true", origin: .drift)])
        #expect(change.mode == .live)
    }

    @Test func aRecordFromBeforeAutostartIsAManifestChangeOnceNotDrift() throws {
        // The domain never had autostart; the manifest's default for a running VM turns it on.
        let change = try Self.change(from: Self.vm(autostart: nil), to: Self.vm(), live: Self.vm(autostart: false))
        #expect(change.diffs == [FieldDiff(.autostart, before: "false", after: "true", origin: .manifest)])
        #expect(change.mode == .live)
        #expect(change.notes.contains { $0.hasPrefix("autostart was not managed when this VM was last applied") }, "\(change.notes)")
        // A stopped VM's default is off, which the domain already is: nothing to do but refresh the record.
        let stopped = try Self.change(from: Self.vm(autostart: nil, state: .stopped), to: Self.vm(autostart: false, state: .stopped),
                                      live: Self.vm(autostart: false, state: .stopped))
        #expect(stopped.action == .noop && stopped.effect == .recordOnly)
    }

    @Test func aSpecThatLeavesAutostartOpenComparesNothing() throws {
        let change = try Self.change(from: Self.vm(autostart: nil), to: Self.vm(autostart: nil), live: Self.vm(autostart: true))
        #expect(change.action == .noop && change.diffs.isEmpty)
    }

    @Test func autostartCanBeIgnored() throws {
        var desired = Self.vm(autostart: true)
        desired.lifecycle.ignoreChanges = [.autostart]
        let change = try Self.change(from: desired, to: desired, live: Self.vm(autostart: false))
        #expect(change.action == .noop)
        #expect(change.ignored == [FieldDiff(.autostart, before: "false", after: "true", origin: .drift)])
    }

    @Test func graphicsAndTheAgentChannelRestartARunningVM() throws {
        for after in [Self.vm(graphics: GraphicsSpec(type: .vnc)), Self.vm(guestAgent: true)] {
            let change = try Self.change(from: Self.vm(), to: after)
            #expect(change.mode == .restart)
            #expect(change.effect == .vm([.redefine(after), .restart]))
        }
        let diffs = try Self.change(from: Self.vm(), to: Self.vm(graphics: GraphicsSpec(type: .spice, listen: "::1"), guestAgent: true)).diffs
        #expect(diffs == [FieldDiff(.graphics, before: nil, after: "spice on ::1", origin: .manifest),
                          FieldDiff(.guestAgent, before: nil, after: "true", origin: .manifest)])
    }

    @Test func aDisplayBeyondLoopbackIsAWarningWhenThePlanSetsItUp() throws {
        let open = Self.vm(graphics: GraphicsSpec(type: .vnc, listen: "0.0.0.0"))
        let plan = try P.plan(desired: [open], recorded: [P.recorded(Self.vm())], live: [P.domain(Self.vm())])
        #expect(plan.warnings.count == 1)
        #expect(plan.warnings.first?.message.hasPrefix("VirtualMachine 'a': its vnc display listens on 0.0.0.0, beyond loopback") == true)
        #expect(plan.warnings.first?.location == P.here)
        let created = try P.plan(desired: [open])
        #expect(created.warnings.count == 1)
        #expect(try P.plan(desired: [open], recorded: [P.recorded(open)], live: [P.domain(open)]).warnings.isEmpty, "said once, when set up")
        #expect(try P.plan(desired: [Self.vm(graphics: GraphicsSpec(type: .vnc))]).warnings.isEmpty)
    }

    @Test func driftChecksLeaveAutostartOfAnOlderRecordAlone() throws {
        let snapshot = DriftCheckTests.snapshot(desired: [Self.vm()], recorded: [Self.vm(autostart: nil)], live: [P.domain(Self.vm(autostart: false))])
        let entry = try DriftCheckTests.entry(DriftCheckTests.report(snapshot), "a")
        #expect(entry.status == .inSync, "\(entry.fields)")
        #expect(entry.pending == [FieldDiff(.autostart, before: "false", after: "true", origin: .manifest)], "an apply turns it on")

        let handEdited = DriftCheckTests.snapshot(desired: [Self.vm()], recorded: [Self.vm()], live: [P.domain(Self.vm(autostart: false))])
        let drifted = try DriftCheckTests.entry(DriftCheckTests.report(handEdited), "a")
        #expect(drifted.status == .drifted && drifted.fields == [FieldDiff(.autostart, before: "true", after: "false", origin: .drift)])
    }
}
