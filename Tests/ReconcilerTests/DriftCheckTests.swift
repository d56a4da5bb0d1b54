import Foundation
import Testing
import Drivers
import Reconciler
import Spec

/// Drift, missing, pending and unknown, from views built in memory.
@Suite("Drift check")
struct DriftCheckTests {
    typealias P = PlannerTests

    static func snapshot(desired: [VirtualMachineSpec], recorded: [VirtualMachineSpec], live: [ObservedDomain],
                         unreachable: [String] = []) -> Snapshot {
        var byHost: [String: [ObservedDomain]] = ["kvm-01": []]
        for domain in live { byHost[domain.spec.host, default: []].append(domain) }
        for host in unreachable { byHost[host] = nil }
        var snapshot = Snapshot(desired: desired.map { Located($0, at: P.here) },
                                recorded: Dictionary(uniqueKeysWithValues: recorded.map { ($0.name, P.recorded($0)) }),
                                live: byHost, drivers: [:], rules: [:])
        snapshot.unreachable = unreachable.map { HostFailure(host: $0, uri: "qemu+tcp://127.0.0.1:1/system", reason: "connection refused") }
        return snapshot
    }

    static func report(_ snapshot: Snapshot, policies: [DriftPolicySpec] = []) -> DriftReport {
        DriftCheck.report(of: snapshot, hosts: [], policies: policies, manifests: "/m", state: "/s")
    }

    static func entry(_ report: DriftReport, _ name: String) throws -> DriftReport.Entry {
        try #require(report.resources.first { $0.name == name })
    }

    @Test func aHandChangeIsDriftWithRecordedAndLiveValues() throws {
        let report = Self.report(Self.snapshot(desired: [P.vm("web")], recorded: [P.vm("web")], live: [P.domain(P.vm("web", memory: 256))]))
        let web = try Self.entry(report, "web")
        #expect(web.status == .drifted && !web.isPending)
        #expect(web.fields == [FieldDiff(.memory, before: "128MiB", after: "256MiB", origin: .drift),
                               FieldDiff(.maxMemory, before: "128MiB", after: "256MiB", origin: .drift)])
        #expect(report.summary.drifted == 1 && report.hasDrift)
    }

    @Test func aManifestEditNotAppliedIsPendingNotDrift() throws {
        let report = Self.report(Self.snapshot(desired: [P.vm("web", vcpus: 2)], recorded: [P.vm("web")], live: [P.domain(P.vm("web"))]))
        let web = try Self.entry(report, "web")
        #expect(web.status == .inSync && web.pendingAction == .update)
        #expect(web.pending == [FieldDiff(.vcpus, before: "1", after: "2", origin: .manifest), FieldDiff(.maxVcpus, before: "1", after: "2", origin: .manifest)])
        #expect(!report.hasDrift && report.summary.pending == 1)
    }

    @Test func missingUnknownNotAppliedAndOwnership() throws {
        let theirs = { () -> ObservedDomain in
            var domain = P.domain(P.vm("taken"))
            domain.owner?.state = "state-b"
            return domain
        }()
        var snapshot = Self.snapshot(desired: [P.vm("gone"), P.vm("new"), P.vm("far", host: "kvm-02"), P.vm("taken")],
                                     recorded: [P.vm("gone"), P.vm("far", host: "kvm-02"), P.vm("taken")],
                                     live: [theirs, P.domain(P.vm("hand-made"), managed: false)], unreachable: ["kvm-02"])
        snapshot.stateID = "state-a"
        let report = Self.report(snapshot)
        #expect(try Self.entry(report, "gone").status == .missing)
        #expect(try Self.entry(report, "new").status == .notApplied && (try Self.entry(report, "new").pendingAction) == .create)
        #expect(try Self.entry(report, "far").status == .unknown)
        #expect(try Self.entry(report, "taken").fields.first?.after == "state state-b")
        #expect(report.unmanaged.map(\.name) == ["hand-made"])
        #expect(report.unknownHosts.map(\.host) == ["kvm-02"])
        #expect(report.summary.coverage == 0, "neither domain on the answering host is this state's")
        #expect((report.summary.missing, report.summary.unknown, report.summary.drifted) == (1, 1, 1))
    }

    @Test func ignoredDifferencesAreCountedNotReported() throws {
        var spec = P.vm("web")
        spec.labels = ["tier": "web"]
        var handEdited = spec
        handEdited.description = "edited by hand"
        handEdited.memory = .mebibytes(192)
        handEdited.maxMemory = .mebibytes(192)
        let policy = DriftPolicySpec(name: "noise", selector: ["tier": "web"], ignore: [.description])
        var ignoring = spec
        ignoring.lifecycle.ignoreChanges = [.memory, .maxMemory]
        let report = Self.report(Self.snapshot(desired: [ignoring], recorded: [ignoring], live: [P.domain(handEdited)]), policies: [policy])
        let web = try Self.entry(report, "web")
        #expect(web.status == .inSync)
        #expect(Set(web.ignored.map(\.field)) == ["memory", "maxMemory", "description"])
        #expect(report.summary.ignored == 3)
        let unselected = Self.report(Self.snapshot(desired: [spec], recorded: [spec], live: [P.domain(handEdited)]),
                                     policies: [DriftPolicySpec(name: "db", selector: ["tier": "db"], ignore: [.description])])
        #expect(try Self.entry(unselected, "web").fields.map(\.field).contains("description"))
    }
}
