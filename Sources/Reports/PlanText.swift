import Drivers
import Reconciler
import Spec
import State

/// A plan for people, in the shape Terraform users know: `+ ~ - -/+`, a line per field, a summary.
public enum PlanText {
    /// - Parameter unmanagedShown: how many unmanaged domains to name per host; the rest are counted.
    /// Every value that comes from a manifest or a host is shown `terminalSafe`: no value can draw
    /// a line of its own.
    public static func render(_ plan: Plan, unmanagedShown: Int = 10) -> String {
        var lines = UnreachableHosts.text(plan)
        if !plan.unmanaged.isEmpty {
            lines += renderUnmanaged(plan.unmanaged, shown: unmanagedShown)
            lines.append("")
        }
        if !plan.orphans.isEmpty {
            lines.append("Domains with vmplan's marker that no manifest names and this state did not record (left alone; "
                + "another state's, or left behind by one):")
            lines += plan.orphans.map { orphan in
                "    \(orphan.host): \(orphan.name.terminalSafe) (\(orphan.isRunning ? "running" : "shut off")"
                    + (orphan.ownerState.map { ", state \($0.terminalSafe)" } ?? "") + ")"
            }
            lines.append("")
        }
        if !plan.warnings.isEmpty {
            lines += plan.warnings.map { $0.rendered(as: "warning") }
            lines.append("")
        }
        let quiet = plan.changes.filter { !$0.isChange }
        let ignored = quiet.filter { !$0.ignored.isEmpty }
        if !ignored.isEmpty {
            lines.append("Ignored differences (lifecycle.ignoreChanges; not acted on):")
            for change in ignored {
                for diff in change.ignored {
                    lines.append("    \(change.name).\(diff.field): \(shown(diff.before)) on the host, \(shown(diff.after)) in the manifests")
                }
            }
            lines.append("")
        }
        let waiting = quiet.filter { !$0.pendingRestart.isEmpty }
        if !waiting.isEmpty {
            lines.append("Waiting for the next boot (lifecycle.restart: never; the config already has the new value):")
            for change in waiting {
                lines.append("    \(change.name): \(change.pendingRestart.map(\.rawValue).joined(separator: ", "))")
            }
            lines.append("")
        }
        let adopted = plan.changes.filter { $0.action == .adopt }
        if !adopted.isEmpty {
            lines.append("To record (vmplan's by their marker, not yet in this state; the hosts are not changed):")
            lines += adopted.map { "    \($0.address) (\($0.host))" }
            lines.append("")
        }
        guard plan.hasChanges else {
            lines.append(plan.isPartial ? "No changes on the hosts that answered. \(plan.summary)" : "No changes. The hosts match the manifests.")
            return lines.joined(separator: "\n")
        }
        lines.append("vmplan will perform the following actions:")
        lines.append("")
        // In the order apply runs them (ApplyOrder).
        for change in plan.actionable {
            lines += render(change)
            lines.append("")
        }
        lines.append(plan.summary)
        return lines.joined(separator: "\n")
    }

    /// A fleet host can carry thousands of foreign domains: name a few per host, count the rest.
    public static func renderUnmanaged(_ domains: [UnmanagedDomain], shown: Int) -> [String] {
        ["Unmanaged domains (not created by vmplan; never changed or deleted):"]
            + DomainsByHost.group(domains, shown: shown).map { group in
                let more = group.more > 0 ? ", and \(group.more) more (--show-unmanaged lists them)" : ""
                return "    \(group.host): \(group.shown.map(\.shownWithState).joined(separator: ", "))\(more)"
            }
    }

    /// A value as plans show it: `-` for none, control characters and newlines written out.
    static func shown(_ value: String?) -> String { value?.terminalSafe ?? "-" }

