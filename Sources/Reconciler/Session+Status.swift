import Drivers
import Foundation
import Spec
import State

extension Session {
    /// `vmplan status`: observes every host that answers and reports each VM of the manifests.
    /// Read-only: nothing is changed on a host and nothing is recorded, so it can run while an
    /// apply holds the lock, as often as anyone likes.
    public func status() async throws -> StatusReport {
        var snapshot: Snapshot
        do {
            snapshot = try await Reconciliation.snapshot(of: manifest, store: store, connect: connect, tolerateUnreachable: true,
                                                             parallelism: parallelism)
        } catch let error as PlanError {
            throw VMPlanError(.planFailed, error.description, cause: error)
        }
        let unreachable = Dictionary(snapshot.unreachable.map { ($0.host, $0) }, uniquingKeysWith: { first, _ in first })
        // Whether each VM is in sync is what a plan made now says (a host that did not answer is
        // left out of it). A declared VM whose domain is not this state's fails any plan; it is
        // shown `Unowned` instead.
        let unowned = Set(snapshot.desired.compactMap { located -> String? in
            let spec = located.value
            guard let domain = snapshot.live[spec.host]?.first(where: { $0.name == spec.name }) else { return nil }
            return StatusReport.VM.status(domain: domain, stateID: snapshot.stateID, guest: nil, failure: nil).0 == .unowned ? spec.name : nil
        })
        snapshot.desired.removeAll { unowned.contains($0.value.name) }
        let changes: [String: ResourceChange]
        let planProblem: String?
        do {
            let plan = try snapshot.plan(PlanOptions())
            changes = Dictionary(plan.changes.filter { $0.kind == .virtualMachine }.map { ($0.name, $0) }, uniquingKeysWith: { $1 })
            planProblem = nil
        } catch {
            (changes, planProblem) = ([:], error.description)
        }
        let failures = try lastFailures()

        var vms: [StatusReport.VM] = []
        for located in manifest.virtualMachines {
            let spec = located.value
            var vm = StatusReport.VM(name: spec.name, host: spec.host, status: .unknown, power: nil, agentConnected: nil, addresses: [],
                                     pendingRestart: [], sync: .unknown, drift: nil, message: nil)
            if let failure = unreachable[spec.host] {
                vm.message = "host \(spec.host) did not answer: \(failure.reason)"
                vms.append(vm)
                continue
            }
            let domain = snapshot.live[spec.host]?.first { $0.name == spec.name }
            var guest: GuestStatus?
            if domain != nil, let driver = snapshot.drivers[spec.host] {
                guest = try? await driver.guestStatus(spec.name)
            }
            (vm.status, vm.message) = StatusReport.VM.status(domain: domain, stateID: snapshot.stateID, guest: guest,
                                                              failure: failures[spec.name])
            vm.power = guest?.power ?? domain.map { $0.isRunning ? .running : .shutOff }
            vm.agentConnected = guest?.agentConnected
            vm.addresses = guest?.addresses ?? []
            if let change = changes[spec.name] {
                vm.sync = change.isChange ? .outOfSync : .synced
                vm.pendingRestart = change.pendingRestart.map(\.rawValue)
                if change.isChange {
                    let fields = change.action == .create ? [] : change.diffs.map(\.field)
                    vm.drift = change.action.rawValue + (fields.isEmpty ? "" : ": " + fields.joined(separator: ", "))
                }
            }
            vms.append(vm)
        }
        let hostOrder = Dictionary(manifest.hosts.enumerated().map { ($1.value.name, $0) }, uniquingKeysWith: { first, _ in first })
        vms.sort { (hostOrder[$0.host] ?? .max, $0.name) < (hostOrder[$1.host] ?? .max, $1.name) }
        return StatusReport(createdAt: Date(), manifests: manifestsPath, state: statePath, vms: vms, planError: planProblem,
                            unknownHosts: snapshot.unreachable.map { .init(host: $0.host, uri: $0.uri, error: $0.reason) })
    }

    /// VMs whose latest apply or reconcile that touched them failed on them, with the error.
    private func lastFailures() throws -> [String: String] {
        var decided: Set<String> = []
        var failures: [String: String] = [:]
        for run in try store.runs(limit: 50) where run.kind == .apply || run.kind == .reconcile {
            guard let id = run.id else { continue }
            let entries = try store.journal(runID: id).filter { $0.kind == ResourceKind.virtualMachine.rawValue }
            for (name, touched) in Dictionary(grouping: entries, by: \.name) where !decided.contains(name) {
                decided.insert(name)
                if let failed = touched.last(where: { $0.status == .failed }) {
                    failures[name] = "\(failed.action) failed in run \(id): \(failed.error ?? "no error recorded")"
                }
            }
        }
        return failures
    }
}
