import Testing
import Drivers
import Reconciler
import Spec

/// `import: {uuid}`: an unmanaged domain is imported only when its name, UUID and every compared
/// field match the manifest, and the import writes the marker and nothing else.
@Suite("Planner: imports")
struct ImportPlannerTests {
    typealias P = PlannerTests

    static func importing(_ spec: VirtualMachineSpec, uuid: String = "uuid-web") -> VirtualMachineSpec {
        var spec = spec
        spec.importing = DomainImport(uuid: uuid)
        return spec
    }

    @Test func aMatchingUnmanagedDomainIsImportedAndNothingElseHappens() throws {
        let plan = try P.plan(desired: [Self.importing(P.vm("web", vcpus: 2))], live: [P.domain(P.vm("web", vcpus: 2), managed: false)])
        let change = try #require(plan.changes.first)
        #expect(change.action == .import && change.reason == .importRequested)
        #expect(change.effect == .importDomain(uuid: "uuid-web"))
        #expect(change.diffs.isEmpty)
        #expect(plan.hasChanges, "an import is something to apply: --detailed-exitcode exits 2")
        #expect(plan.summary == "Plan: 1 to import, 0 to add, 0 to change, 0 to destroy.")
        #expect(plan.unmanaged.isEmpty, "a domain this plan imports is not also listed as unmanaged")
    }

    @Test func onlyTheImportedDomainLeavesTheUnmanagedList() throws {
        let plan = try P.plan(desired: [Self.importing(P.vm("web"))],
                              live: [P.domain(P.vm("web"), managed: false), P.domain(P.vm("by-hand"), managed: false)])
        #expect(plan.changes.map(\.action) == [.import])
        #expect(plan.unmanaged.map(\.name) == ["by-hand"])
        // A VM of the same name that is created (no import) leaves the domain unmanaged: that plan fails instead.
        #expect(throws: PlanError.self) { try P.plan(desired: [P.vm("web")], live: [P.domain(P.vm("web"), managed: false)]) }
    }

    @Test func driftShowsTheImportAsPendingAndTheDomainNotAsUnmanaged() throws {
        let live = [P.domain(P.vm("web"), managed: false), P.domain(P.vm("by-hand"), managed: false)]
        let report = DriftCheckTests.report(DriftCheckTests.snapshot(desired: [Self.importing(P.vm("web"))], recorded: [], live: live))
        let web = try DriftCheckTests.entry(report, "web")
        #expect(web.status == .notApplied && web.pendingAction == .import)
        #expect(report.unmanaged.map(\.name) == ["by-hand"])
        // Another UUID is not this domain: nothing is imported, and it stays unmanaged.
        let other = DriftCheckTests.report(DriftCheckTests.snapshot(desired: [Self.importing(P.vm("web"), uuid: "0a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d")],
                                                                    recorded: [], live: live))
        #expect(try DriftCheckTests.entry(other, "web").pendingAction == .create)
        #expect(other.unmanaged.map(\.name) == ["by-hand", "web"])
    }

    @Test func labelsMayBeAddedAtTheImportTheyGoIntoTheMarker() throws {
        var spec = Self.importing(P.vm("web"))
        spec.labels = ["tier": "web"]
        let plan = try P.plan(desired: [spec], live: [P.domain(P.vm("web"), managed: false)])
        #expect(plan.changes.first?.action == .import)
        #expect(plan.changes.first?.notes.contains("labels {tier: web} are written with the marker") == true)
    }

    @Test func aDifferingFieldFailsThePlanNamingIt() {
        #expect {
            try P.plan(desired: [Self.importing(P.vm("web", vcpus: 3))], live: [P.domain(P.vm("web", vcpus: 2), managed: false)])
        } throws: { error in
            "\(error)".contains("the manifest differs from the domain: vcpus is 2 on the host, 3 in the manifest; maxVcpus is 2 on the host, 3 in the manifest. ")
        }
    }

    @Test func anotherUUIDOrNoDomainIsNeverImported() {
        #expect {
            try P.plan(desired: [Self.importing(P.vm("web"), uuid: "0a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d")],
                       live: [P.domain(P.vm("web"), managed: false)])
        } throws: { error in
            "\(error)".contains("the domain 'web' on host 'kvm-01' has UUID uuid-web: it is not the domain the manifest was written for")
        }
        #expect {
            try P.plan(desired: [Self.importing(P.vm("web"))], live: [])
        } throws: { error in
            "\(error)".contains("but host 'kvm-01' has no domain named 'web'")
        }
    }

    @Test func onceRecordedTheImportFieldIsInertAndTheHashUnchanged() throws {
        let spec = Self.importing(P.vm("web"))
        #expect(spec.specHash == P.vm("web").specHash)
        let plan = try P.plan(desired: [spec], recorded: [P.recorded(P.vm("web"))], live: [P.domain(P.vm("web"))])
        #expect(plan.changes.first?.action == .noop)
        #expect(!plan.hasChanges)
    }
}
