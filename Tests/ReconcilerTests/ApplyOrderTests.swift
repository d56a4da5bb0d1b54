import Testing
import Drivers
import Reconciler
import Spec

/// The one ordering rule: build in dependency order, remove in reverse, VMs removed before VMs built.
@Suite("Plan: apply order")
struct ApplyOrderTests {
    static func change(_ kind: ResourceKind, _ name: String, _ action: Action) -> ResourceChange {
        ResourceChange(ResourceAddress(kind, name, host: "kvm-01"), action: action, reason: .new, effect: .recordOnly)
    }

    @Test func buildsRiseByDependencyAndRemovalsFallBack() {
        let shuffled = [
            Self.change(.storagePool, "old-pool", .delete),
            Self.change(.virtualMachine, "web", .create),
            Self.change(.volume, "old-disk", .forget),
            Self.change(.mediatedDevice, "new-mdev", .create),
            Self.change(.virtualMachine, "gone", .delete),
            Self.change(.volume, "disk", .create),
            Self.change(.mediatedDevice, "old-mdev", .delete),
            Self.change(.storagePool, "pool", .create),
            Self.change(.virtualMachine, "db", .update),
        ]
        let plan = Plan(changes: shuffled)
        #expect(plan.changes.map(\.name) == ["pool", "disk", "new-mdev", "gone", "web", "db", "old-mdev", "old-disk", "old-pool"])
    }

    @Test func theOrderWithinAPhaseIsKept() {
        // Volumes come bases first from the storage planner; the plan must not undo that.
        let volumes = ["base", "copy", "overlay"].map { Self.change(.volume, $0, .create) }
        #expect(ApplyOrder.sorted(volumes.reversed()).map(\.name) == ["overlay", "copy", "base"])
        #expect(ApplyOrder.sorted(volumes).map(\.name) == ["base", "copy", "overlay"])
    }

    @Test func everyKindAndDirectionHasOnePhase() {
        let kinds = ResourceKind.allCases.filter { $0 != .host && $0 != .driftPolicy }  // nothing to apply for these
        for kind in kinds {
            for removal in [false, true] {
                #expect(ApplyOrder.phases.filter { $0.kind == kind && $0.removal == removal }.count == 1, "\(kind) removal: \(removal)")
            }
        }
        // Builds never go before what they need: a kind's build phase comes after every lower kind's.
        let builds = ApplyOrder.phases.filter { !$0.removal }.map(\.kind)
        #expect(builds == builds.sorted())
        let removals = ApplyOrder.phases.filter(\.removal).map(\.kind)
        #expect(removals == removals.sorted().reversed())
    }

    @Test func countsFollowTheActions() {
        let plan = Plan(changes: [
            Self.change(.virtualMachine, "a", .create), Self.change(.virtualMachine, "b", .replace),
            Self.change(.virtualMachine, "c", .update), Self.change(.virtualMachine, "d", .delete),
            Self.change(.volume, "e", .forget), Self.change(.virtualMachine, "f", .adopt), Self.change(.virtualMachine, "g", .noop),
        ])
        #expect((plan.toAdd, plan.toChange, plan.toDestroy) == (2, 1, 2))
        #expect(plan.summary == "Plan: 2 to add, 1 to change, 2 to destroy.")
        #expect(plan.actionable.map(\.name) == ["d", "a", "b", "c", "e"], "adoptions and no-ops are not changes")
        #expect(plan.hasChanges && plan.hasRecordUpdates)
        #expect(!Plan(changes: [Self.change(.virtualMachine, "f", .adopt)]).hasChanges)
    }
}
