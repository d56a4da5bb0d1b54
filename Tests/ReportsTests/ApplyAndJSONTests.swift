import Foundation
import Testing
import Drivers
import Reconciler
import Reports
import Spec

/// Apply progress lines, the outcome, and the JSON of plans for every kind (no libvirt).
@Suite("Reports: apply text and plan JSON")
struct ApplyAndJSONTests {
    typealias T = PlanTextTests

    static let vmChange = ResourceChange(ResourceAddress(.virtualMachine, "web", host: "kvm-01"), action: .create, reason: .new,
                                         effect: .vm([.define(T.vm("web")), .start]), after: .virtualMachine(T.vm("web")))
    static let volumeChange = ResourceChange(ResourceAddress(.volume, "disk", host: "kvm-01"), action: .update, reason: .fieldsDiffer,
                                             effect: .growVolume(pool: "p", to: .gibibytes(2)))

    @Test func progressLinesNameEveryKindTheSameWay() {
        #expect(ApplyText.line(.started(Self.vmChange)) == "web: Creating...")
        #expect(ApplyText.line(.progress(Self.vmChange, "web: shutting down (waiting up to 120s)")) == "web: shutting down (waiting up to 120s)")
        #expect(ApplyText.line(.finished(Self.volumeChange, .milliseconds(1500))) == "volume disk: Modifications complete after 1.5s")
        #expect(ApplyText.line(.failed(Self.volumeChange, "boom")) == "volume disk: Modifying failed")
    }

    @Test func outcomesCountAndListFailuresInApplyOrder() {
        var outcome = ApplyOutcome()
        outcome.applied = [Self.vmChange]
        #expect(ApplyText.outcome(outcome).output == ["", "Apply complete! Resources: 1 added, 0 changed, 0 destroyed."])
        outcome.failed = [(Self.volumeChange, "pool p is full")]
        let (output, errors) = ApplyText.outcome(outcome)
        #expect(output.isEmpty)
        #expect(errors == ["", "Apply failed: 1 change did not complete. Resources: 1 added, 0 changed, 0 destroyed.",
                           "error: volume disk (kvm-01): pool p is full",
                           "The failed changes are recorded; the next plan re-observes the hosts and shows what is still to do."])
    }

    static func report(_ plan: Plan) throws -> [String: Any] {
        let snapshot = Snapshot(desired: [], recorded: [:], live: [:], drivers: [:], rules: [:])
        let report = PlanReport(kind: "plan", plan: plan, inputs: snapshot.inputs, options: PlanOptions(), manifests: "/m", state: "/m/.vmplan/state.db")
        return try #require(try JSONSerialization.jsonObject(with: Data(report.json().utf8)) as? [String: Any])
    }

    @Test func oneChangesArrayCarriesEveryKindWithItsReason() throws {
        let device = RecordedDevice(uuid: "u-1", host: "kvm-01", type: "nvidia-222", parent: T.parent)
        let plan = Plan(changes: [
            Self.vmChange,
            ResourceChange(device.address, action: .delete, reason: .unused, effect: .removeMediatedDevice(libvirtName: "mdev_u_1"),
                           before: .mediatedDevice(device), summary: device.summary, usedBy: "desk"),
            ResourceChange(ResourceAddress(.volume, "keep", host: "kvm-01"), action: .forget, reason: .removedFromManifests, effect: .recordOnly),
            Self.volumeChange,
            ResourceChange(ResourceAddress(.virtualMachine, "quiet", host: "kvm-01"), action: .noop, reason: .inSync, effect: .none),
        ])
        let document = try Self.report(plan)
        #expect(document["formatVersion"] as? Int == 2)
        #expect(document["deviceChanges"] == nil, "version 2 has one changes array")
        #expect(document["summary"] as? [String: Int] == ["add": 1, "change": 1, "destroy": 1])
        let changes = try #require(document["changes"] as? [[String: Any]])
        #expect(changes.map { $0["kind"] as? String } == ["Volume", "VirtualMachine", "MediatedDevice", "Volume"], "apply order, no-ops left out")
        #expect(changes.map { $0["action"] as? String } == ["update", "create", "delete", "forget"])
        #expect(changes.map { $0["reason"] as? String } == ["fields-differ", "new", "unused", "removed-from-manifests"])
        let mdev = changes[2]
        #expect(mdev["name"] as? String == "u-1" && mdev["usedBy"] as? String == "desk" && mdev["summary"] as? String == "nvidia-222 on 0000:3b:00.0")
        #expect(changes.allSatisfy { $0["dataLoss"] as? Bool == false && $0["notes"] is [String] && $0["fields"] is [Any] })
    }

    @Test func aSavedPlanRoundTripsAndVersionOneIsRefused() throws {
        let snapshot = Snapshot(desired: [], recorded: [:], live: [:], drivers: [:], rules: [:])
        let report = PlanReport(kind: "plan", plan: Plan(changes: [Self.vmChange]), inputs: snapshot.inputs, options: PlanOptions(targets: ["web"]),
                                manifests: "/m", state: "/s")
        let read = try #require(try PlanReport.savedPlan(from: Data(report.json().utf8)))
        #expect(read.changes == report.changes && read.options.targets == ["web"])
        #expect(try PlanReport.savedPlan(from: Data("kind: Host".utf8)) == nil, "a manifest is not a plan")
        #expect {
            try PlanReport.savedPlan(from: Data(#"{"format": "vmplan-plan", "formatVersion": 1}"#.utf8))
        } throws: { error in
            "\(error)" == "the plan file has format version 1; this vmplan reads version 2 only: make the plan again (vmplan plan --out FILE)"
        }
    }
}
