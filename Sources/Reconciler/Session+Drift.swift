import Drivers
import Foundation
import Spec
import State

extension Session {
    /// `vmplan drift`: observes every host that answers, compares, and records the check and each
    /// drift's sightings in the state. Changes nothing on a host.
    public func drift() async throws -> DriftReport {
        let runID = try store.beginRun(.drift, actor: actor, commit: commit)
        return try await recording(runID) {
            let snapshot: Snapshot
            do {
                snapshot = try await Reconciliation.snapshot(of: manifest, store: store, connect: connect, tolerateUnreachable: true,
                                                             parallelism: parallelism)
            } catch let error as PlanError {
                throw VMPlanError(.planFailed, error.description, cause: error)
            }
            var report = DriftCheck.report(of: snapshot, hosts: manifest.hosts, policies: manifest.driftPolicies.map(\.value),
                                           manifests: manifestsPath, state: statePath)
            let observations = report.resources.flatMap { entry in
                entry.fields.map { DriftObservation(kind: entry.kind.rawValue, name: entry.name, host: entry.host, field: $0.field,
                                                    recorded: $0.before, live: $0.after) }
            }
            let checked = Set(manifest.hosts.map(\.value.name)).subtracting(snapshot.unreachable.map(\.host))
            let open = try store.recordDriftCheck(observations, checkedHosts: checked, at: report.createdAt)
            var firstSeen: [ResourceAddress: Date] = [:]
            for record in open {
                guard let kind = ResourceKind(rawValue: record.kind) else { continue }
                let address = ResourceAddress(kind, record.name, host: record.host)
                firstSeen[address] = min(firstSeen[address] ?? record.firstSeen, record.firstSeen)
            }
            for index in report.resources.indices where !report.resources[index].fields.isEmpty {
                report.resources[index].firstSeen = firstSeen[report.resources[index].address]
            }
            let summary = report.summary
            try store.finishRun(runID, result: report.unknownHosts.isEmpty ? .succeeded : .partial,
                                summary: "\(summary.drifted) drifted, \(summary.missing) missing, \(summary.pending) pending, "
                                    + "\(summary.unknown) unknown, \(summary.inSync) in sync")
            return report
        }
    }
}
