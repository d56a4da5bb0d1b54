import Testing
import Drivers
import Reconciler
import Spec

/// Planner unit tests: desired, recorded and live are built in memory; the planner is pure.
@Suite("Planner")
struct PlannerTests {
    static let here = SourceLocation(file: "vms.yaml", line: 1, column: 1)

    static func vm(_ name: String, host: String = "kvm-01", vcpus: Int = 1, memory: UInt64 = 128,
                   maxMemory: UInt64? = nil, state: PowerState = .running) -> VirtualMachineSpec {
        VirtualMachineSpec(name: name, host: host, vcpus: vcpus, memory: .mebibytes(memory),
                           maxMemory: maxMemory.map { .mebibytes($0) }, state: state)
    }

    static func domain(_ spec: VirtualMachineSpec, managed: Bool = true, running: Bool? = nil, id: Int = 7) -> ObservedDomain {
        let isRunning = running ?? (spec.state == .running)
        var observed = spec
        observed.state = isRunning ? .running : .stopped
        return ObservedDomain(name: spec.name, uuid: "uuid-\(spec.name)", id: isRunning ? id : nil,
                              owner: managed ? OwnershipMarker(resource: spec.name, specHash: spec.specHash) : nil,
                              spec: observed, domainType: "kvm")
    }

    static func recorded(_ spec: VirtualMachineSpec, generation: Int = 1) -> RecordedVM {
        RecordedVM(spec: spec, specHash: spec.specHash, generation: generation)
    }

    static func plan(desired: [VirtualMachineSpec], recorded: [RecordedVM] = [], live: [ObservedDomain] = [],
                     hosts: [String] = ["kvm-01"]) throws -> Plan {
        var byHost = Dictionary(uniqueKeysWithValues: hosts.map { ($0, [ObservedDomain]()) })
        for domain in live { byHost[domain.spec.host, default: []].append(domain) }
        return try Planner.plan(
            desired: desired.map { Located($0, at: here) },
            recorded: Dictionary(uniqueKeysWithValues: recorded.map { ($0.spec.name, $0) }),
            live: byHost)
    }

    struct Case: CustomTestStringConvertible, Sendable {
        var label: String
        var desired: [VirtualMachineSpec]
        var recorded: [RecordedVM] = []
        var live: [ObservedDomain] = []
        var expected: [String: Action]
        var mode: UpdateMode? = nil
        var testDescription: String { label }
    }

    static let cases: [Case] = [
        Case(label: "new VM is created", desired: [vm("a")], expected: ["a": .create]),
        Case(label: "identical VM is a no-op", desired: [vm("a")], recorded: [recorded(vm("a"))],
             live: [domain(vm("a"))], expected: ["a": .noop]),
        Case(label: "memory within the maximum changes live", desired: [vm("a", memory: 256, maxMemory: 512)],
             recorded: [recorded(vm("a", memory: 128, maxMemory: 512))], live: [domain(vm("a", memory: 128, maxMemory: 512))],
             expected: ["a": .update], mode: .live),
        Case(label: "maximum memory on a running VM needs a restart", desired: [vm("a", maxMemory: 512)],
             recorded: [recorded(vm("a"))], live: [domain(vm("a"))], expected: ["a": .update], mode: .restart),
        Case(label: "a stopped VM only gets its config changed", desired: [vm("a", vcpus: 2, state: .stopped)],
             recorded: [recorded(vm("a", state: .stopped))], live: [domain(vm("a", state: .stopped))],
             expected: ["a": .update], mode: .nextBoot),
        Case(label: "a VM to be stopped is an update", desired: [vm("a", state: .stopped)],
             recorded: [recorded(vm("a"))], live: [domain(vm("a"))], expected: ["a": .update], mode: .live),
        Case(label: "removed from manifests and owned: deleted", desired: [], recorded: [recorded(vm("a"))],
             live: [domain(vm("a"))], expected: ["a": .delete]),
        Case(label: "recorded but deleted by hand: created again", desired: [vm("a")], recorded: [recorded(vm("a"))],
             expected: ["a": .create]),
        Case(label: "host changed: replaced", desired: [vm("a", host: "kvm-02")], recorded: [recorded(vm("a"))],
             live: [domain(vm("a"))], expected: ["a": .replace]),
        Case(label: "marker present but not recorded: adopted without change", desired: [vm("a")],
             live: [domain(vm("a"))], expected: ["a": .adopt]),
    ]

