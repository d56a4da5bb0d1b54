import Reconciler
import Spec

/// `vmplan drift` as Markdown, for pull-request comments and CI step summaries: the summary as
/// the title, a table of what is not in sync, each resource's differences folded in `<details>`.
/// Values are escaped (`Markdown.escaped`) so that none can add a row, a link, a mention or a tag of its own.
public enum DriftMarkdown {
    /// - Parameter limit: the most UTF-8 bytes to return (GitHub takes 65,536 per comment). When
    ///   everything does not fit, whole resources are left out from the end, and counted.
    public static func render(_ report: DriftReport, limit: Int = 60_000, domainsShown: Int = 5) -> String {
        let units = report.resources.filter { $0.status != .inSync || !$0.ignored.isEmpty || $0.isPending }
        let fixed = Fixed(report, domainsShown: domainsShown)
        let rows = units.map(row), blocks = units.map(details)
        return Markdown.fitting(units.count, limit: limit) { kept in
            fixed.document(rows: rows.prefix(kept).compactMap { $0 }, blocks: blocks.prefix(kept).flatMap { $0 }, leftOut: units.dropFirst(kept))
        } fallback: {
            // Even the title and the host lists are too long: the summary line and the count alone.
            fixed.title + "\n" + (units.isEmpty ? "" : "\n" + leftOutLine(units[...]) + "\n")
        }
    }

    /// What is shown whatever the limit: the title, hosts that did not answer, foreign domains.
    struct Fixed {
        var title: String
        var head: [String] = []
        var tail: [String]

        init(_ report: DriftReport, domainsShown: Int) {
            let summary = DriftText.summaryLine(report.summary)
            title = "### \(report.hasDrift ? "⚠️" : report.summary.unknown > 0 ? "❔" : "✅") \(summary)"
            if report.hasDrift {
                head += ["", "> [!WARNING]", "> The hosts were changed outside vmplan. The next apply puts the recorded values back; "
                    + "to keep a change, commit it to the manifests (`vmplan drift --suggest` shows the edit)."]
            }
            if !report.unknownHosts.isEmpty {
                head += ["", "**Hosts that could not be checked** (their resources are unknown):", ""]
                head += report.unknownHosts.map { unknown in
                    "- \(Markdown.escaped(unknown.host)) (\(Markdown.escaped(unknown.uri))): \(Markdown.escaped(String(unknown.error.prefix(500))))"
                }
            }
            tail = Markdown.foreignDomains(unmanaged: report.unmanaged.map(UnmanagedDomain.init),
                                           orphaned: report.orphaned.map(UnmanagedDomain.init), shown: domainsShown)
        }

        func document(rows: [String], blocks: [String], leftOut: ArraySlice<DriftReport.Entry>) -> String {
            var lines = [title] + head
            if !rows.isEmpty {
                lines += ["", "| Status | Kind | Name | Host | First seen |", "|---|---|---|---|---|"] + rows
            } else if leftOut.isEmpty {
                lines += ["", "No drift: every resource on the hosts that answered matches what vmplan recorded."]
            }
            lines += blocks + tail
            if !leftOut.isEmpty { lines += ["", leftOutLine(leftOut)] }
            return lines.joined(separator: "\n") + "\n"
        }
    }

    /// A resource's row in the table of what is not in sync.
    static func row(_ entry: DriftReport.Entry) -> String? {
        guard entry.status != .inSync else { return nil }
        return "| \(entry.status.rawValue) | \(entry.kind.rawValue) | \(Markdown.escaped(entry.name)) | \(Markdown.escaped(entry.host)) | "
            + "\(entry.firstSeen.map { $0.formatted(.iso8601) } ?? "-") |"
    }

    /// One resource's differences, folded; nothing for a resource that only has a status.
    static func details(_ entry: DriftReport.Entry) -> [String] {
        var what: [String] = []
        if !entry.fields.isEmpty { what.append("drifted: " + entry.fields.map { Markdown.escaped($0.field) }.joined(separator: ", ")) }
        if !entry.ignored.isEmpty { what.append("\(entry.ignored.count) ignored") }
        if let action = entry.pendingAction { what.append("manifest change not applied yet (\(action.rawValue); not drift)") }
        guard !what.isEmpty else { return [] }
        let title = "\(Markdown.escaped(entry.address.description)) on \(Markdown.escaped(entry.host)): \(what.joined(separator: "; "))"
        var lines = ["", "<details><summary>\(title)</summary>"]
        if !entry.fields.isEmpty || !entry.ignored.isEmpty {
            lines += ["", "| Field | Recorded | Live |", "|---|---|---|"]
            lines += (entry.fields.map { ($0, "") } + entry.ignored.map { ($0, " (ignored)") }).map { diff, note in
                "| \(Markdown.escaped(diff.field))\(note) | \(Markdown.cell(diff.before)) | \(Markdown.cell(diff.after)) |"
            }
        }
        if entry.isPending {
            lines += ["", "| Field | Recorded | Manifests (not applied yet) |", "|---|---|---|"]
            lines += entry.pending.map { "| \(Markdown.escaped($0.field)) | \(Markdown.cell($0.before)) | \(Markdown.cell($0.after)) |" }
        }
        return lines + ["", "</details>"]
    }

    static func leftOutLine(_ leftOut: ArraySlice<DriftReport.Entry>) -> String {
        let byStatus = Dictionary(grouping: leftOut, by: \.status)
        let counts = [DriftReport.Status.drifted, .missing, .unknown, .notApplied, .inSync].compactMap { status in
            byStatus[status].map { "\($0.count) \(status == .inSync ? "pending or ignored only" : status.rawValue)" }
        }
        return "_\(leftOut.count) more resource\(leftOut.count == 1 ? "" : "s") left out to keep this short "
            + "(\(counts.joined(separator: ", "))): `vmplan drift` or `vmplan drift --json` shows everything._"
    }
}
