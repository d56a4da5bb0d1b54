import Reconciler
import Spec

/// A plan as Markdown for pull-request comments and CI step summaries, in the shape Atlantis and
/// tfcmt users know: a title that warns when anything is destroyed or replaced, destructive
/// changes first in a table, each change's fields and notes folded in `<details>`, and the command
/// that applies the saved plan. Values are escaped (`Markdown.escaped`): none can forge structure.
public enum PlanMarkdown {
    /// - Parameters:
    ///   - savedPlan: the file `vmplan plan --out` wrote; the report then ends with the command that applies it.
    ///   - limit: the most UTF-8 bytes to return (GitHub takes 65,536 per comment). When everything
    ///     does not fit, whole changes are left out from the end (the least destructive), and counted.
    public static func render(_ plan: Plan, savedPlan: String? = nil, limit: Int = 60_000, domainsShown: Int = 5) -> String {
        let changes = reviewOrder(plan.actionable)
        let fixed = Fixed(plan, savedPlan: savedPlan, domainsShown: domainsShown)
        let rows = changes.map(row), blocks = changes.map(details)
        return Markdown.fitting(changes.count, limit: limit) { kept in
            fixed.document(rows: Array(rows.prefix(kept)), blocks: blocks.prefix(kept).flatMap { $0 }, leftOut: changes.dropFirst(kept))
        } fallback: {
            // Even the title and the lists around the table are too long: the title and the count alone.
            fixed.title + "\n" + (changes.isEmpty ? "" : "\n" + leftOutLine(changes[...]) + "\n")
        }
    }

    /// `Plan: 1 to add, 2 to change, 1 to replace, 0 to destroy.` Unlike the text plan's line, a
    /// replace is counted once, as a replace. Forgotten resources stay on their host: not counted.
    public static func summaryLine(_ plan: Plan) -> String {
        let count = { (action: Action) in plan.changes.count { $0.action == action } }
        let imports = count(.import) > 0 ? "\(count(.import)) to import, " : ""
        return "Plan: \(imports)\(count(.create)) to add, \(count(.update) + count(.migrate)) to change, \(count(.replace)) to replace, \(count(.delete)) to destroy."
            + (plan.isPartial ? " \(plan.unknown.count) unknown on unreachable hosts." : "")
    }

    /// Deletes, then replaces, then the rest in apply order: what a reviewer must not miss comes first.
    static func reviewOrder(_ changes: [ResourceChange]) -> [ResourceChange] {
        let rank = { (change: ResourceChange) in change.action == .delete ? 0 : change.action == .replace ? 1 : 2 }
        return changes.enumerated().sorted { (rank($0.element), $0.offset) < (rank($1.element), $1.offset) }.map(\.element)
    }

    /// What is shown whatever the limit: the title and its warning, and what goes around the table.
    struct Fixed {
        var title: String
        var head: [String] = []
        var tail: [String] = []

        init(_ plan: Plan, savedPlan: String?, domainsShown: Int) {
            let destructive = reviewOrder(plan.actionable).filter { $0.action == .delete || $0.action == .replace || $0.dataLoss }
            let losing = destructive.filter(\.dataLoss)
            if !plan.hasChanges {
                title = plan.isPartial ? "### ⚠️ No changes on the hosts that answered; \(plan.unknown.count) unknown."
                    : "### ✅ No changes. The hosts match the manifests."
            } else if !losing.isEmpty {
                title = "### 🛑 DATA LOSS: \(summaryLine(plan))"
                head = ["", "> [!CAUTION]", "> \(counted(losing.count, "change")) destroy\(losing.count == 1 ? "s" : "") data for good: "
                    + names(losing) + ". Check them before applying."]
            } else if !destructive.isEmpty {
                title = "### ⚠️ Destroys or replaces resources. \(summaryLine(plan))"
                let deleted = destructive.filter { $0.action == .delete }
                // A network's replace keeps its definition: it is stopped and started again.
                let replaced = destructive.filter { $0.action == .replace && $0.kind != .network }
                let restarted = destructive.filter { $0.action == .replace && $0.kind == .network }
                head = ["", "> [!WARNING]", "> " + [deleted.isEmpty ? nil : "Destroyed: \(names(deleted)).",
                                                    replaced.isEmpty ? nil : "Replaced (deleted, then created again): \(names(replaced)).",
                                                    restarted.isEmpty ? nil : "Restarted (stopped and started again; the VMs on it lose their connection): \(names(restarted))."]
                    .compactMap { $0 }.joined(separator: " ")]
            } else {
                title = "### \(summaryLine(plan))"
            }
            head += UnreachableHosts.markdown(plan)
            if !plan.warnings.isEmpty {
                tail += ["", "**Warnings:**", ""] + plan.warnings.map { "- \(Markdown.escaped(terminalSafe: $0.rendered(as: "warning")))" }
            }
            tail += quiet(plan)
            tail += Markdown.foreignDomains(unmanaged: plan.unmanaged, orphaned: plan.orphans, shown: domainsShown)
            if let savedPlan, plan.hasChanges || plan.hasRecordUpdates {
                let command = "vmplan apply \(ShellWord.quoted(savedPlan))"
                let fence = String(repeating: "`", count: max(3, longestRun(of: "`", in: command) + 1))
                tail += ["", "Apply exactly this plan (refused if the manifests, the state or the hosts change first):", "",
                         fence + "sh", command, fence]
            }
        }

