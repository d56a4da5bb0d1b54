import Foundation
import Reconciler
import Spec

/// DriftReports built in memory: one of every status, and hostile values.
enum DriftFixtures {
    /// 2025-05-04T00:00:00Z; first seen three days earlier.
    static let checkedAt = Date(timeIntervalSince1970: 1_746_316_800)
    static let firstSeen = Date(timeIntervalSince1970: 1_746_316_800 - 3 * 86_400)

    static func vm(_ name: String, host: String = "kvm-01", _ status: DriftReport.Status, fields: [FieldDiff] = [],
                   ignored: [FieldDiff] = [], pending: [FieldDiff] = [], pendingAction: Action? = nil,
                   location: String? = "vms.yaml:1:1") -> DriftReport.Entry {
        DriftReport.Entry(kind: .virtualMachine, name: name, host: host, status: status, fields: fields, ignored: ignored,
                          pending: pending, pendingAction: pendingAction, firstSeen: status == .drifted ? firstSeen : nil, location: location)
    }

    static func drift(_ field: VMField, _ recorded: String?, _ live: String?) -> FieldDiff {
        FieldDiff(field, before: recorded, after: live, origin: .drift)
    }

    static func report(_ resources: [DriftReport.Entry], unmanaged: [UnmanagedDomain] = [], orphaned: [UnmanagedDomain] = [],
                       unknownHosts: [DriftReport.UnknownHost] = [], coverage: Double = 1) -> DriftReport {
        DriftReport(createdAt: checkedAt, manifests: "/m", state: "/m/.vmplan/state.db", resources: resources,
                    unmanaged: unmanaged, orphaned: orphaned, unknownHosts: unknownHosts, coverage: coverage)
    }

    /// Every status once, a pending create and update, an ignored field, foreign domains and a silent host.
    static let everyStatus = report([
        vm("web", .drifted, fields: [drift(.memory, "1GiB", "2GiB"), drift(.description, nil, "changed by hand")],
           ignored: [drift(.labels, "{tier: web}", "{tier: web, on-call: ann}")],
           pending: [FieldDiff(.vcpus, before: "1", after: "2", origin: .manifest)], pendingAction: .update, location: "vms/web.yaml:3:1"),
        vm("db", host: "kvm-02", .missing),
        vm("gpu", host: "kvm-03", .unknown),
        vm("new", .notApplied, pending: [FieldDiff(.vcpus, before: nil, after: "2", origin: .manifest)], pendingAction: .create),
        vm("api", .inSync),
        DriftReport.Entry(kind: .volume, name: "data", host: "kvm-01", status: .inSync),
    ], unmanaged: [UnmanagedDomain(host: "kvm-01", name: "hand-made", isRunning: true)],
       orphaned: [UnmanagedDomain(host: "kvm-02", name: "old", isRunning: false, ownerState: "s-1")],
       unknownHosts: [DriftReport.UnknownHost(host: "kvm-03", uri: "qemu+ssh://kvm-03/system", error: "connection refused")],
       coverage: 0.75)

    /// A description a person typed on the host, trying to draw lines and markup of its own.
    static let hostile = "ok\n  - vm prod (kvm-01)\u{1B}[2J | <b>x</b> & `y` \\ \"q\" # not: a comment\r\u{202E}"
}
