import Testing
import Drivers
import Reconciler
import Spec

@Suite("Planner: VM networks")
struct NetworkPlannerTests {
    typealias P = PlannerTests

    static func vm(_ networks: [NetworkInterface]?) -> VirtualMachineSpec {
        var spec = P.vm("a", memory: 128, maxMemory: 512)
        spec.networks = networks
        return spec
    }

    static let lab = NetworkInterface(source: .network("lab"), mac: NetworkInterface.derivedMAC(vm: "a", index: 0))
    static let bridge = NetworkInterface(source: .bridge("br0"), mac: NetworkInterface.derivedMAC(vm: "a", index: 1))

    /// A running domain whose live definition matches its config.
    static func running(_ spec: VirtualMachineSpec) -> ObservedDomain {
        var domain = P.domain(spec)
        domain.runningSpec = domain.spec
        return domain
    }

    @Test func aNICAddedToARunningVMIsHotPlugged() throws {
        let before = Self.vm([Self.lab]), after = Self.vm([Self.lab, Self.bridge])
        let change = try #require(try P.plan(desired: [after], recorded: [P.recorded(before)], live: [Self.running(before)]).changes.first)
        #expect(change.action == .update)
        #expect(change.mode == .live)
        #expect(change.effect == .vm([.redefine(after)]), "no restart: the redefine plugs it in")
        #expect(change.notes.contains("hot-plugs NIC \(Self.bridge.summary) live"), "\(change.notes)")
        let diff = try #require(change.diffs.first { $0.field == "networks" })
        #expect(diff.after == "\(Self.lab.summary), \(Self.bridge.summary)")
    }

    @Test func aNICRemovedFromARunningVMIsUnplugged() throws {
        let before = Self.vm([Self.lab, Self.bridge]), after = Self.vm([Self.lab])
        let change = try #require(try P.plan(desired: [after], recorded: [P.recorded(before)], live: [Self.running(before)]).changes.first)
        #expect(change.mode == .live && change.effect == .vm([.redefine(after)]))
        #expect(change.notes.contains("unplugs NIC \(Self.bridge.summary) live (the guest must release it)"), "\(change.notes)")
    }

    @Test func aNICThatChangesItsModelOrSourceRestartsTheVM() throws {
        var e1000e = Self.lab
        e1000e.model = .e1000e
        var otherBridge = Self.bridge
        otherBridge.source = .bridge("br1")
        for after in [Self.vm([e1000e, Self.bridge]), Self.vm([Self.lab, otherBridge])] {
            let before = Self.vm([Self.lab, Self.bridge])
            let change = try #require(try P.plan(desired: [after], recorded: [P.recorded(before)], live: [Self.running(before)]).changes.first)
            #expect(change.mode == .restart)
            #expect(change.effect == .vm([.redefine(after), .restart]))
            #expect(!change.notes.contains { $0.contains("hot-plugs") || $0.contains("unplugs") }, "\(change.notes)")
        }
    }

    @Test func aNICAddedAlongWithARestartChangeComesWithTheRestart() throws {
        let before = Self.vm([Self.lab])
        var after = Self.vm([Self.lab, Self.bridge])
        after.maxMemory = .mebibytes(1024)
        let change = try #require(try P.plan(desired: [after], recorded: [P.recorded(before)], live: [Self.running(before)]).changes.first)
        #expect(change.mode == .restart && !change.notes.contains { $0.contains("hot-plugs") }, "\(change.notes)")
        // With restart: never the NIC still comes live while maxMemory waits.
        var never = after
        never.lifecycle.restart = .never
        let waiting = try #require(try P.plan(desired: [never], recorded: [P.recorded(before)], live: [Self.running(before)]).changes.first)
        #expect(waiting.mode == .nextBoot && waiting.pendingRestart == [.maxMemory])
        #expect(waiting.notes.contains("hot-plugs NIC \(Self.bridge.summary) live"), "\(waiting.notes)")
    }

    @Test func aStoppedVMOnlyChangesItsConfig() throws {
        var before = Self.vm([Self.lab]), after = Self.vm([Self.lab, Self.bridge])
        before.state = .stopped
        after.state = .stopped
        let change = try #require(try P.plan(desired: [after], recorded: [P.recorded(before)], live: [P.domain(before)]).changes.first)
        #expect(change.mode == .nextBoot && change.effect == .vm([.redefine(after)]))
        #expect(!change.notes.contains { $0.contains("hot-plugs") })
    }

    @Test func aHotPluggedNICAtTheEndOfTheRunningVMIsInSync() throws {
        let spec = Self.vm([Self.bridge, Self.lab])
        var domain = P.domain(spec)
        domain.runningSpec = Self.vm([Self.lab, Self.bridge])  // plugged in last, live
        let change = try #require(try P.plan(desired: [spec], recorded: [P.recorded(spec)], live: [domain]).changes.first)
        #expect(change.action == .noop && change.pendingRestart.isEmpty)
    }

    @Test func aNICTheGuestDidNotReleaseWaitsForARestart() throws {
        let spec = Self.vm([Self.lab])
        var domain = P.domain(spec)
        domain.runningSpec = Self.vm([Self.lab, Self.bridge])  // unplugged from the config, still in the guest
        let change = try #require(try P.plan(desired: [spec], recorded: [P.recorded(spec)], live: [domain]).changes.first)
        #expect(change.action == .update && change.reason == .restartPending && change.effect == .vm([.restart]))
        var never = spec
        never.lifecycle.restart = .never
        let waiting = try #require(try P.plan(desired: [never], recorded: [P.recorded(never)], live: [domain]).changes.first)
        #expect(waiting.action == .noop && waiting.pendingRestart == [.networks])
    }

    @Test func aManifestWithoutNetworksLeavesTheDomainsNICsAlone() throws {
        let recorded = Self.vm(nil)
        let plan = try P.plan(desired: [recorded], recorded: [P.recorded(recorded)], live: [P.domain(Self.vm([Self.lab]))])
        #expect(!plan.hasChanges)
    }

    @Test func anEmptyListRemovesNICsAddedByHand() throws {
        let change = try #require(try P.plan(desired: [Self.vm([])], recorded: [P.recorded(Self.vm([]))],
                                             live: [P.domain(Self.vm([Self.lab]))]).changes.first)
        #expect(change.action == .update)
        let diff = try #require(change.diffs.first { $0.field == "networks" })
        #expect(diff.before == Self.lab.summary && diff.after == nil && diff.origin == DiffOrigin.drift)
    }
}
