import Testing
import Drivers
import Reconciler
import Spec

/// Networks in `vmplan drift`: fields, running state and marker against the record.
@Suite("Drift check: networks")
struct NetworkDriftTests {
    typealias N = NetworkKindPlannerTests

    static func report(desired: [NetworkSpec], recorded: [NetworkSpec], live: [ObservedNetwork]) -> DriftReport {
        var snapshot = DriftCheckTests.snapshot(desired: [], recorded: [], live: [])
        snapshot.stateID = N.state
        snapshot.networks = NetworkSnapshot(networks: desired.map { Located($0, at: N.here) },
                                            recorded: Dictionary(uniqueKeysWithValues: recorded.map { ($0.name, $0) }), live: ["kvm-01": live])
        return DriftCheckTests.report(snapshot)
    }

    @Test func aNetworkChangedOrStoppedByHandIsDriftAndAManifestEditIsPending() throws {
        var edited = N.lab(hosts: [N.host(5)])
        edited.mtu = 1400
        let report = Self.report(desired: [N.lab(hosts: [N.host(6)])], recorded: [N.lab(hosts: [N.host(5)])],
                                 live: [N.observed(edited, active: false)])
        let lab = try DriftCheckTests.entry(report, "lab")
        #expect(lab.kind == .network && lab.status == .drifted)
        #expect(lab.fields == [FieldDiff(field: "mtu", before: nil, after: "1400", origin: .drift),
                               FieldDiff(field: "active", before: "true", after: "false", origin: .drift)])
        #expect(lab.pendingAction == .update)
        #expect(lab.pending.map(\.field) == ["dhcp.hosts"])
    }

    @Test func inSyncMissingAndUnmarked() throws {
        #expect(try DriftCheckTests.entry(Self.report(desired: [N.lab()], recorded: [N.lab()], live: [N.observed(N.lab())]), "lab").status == .inSync)
        #expect(try DriftCheckTests.entry(Self.report(desired: [N.lab()], recorded: [N.lab()], live: []), "lab").status == .missing)
        let unmarked = try DriftCheckTests.entry(Self.report(desired: [N.lab()], recorded: [N.lab()], live: [N.observed(N.lab(), owner: nil)]), "lab")
        #expect(unmarked.fields == [FieldDiff(field: "owner", before: "this state", after: "no vmplan marker", origin: .drift)])
        #expect(try DriftCheckTests.entry(Self.report(desired: [N.lab()], recorded: [], live: []), "lab").status == .notApplied)
    }
}