        func document(rows: [String], blocks: [String], leftOut: ArraySlice<ResourceChange>) -> String {
            var lines = [title] + head
            if !rows.isEmpty {
                lines += ["", "| Action | Kind | Name | Host | Detail |", "|---|---|---|---|---|"] + rows
            }
            lines += blocks + tail
            if !leftOut.isEmpty { lines += ["", leftOutLine(leftOut)] }
            return lines.joined(separator: "\n") + "\n"
        }
    }

    /// Changes that are not shown as changes: recorded only, ignored differences, restarts that wait.
    static func quiet(_ plan: Plan) -> [String] {
        var lines: [String] = []
        let adopted = plan.changes.filter { $0.action == .adopt }
        if !adopted.isEmpty {
            lines += ["", "_To record (vmplan's by their marker; the hosts are not changed): \(names(adopted))._"]
        }
        let ignored = plan.changes.filter { !$0.isChange }.flatMap { change in change.ignored.map { (change, $0) } }
        if !ignored.isEmpty {
            let fields = ignored.map { change, diff in Markdown.escaped("\(change.address).\(diff.field)") }
            lines += ["", "_Ignored differences (lifecycle.ignoreChanges; not acted on): \(fields.joined(separator: ", "))._"]
        }
        let waiting = plan.changes.filter { !$0.isChange && !$0.pendingRestart.isEmpty }
        if !waiting.isEmpty {
            lines += ["", "_Waiting for the next boot (lifecycle.restart: never): \(names(waiting))._"]
        }
        return lines
    }

    /// A change's row: destructive actions in bold.
    static func row(_ change: ResourceChange) -> String {
        let action = change.action == .delete || change.action == .replace ? "**\(change.action.rawValue)**" : change.action.rawValue
        return "| \(action) | \(change.kind.rawValue) | \(Markdown.escaped(change.name)) | \(Markdown.escaped(change.host)) | \(detail(change)) |"
    }

    /// DATA LOSS first, then why, how an update reaches the VM, and what the resource is.
    static func detail(_ change: ResourceChange) -> String {
        var parts = change.dataLoss ? ["**DATA LOSS**"] : []
        parts.append(change.reason.rawValue)
        if let mode = change.mode { parts.append(mode.rawValue) }  // a network's replace restarts it: said too
        if let previous = change.previousHost, previous != change.host { parts.append("from \(Markdown.escaped(previous))") }
        if let summary = change.summary { parts.append(Markdown.escaped(summary)) }
        if change.action == .forget { parts.append("kept on the host") }
        if change.action == .import { parts.append("the host is not changed") }
        return parts.joined(separator: "; ")
    }

    /// One change's fields and notes, folded (open for destructive ones); nothing when it has neither.
    static func details(_ change: ResourceChange) -> [String] {
        guard !change.diffs.isEmpty || !change.notes.isEmpty || !change.pendingRestart.isEmpty else { return [] }
        let what = [change.diffs.isEmpty ? nil : counted(change.diffs.count, "field"),
                    change.notes.isEmpty ? nil : counted(change.notes.count, "note")].compactMap { $0 }
        let open = change.action == .delete || change.action == .replace || change.dataLoss
        let summary = "\(change.action.rawValue) \(Markdown.escaped(change.address.description)) on \(Markdown.escaped(change.host))"
            + (what.isEmpty ? "" : ": " + what.joined(separator: ", "))
        var lines = ["", "<details\(open ? " open" : "")><summary>\(summary)</summary>"]
        if !change.diffs.isEmpty {
            lines += ["", "| Field | Before | After |", "|---|---|---|"]
            lines += change.diffs.map { diff in
                "| \(Markdown.escaped(diff.field))\(diff.origin == .drift ? " (drift)" : "") | \(Markdown.cell(diff.before)) | \(Markdown.cell(diff.after)) |"
            }
        }
        if !change.notes.isEmpty { lines += [""] + change.notes.map { "- \(Markdown.escaped($0))" } }
        if !change.pendingRestart.isEmpty {
            lines += ["", "_After this, waiting for the next boot: \(change.pendingRestart.map(\.rawValue).joined(separator: ", "))._"]
        }
        return lines + ["", "</details>"]
    }

    static func leftOutLine(_ leftOut: ArraySlice<ResourceChange>) -> String {
        let byAction = Dictionary(grouping: leftOut, by: \.action)
        let counts = [Action.delete, .replace, .create, .update, .migrate, .forget, .import].compactMap { action in
            byAction[action].map { "\($0.count) \(action.rawValue)" }
        }
        return "_\(counted(leftOut.count, "more change")) left out to keep this short (\(counts.joined(separator: ", "))): "
            + "`vmplan plan` or `vmplan plan --format json` shows everything._"
    }

    /// `volume scratch`, `web` and `3 more`: the first ten, escaped.
    static func names(_ changes: [ResourceChange]) -> String {
        let shown = changes.prefix(10).map { Markdown.escaped($0.address.description) }
        return (shown + (changes.count > 10 ? ["and \(changes.count - 10) more"] : [])).joined(separator: ", ")
    }

    static func counted(_ count: Int, _ noun: String) -> String { "\(count) \(noun)\(count == 1 ? "" : "s")" }

    static func longestRun(of character: Character, in text: String) -> Int {
        var longest = 0, current = 0
        for each in text {
            current = each == character ? current + 1 : 0
            longest = max(longest, current)
        }
        return longest
    }
}
