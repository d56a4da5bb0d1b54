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

    @Test func aNewNICIsARestartChangeOnKVM() throws {
        let before = Self.vm([Self.lab]), after = Self.vm([Self.lab, Self.bridge])
        let change = try #require(try P.plan(desired: [after], recorded: [P.recorded(before)], live: [P.domain(before)]).changes.first)
        #expect(change.action == .update)
        #expect(change.mode == .restart)
        let diff = try #require(change.diffs.first { $0.field == "networks" })
        #expect(diff.after == "\(Self.lab.summary), \(Self.bridge.summary)")
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
