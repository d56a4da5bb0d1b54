import Drivers
import Foundation
import Spec
import State

extension ImportDraft {
    /// Proves the draft before anything is written: loads the manifests with the draft's files, as
    /// `vmplan plan` would, plans the imported VMs and refuses each domain whose manifest does not
    /// load or whose plan is anything but its import (with the differing fields). A Network document
    /// that fails so is taken back instead, and its NICs use the network by name. Repeats until what
    /// is left plans cleanly.
    /// - Parameters:
    ///   - manifestFiles: the manifests the draft joins (those at PATH).
    ///   - directory: where the draft's files go, as locations name them.
    /// - Returns: the draft left, and the plan over it (nil when no domain is left).
    public func checked(manifestFiles: [(path: String, text: String)], directory: String, store: any StateStore,
                        connect: @escaping Reconciliation.Connector) async throws -> (draft: ImportDraft, plan: Plan?) {
        var draft = self
        while !draft.domains.isEmpty {
            let written = draft.files.map { (path: (directory as NSString).appendingPathComponent($0.path), text: $0.text) }
            let manifest: Manifest
            do {
                manifest = try ManifestLoader.load(files: manifestFiles + written)
            } catch let error as ManifestError {
                try draft.refuse(error.diagnostics, directory: directory, what: "its manifest does not load")
                continue
            }
            let snapshot = try await Reconciliation.snapshot(of: manifest, store: store, connect: connect)
            let plan: Plan
            do {
                plan = try snapshot.plan(PlanOptions(targets: Set(draft.domains.map(\.name))))
            } catch {
                try draft.refuse(error.problems, directory: directory, what: "a plan over its manifest fails")
                continue
            }
            let extra = plan.changes.filter { $0.isChange && $0.action != .import }
            guard !extra.isEmpty else { return (draft, plan) }
            for change in extra {
                let diffs = change.diffs.map { "\($0.field) \($0.before ?? "-") -> \($0.after ?? "-")" }
                let what = "a plan over its manifest would also \(change.action.rawValue) \(change.address)"
                    + (diffs.isEmpty ? "" : " (\(diffs.joined(separator: ", ")))") + (change.notes.first.map { ": \($0)" } ?? "")
                if change.kind == .network, draft.networks.contains(where: { $0.spec.name == change.name }) {
                    draft.leaveNetwork(change.name, reason: what)
                    continue
                }
                let names = draft.domains(using: change)
                guard !names.isEmpty else { throw VMPlanError(.planFailed, "error: \(what), which no imported domain explains; nothing was written") }
                draft.refuse(names, reason: what)
            }
        }
        return (draft, nil)
    }

    /// Refuses the domains that `diagnostics` locate in their files; a problem elsewhere (in the
    /// manifests at PATH) fails the import.
    private mutating func refuse(_ diagnostics: [Diagnostic], directory: String, what: String) throws {
        var attributed = false
        for diagnostic in diagnostics {
            let file = diagnostic.location.map { ($0.file as NSString).lastPathComponent }
            let inDirectory = diagnostic.location.map { ($0.file as NSString).deletingLastPathComponent == (directory as NSString).standardizingPath
                || ($0.file as NSString).deletingLastPathComponent == directory } ?? false
            if inDirectory, let network = networks.first(where: { $0.file == file }) {
                attributed = true
                leaveNetwork(network.spec.name, reason: "\(what): \(diagnostic.message)")
                continue
            }
            let names = !inDirectory ? [] : domains.filter { $0.file == file }.map(\.name)
                + pools.filter { $0.file == file }.flatMap { pool in domains.filter { $0.pools.contains(pool.spec.name) }.map(\.name) }
            guard !names.isEmpty else { continue }
            attributed = true
            refuse(names, reason: "\(what): \(diagnostic.message)")
        }
        guard attributed else {
            throw VMPlanError(.planFailed, (diagnostics.map(\.description) + ["Nothing was written."]).joined(separator: "\n"))
        }
    }

    private mutating func refuse(_ names: [String], reason: String) {
        for name in Set(names).sorted() {
            refused.append(Left(name: name, reason: reason))
        }
        domains.removeAll { names.contains($0.name) }
    }

    /// The imported domains a change is about: the VM itself, the VMs of a volume or a pool, an mdev's user.
    private func domains(using change: ResourceChange) -> [String] {
        switch change.kind {
        case .virtualMachine: domains.filter { $0.name == change.name }.map(\.name)
        case .volume: domains.filter { $0.spec.disks.contains { $0.volume == change.name } }.map(\.name)
        case .storagePool: domains.filter { $0.pools.contains(change.name) }.map(\.name)
        case .mediatedDevice: change.usedBy.map { [$0] } ?? []
        case .network: domains.filter { ($0.spec.networks ?? []).contains { $0.source == .network(change.name) } }.map(\.name)
        case .host, .driftPolicy: []
        }
    }
}
