import Foundation
import Reconciler
import Spec

/// `vmplan drift` for people: the summary, a table of what is not in sync, the drifted fields,
/// then what is only pending in the manifests, hosts that did not answer and foreign domains.
/// Every value from a manifest, the state or a host is shown `terminalSafe`.
public enum DriftText {
    public static func render(_ report: DriftReport, domainsShown: Int = 10) -> String {
        var lines = [summaryLine(report.summary), ""]
        let notInSync = report.resources.filter { $0.status != .inSync }
        if notInSync.isEmpty {
            lines.append("No drift: every resource on the hosts that answered matches what vmplan recorded.")
        } else {
            lines += TextTable.lines([["STATUS", "KIND", "NAME", "HOST", "FIRST SEEN"]] + notInSync.map { entry in
                [entry.status.rawValue, entry.kind.rawValue, entry.name.terminalSafe, entry.host.terminalSafe,
                 firstSeen(entry, at: report.createdAt) ?? "-"]
            }, indent: "  ")
        }
        let changed = report.resources.filter { !$0.fields.isEmpty || !$0.ignored.isEmpty }
        if !changed.isEmpty {
            lines += ["", "Changed on the hosts since vmplan recorded them (recorded -> live):"]
            for entry in changed {
                lines.append("  \(entry.fields.isEmpty ? " " : "~") \(entry.address) (\(entry.host.terminalSafe))")
                lines += fieldLines(entry.fields + entry.ignored, ignoredFrom: entry.fields.count, after: "live")
            }
        }
        let pending = report.resources.filter(\.isPending)
        if !pending.isEmpty {
            lines += ["", "Manifest changes not applied yet (not drift; `vmplan plan` shows what an apply would do):"]
            for entry in pending {
                let action = entry.pendingAction ?? .noop
                lines.append("  \(PlanText.symbol(action)) \(entry.address) (\(entry.host.terminalSafe), \(action.rawValue))")
                lines += fieldLines(entry.pending, ignoredFrom: entry.pending.count, after: "manifests")
            }
        }
        if !report.unknownHosts.isEmpty {
            lines += ["", "Hosts that could not be checked (their resources are unknown):"]
            lines += report.unknownHosts.map { "    \($0.host.terminalSafe) (\($0.uri.terminalSafe)): \($0.error.terminalSafe)" }
        }
        if !report.unmanaged.isEmpty {
            lines.append("")
            lines += domainLines(report.unmanaged, heading: "Unmanaged domains (not created by vmplan; never changed or deleted):",
                                 shown: domainsShown)
        }
        if !report.orphaned.isEmpty {
            lines.append("")
            lines += domainLines(report.orphaned, heading: "Domains with vmplan's marker that no manifest names and this state "
                + "did not record (left alone; another state's, or left behind by one):", shown: domainsShown)
        }
        return lines.joined(separator: "\n")
    }

    /// `Drift: 2 drifted, 1 missing, 1 pending, 3 in sync, 1 unmanaged (coverage 75%).` Drifted,
    /// missing and in sync are always counted; the rest when there are any.
    public static func summaryLine(_ summary: DriftReport.Summary) -> String {
        let counts: [(Int, String, Bool)] = [
            (summary.drifted, "drifted", true), (summary.missing, "missing", true), (summary.unknown, "unknown", false),
            (summary.pending, "pending", false), (summary.notApplied, "not applied", false), (summary.inSync, "in sync", true),
            (summary.ignored, "ignored", false), (summary.unmanaged, "unmanaged", false), (summary.orphaned, "orphaned", false),
        ]
        let parts = counts.filter { $0.2 || $0.0 > 0 }.map { "\($0.0) \($0.1)" }
        return "Drift: \(parts.joined(separator: ", ")) (coverage \(percent(summary.coverage)))."
    }

    /// Whole percent; never `100%` unless it is all, never `0%` unless it is none.
    static func percent(_ share: Double) -> String {
        var value = Int((share * 100).rounded())
        if share < 1 { value = min(value, 99) }
        if share > 0 { value = max(value, 1) }
        return "\(min(max(value, 0), 100))%"
    }

    /// `2025-05-01T10:00:00Z (3d ago)`, relative to when the check was made.
    static func firstSeen(_ entry: DriftReport.Entry, at now: Date) -> String? {
        guard let seen = entry.firstSeen else { return nil }
        let seconds = max(0, Int(now.timeIntervalSince(seen)))
        let age = seconds >= 86_400 ? "\(seconds / 86_400)d" : seconds >= 3_600 ? "\(seconds / 3_600)h" : "\(seconds / 60)m"
        return "\(seen.formatted(.iso8601)) (\(age) ago)"
    }

    /// `      ~ memory = 1GiB (recorded) -> 2GiB (live)`; from `ignoredFrom` on, marked ignored.
    static func fieldLines(_ diffs: [FieldDiff], ignoredFrom: Int, after: String) -> [String] {
        let width = diffs.map(\.field.terminalSafe.count).max() ?? 0
        return diffs.enumerated().map { index, diff in
            let name = diff.field.terminalSafe.padding(toLength: width, withPad: " ", startingAt: 0)
            let values = "\(shown(diff.before)) (recorded) -> \(shown(diff.after)) (\(after))"
            return index < ignoredFrom ? "      ~ \(name) = \(values)" : "        \(name) = \(values)   (ignored)"
        }
    }

    static func shown(_ value: String?) -> String { value?.terminalSafe ?? "(none)" }

    static func domainLines(_ domains: [PlanReport.UnmanagedDomainReport], heading: String, shown: Int) -> [String] {
        [heading] + DomainsByHost.group(domains.map(UnmanagedDomain.init), shown: shown).map { group in
            let more = group.more > 0 ? ", and \(group.more) more (`vmplan drift --json` lists them)" : ""
            return "    \(group.host.terminalSafe): \(group.shown.map(\.shownWithState).joined(separator: ", "))\(more)"
        }
    }
}