    @Test(arguments: cases)
    func plansTheExpectedAction(_ c: Case) throws {
        let plan = try Self.plan(desired: c.desired, recorded: c.recorded, live: c.live, hosts: ["kvm-01", "kvm-02"])
        let actions = Dictionary(uniqueKeysWithValues: plan.changes.map { ($0.name, $0.action) })
        #expect(actions == c.expected)
        if let mode = c.mode {
            #expect(plan.changes.first?.mode == mode)
        }
    }

    @Test func unmanagedDomainsAreReportedAndNeverPlanned() throws {
        let plan = try Self.plan(desired: [], live: [Self.domain(Self.vm("hand-made"), managed: false)])
        #expect(plan.changes.isEmpty)
        #expect(plan.unmanaged == [UnmanagedDomain(host: "kvm-01", name: "hand-made", isRunning: true)])
    }

    @Test func anOwnedDomainThatWasNeverRecordedHereIsNotDeleted() throws {
        // Its marker says vmplan made it, but not from this state: deleting it could destroy
        // another team's VM.
        let plan = try Self.plan(desired: [], live: [Self.domain(Self.vm("elsewhere"))])
        #expect(plan.changes.isEmpty)
    }

    @Test func aDesiredNameTakenByAnUnmanagedDomainFailsThePlan() throws {
        #expect {
            try Self.plan(desired: [Self.vm("db")], live: [Self.domain(Self.vm("db"), managed: false)])
        } throws: { error in
            let text = "\(error)"
            return text.contains("vms.yaml:1:1") && text.contains("'db' already exists on host 'kvm-01' and is not managed by vmplan")
        }
    }

    @Test func driftIsToldApartFromManifestEdits() throws {
        let spec = Self.vm("a", memory: 128, maxMemory: 512)
        var handEdited = spec
        handEdited.memory = .mebibytes(256)
        let plan = try Self.plan(desired: [spec], recorded: [Self.recorded(spec)], live: [Self.domain(handEdited)])
        let diff = try #require(plan.changes.first?.diffs.first)
        #expect(diff.field == "memory")
        #expect(diff.origin == .drift)
        #expect(diff.before == "256MiB")
        #expect(diff.after == "128MiB")

        var edited = spec
        edited.vcpus = 2
        let manifestPlan = try Self.plan(desired: [edited], recorded: [Self.recorded(spec)], live: [Self.domain(spec)])
        #expect(manifestPlan.changes.first?.diffs.map(\.field) == ["vcpus", "maxVcpus"])
        #expect(manifestPlan.changes.first?.diffs.allSatisfy { $0.origin == .manifest } == true)
    }

    @Test func summaryCountsFollowTerraform() throws {
        let plan = try Self.plan(
            desired: [Self.vm("new"), Self.vm("grow", vcpus: 2), Self.vm("moved", host: "kvm-02")],
            recorded: [Self.recorded(Self.vm("grow")), Self.recorded(Self.vm("gone")), Self.recorded(Self.vm("moved"))],
            live: [Self.domain(Self.vm("grow")), Self.domain(Self.vm("gone")), Self.domain(Self.vm("moved"))],
            hosts: ["kvm-01", "kvm-02"])
        #expect(plan.toAdd == 2)
        #expect(plan.toChange == 1)
        #expect(plan.toDestroy == 2)
        #expect(plan.changes.map(\.name) == ["gone", "grow", "new", "moved"])
    }

    @Test func aRecordOnAHostNoLongerDeclaredFailsThePlan() throws {
        #expect(throws: PlanError.self) {
            try Self.plan(desired: [], recorded: [Self.recorded(Self.vm("a", host: "retired"))])
        }
    }

    @Test func aVMOnAnUnobservedHostFailsThePlan() throws {
        #expect(throws: PlanError.self) {
            try Self.plan(desired: [Self.vm("a", host: "nowhere")])
        }
    }
}