    public static func symbol(_ action: Action) -> String {
        switch action {
        case .create: "+"
        case .update: "~"
        case .migrate: "~>"
        case .replace: "-/+"
        case .delete, .forget: "-"
        // Terraform's symbol for reading in what exists.
        case .import: "<="
        case .adopt, .noop: " "
        }
    }

    /// One change: its header, the notes, then a line per field.
    public static func render(_ change: ResourceChange) -> [String] {
        var lines = ["  \(symbol(change.action)) \(change.address) (\(headerDetail(change)))"]
        lines += change.notes.map { "      # \($0.terminalSafe)" }
        if change.kind == .virtualMachine, !change.pendingRestart.isEmpty {
            lines.append("      # after this, waiting for the next boot: \(change.pendingRestart.map(\.rawValue).joined(separator: ", "))")
        }
        let width = change.diffs.map(\.field.count).max() ?? 0
        for diff in change.diffs {
            let name = diff.field.padding(toLength: width, withPad: " ", startingAt: 0)
            let drift = diff.origin == .drift ? "   (drift)" : ""
            switch (diff.before, diff.after) {
            case (nil, let after?): lines.append("      + \(name) = \(after.terminalSafe)")
            case (let before?, nil): lines.append("      - \(name) = \(before.terminalSafe)")
            case (let before?, let after?): lines.append("      ~ \(name) = \(before.terminalSafe) -> \(after.terminalSafe)\(drift)")
            case (nil, nil): break
            }
        }
        return lines
    }

    /// What goes in parentheses after the name: the mode, the reason for a replace, the host; for
    /// storage, networks and mdevs their summary (a network's with its mode), and DATA LOSS in capitals.
    public static func headerDetail(_ change: ResourceChange) -> String {
        if change.action == .forget { return change.reason == .hostChanged ? "kept on \(change.host); vmplan forgets it there" : "kept on the host; vmplan forgets it" }
        if change.action == .import { return "import: \(change.kind == .virtualMachine ? change.host : change.summary ?? change.host); the host is not changed" }
        if change.kind == .virtualMachine {
            switch change.action {
            case .update: return change.mode?.rawValue ?? UpdateMode.nextBoot.rawValue
            case .replace: return change.reason == .hostChanged ? "replace: host changed" : "replace: requested"
            case .migrate: return "migrate: \(change.previousHost ?? "?") -> \(change.host)"
            case .delete: return change.previousHost ?? change.host
            default: return change.host
            }
        }
        let summary = change.summary ?? change.host
        // A network update is live or restarts the network: as plain as a VM's mode.
        if change.kind == .network, let mode = change.mode { return "\(mode.rawValue): \(summary)" }
        switch change.action {
        case .migrate: return "migrate: \(change.previousHost ?? "?") -> \(change.host); \(summary)"
        case .delete where change.dataLoss: return "DATA LOSS: reclaim: delete; \(summary)"
        case .create where change.dataLoss: return "DATA LOSS: build: true erases its devices; \(summary)"
        default: return change.kind == .mediatedDevice ? "\(summary), host \(change.host)" : summary
        }
    }
}

extension PlanText {
    /// Said before a plan whose state has journal entries an earlier apply left pending, or while
    /// an apply holds the lock (its pending entries are then changes in progress).
    public static func interrupted(_ entries: [JournalEntry], runningApply: Session.Planned.RunningApply? = nil) -> String? {
        func changes(_ entries: [JournalEntry]) -> String {
            "\(entries.count) change\(entries.count == 1 ? "" : "s") (\(entries.map(\.name).joined(separator: ", ")))"
        }
        if let running = runningApply {
            let begun = running.inProgress.isEmpty ? "" : ", and has begun \(changes(running.inProgress)) it has not finished"
            return "An apply is running now: \(running.holder)\(begun). This plan shows what the hosts show at this moment; "
                + "plan again once that apply has finished."
        }
        guard !entries.isEmpty else { return nil }
        return "An earlier apply stopped before finishing \(changes(entries)); this plan starts from what the hosts show now."
    }
}
