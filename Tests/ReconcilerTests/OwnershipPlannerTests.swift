import Foundation
import Testing
import Drivers
import Reconciler
import Spec
import State

/// Orphans, markers removed by hand, and one hypervisor under two Host documents.
@Suite("Planner: ownership and host identity")
struct OwnershipPlannerTests {
    typealias P = PlannerTests

    @Test func markedDomainsNoManifestOrRecordNamesAreListedAsOrphans() throws {
        let plan = try P.plan(desired: [P.vm("mine")], recorded: [P.recorded(P.vm("mine"))],
                              live: [P.domain(P.vm("mine")), P.domain(P.vm("theirs", state: .stopped)), P.domain(P.vm("hand-made"), managed: false)])
        #expect(plan.orphans == [UnmanagedDomain(host: "kvm-01", name: "theirs", isRunning: false)])
        #expect(plan.unmanaged.map(\.name) == ["hand-made"])
        #expect(!plan.hasChanges, "an orphan is reported, never changed")
    }

    @Test func aRecordedDomainWhoseMarkerWasRemovedIsForgottenNeverDeleted() throws {
        let plan = try P.plan(desired: [], recorded: [P.recorded(P.vm("db"))], live: [P.domain(P.vm("db"), managed: false)])
        let change = try #require(plan.changes.first)
        #expect(change.action == .forget && change.effect == .recordOnly)
        #expect(change.notes.first?.contains("still exists on kvm-01 but no longer carries vmplan's marker") == true)
        #expect(plan.toDestroy == 0)

        // Still in the manifests: the plan fails and says what happened.
        #expect {
            try P.plan(desired: [P.vm("db")], recorded: [P.recorded(P.vm("db"))], live: [P.domain(P.vm("db"), managed: false)])
        } throws: { error in
            "\(error)".contains("'db' is recorded as applied, but the domain 'db' on host 'kvm-01' no longer carries vmplan's marker")
        }
        // Gone for real: only the record goes, as before.
        let gone = try P.plan(desired: [], recorded: [P.recorded(P.vm("db"))], live: [])
        #expect(gone.changes.first?.action == .delete && gone.changes.first?.effect == .recordOnly)
    }

    @Test func twoHostDocumentsThatReachOneHypervisorFailThePlan() async throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("vmplan-hosts-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: directory) }
        let store = try StateDatabase(path: directory.appendingPathComponent("state.db").path)
        let manifest = try ManifestLoader.load(files: [("hosts.yaml", """
            apiVersion: vmplan/v1
            kind: Host
            metadata: {name: a}
            spec: {uri: "qemu+ssh://root@kvm-01/system", hypervisor: kvm}
            ---
            apiVersion: vmplan/v1
            kind: Host
            metadata: {name: b}
            spec: {uri: "qemu+ssh://root@kvm-01.example/system", hypervisor: kvm}
            ---
            apiVersion: vmplan/v1
            kind: Host
            metadata: {name: c}
            spec: {uri: "qemu+ssh://root@kvm-02/system", hypervisor: kvm}
            """)])
        let uuids = ["a": "0f6e", "b": "0f6e", "c": "77aa"]
        await #expect {
            _ = try await Reconciliation.snapshot(of: manifest, store: store) { host in
                let driver = ApplierOrderTests.RecordingHost()
                driver.hostUUID = uuids[host.name]
                return driver
            }
        } throws: { error in
            let text = "\(error)"
            return text.contains("hosts.yaml:6:1: error: Host 'b' (qemu+ssh://root@kvm-01.example/system) reaches the same hypervisor as Host 'a'")
                && text.contains("libvirt reports host UUID 0f6e for both") && !text.contains("Host 'c'")
        }
    }

    static func marked(_ spec: VirtualMachineSpec, state: String?) -> ObservedDomain {
        var domain = P.domain(spec)
        domain.owner?.state = state
        return domain
    }

    static func plan(desired: [VirtualMachineSpec], recorded: [VirtualMachineSpec] = [], live: [ObservedDomain],
                     adopt: Set<String> = []) throws -> Plan {
        try Planner.plan(desired: desired.map { Located($0, at: P.here) },
                         recorded: Dictionary(uniqueKeysWithValues: recorded.map { ($0.name, P.recorded($0)) }),
                         live: ["kvm-01": live], options: PlanOptions(adopt: adopt), stateID: "state-a")
    }

    @Test func anotherStatesDomainIsRefusedUnlessAdopted() throws {
        let theirs = Self.marked(P.vm("web"), state: "state-b")
        #expect {
            try Self.plan(desired: [P.vm("web")], live: [theirs])
        } throws: { error in
            "\(error)".contains("VirtualMachine 'web': the domain on host 'kvm-01' belongs to vmplan state state-b; vmplan never takes over")
                && "\(error)".contains("apply with --adopt web")
        }
        let adopted = try #require(try Self.plan(desired: [P.vm("web")], live: [theirs], adopt: ["web"]).changes.first)
        #expect(adopted.action == .adopt && adopted.reason == .takenOver)
        #expect(adopted.effect == .vm([.redefine(P.vm("web"))]), "the marker is rewritten even when nothing else changes")
        // With a change to make as well, the change carries the takeover.
        let bigger = try #require(try Self.plan(desired: [P.vm("web", memory: 256, maxMemory: 512)], live: [theirs], adopt: ["web"]).changes.first)
        #expect(bigger.action == .update && bigger.notes.contains { $0.contains("taken over from vmplan state state-b") })
    }

    @Test func aHandedOverDomainIsOnlyForgottenByItsFormerState() throws {
        let plan = try Self.plan(desired: [], recorded: [P.vm("web")], live: [Self.marked(P.vm("web"), state: "state-b")])
        let change = try #require(plan.changes.first)
        #expect(change.action == .forget && change.effect == .recordOnly)
        #expect(change.notes.first?.contains("now belongs to vmplan state state-b (handed over)") == true)
    }

    @Test func aMarkerFromBeforeStateIDsIsOursOnlyIfRecorded() throws {
        let legacy = Self.marked(P.vm("web"), state: nil)
        #expect(try Self.plan(desired: [P.vm("web")], recorded: [P.vm("web")], live: [legacy]).changes.first?.action == .noop)
        #expect {
            try Self.plan(desired: [P.vm("web")], live: [legacy])
        } throws: { error in
            "\(error)".contains("belongs to a vmplan state of unknown id")
        }
        // Ours but unrecorded (an apply stopped before recording it): adopted silently.
        #expect(try Self.plan(desired: [P.vm("web")], live: [Self.marked(P.vm("web"), state: "state-a")]).changes.first?.action == .adopt)
        let orphans = try Self.plan(desired: [], live: [Self.marked(P.vm("old"), state: "state-b")]).orphans
        #expect(orphans == [UnmanagedDomain(host: "kvm-01", name: "old", isRunning: true, ownerState: "state-b")])
    }

    @Test func adoptNamesAVirtualMachineOfTheManifests() throws {
        #expect {
            try Self.plan(desired: [P.vm("web")], live: [], adopt: ["wbe"])
        } throws: { error in
            "\(error)".contains("no VirtualMachine named 'wbe' in the manifests; --adopt takes") && "\(error)".contains("did you mean 'web'?")
        }
    }
}
