import Reconciler
import Spec

/// An apply's result as Markdown, for a pull-request comment or a CI step summary: success or
/// failure in the title, the failures with their errors first, then what was applied. Values are
/// escaped (`Markdown.escaped`).
public enum ApplyMarkdown {
    /// - Parameters:
    ///   - plan: the plan that was applied; changes it planned that the outcome does not name are
    ///     listed as not attempted.
    ///   - limit: the most UTF-8 bytes to return. When everything does not fit, whole rows are left
    ///     out from the end (applied changes before failures), and counted.
    public static func render(_ outcome: ApplyOutcome, plan: Plan, limit: Int = 60_000) -> String {
        let settled = Set(outcome.applied.map(\.address) + outcome.failed.map(\.change.address))
        let unattempted = plan.changes.filter { $0.isApplied && !settled.contains($0.address) }
        let units = outcome.failed.map { Unit.failed($0.change, $0.error) } + unattempted.map(Unit.unattempted)
            + outcome.applied.filter(\.isChange).map(Unit.applied)
        let recorded = outcome.applied.filter { !$0.isChange }
        let title = "### \(outcome.succeeded ? "✅" : "❌") \(ApplyText.headline(outcome))"
        var head: [String] = []
        if !outcome.succeeded { head = ["", "> [!CAUTION]", "> \(ApplyText.afterFailure)"] }
        let tail = recorded.isEmpty ? [] : ["", "_Recorded without changing the hosts: \(PlanMarkdown.names(recorded))._"]
        return Markdown.fitting(units.count, limit: limit) { kept in
            var lines = [title] + head + sections(units.prefix(kept)) + tail
            if kept < units.count { lines += ["", leftOutLine(units.dropFirst(kept))] }
            return lines.joined(separator: "\n") + "\n"
        } fallback: {
            title + "\n" + (units.isEmpty ? "" : "\n" + leftOutLine(units[...]) + "\n")
        }
    }

    /// A row of the report, in the order shown.
    enum Unit {
        case failed(ResourceChange, String)
        case unattempted(ResourceChange)
        case applied(ResourceChange)

        var section: String {
            switch self {
            case .failed: "Failed"
            case .unattempted: "Not attempted"
            case .applied: "Applied"
            }
        }

        var row: String {
            switch self {
            case .failed(let change, let error):
                "| \(change.action.rawValue) | \(change.kind.rawValue) | \(Markdown.escaped(change.name)) | \(Markdown.escaped(change.host)) | "
                    + "\(Markdown.escaped(error.count > 2_000 ? String(error.prefix(2_000)) + "…" : error)) |"
            case .unattempted(let change), .applied(let change):
                PlanMarkdown.row(change)
            }
        }
    }

    /// Each kind of row under its heading, as a table.
    static func sections(_ units: ArraySlice<Unit>) -> [String] {
        var lines: [String] = []
        var current: String?
        for unit in units {
            if unit.section != current {
                current = unit.section
                let last = unit.section == "Failed" ? "Error" : "Detail"
                lines += ["", "**\(unit.section):**", "", "| Action | Kind | Name | Host | \(last) |", "|---|---|---|---|---|"]
            }
            lines.append(unit.row)
        }
        return lines
    }

    static func leftOutLine(_ leftOut: ArraySlice<Unit>) -> String {
        let bySection = Dictionary(grouping: leftOut, by: \.section)
        let counts = ["Failed", "Not attempted", "Applied"].compactMap { section in
            bySection[section].map { "\($0.count) \(section.lowercased())" }
        }
        return "_\(PlanMarkdown.counted(leftOut.count, "more change")) left out to keep this short (\(counts.joined(separator: ", "))): "
            + "the apply's log names every change._"
    }
}
