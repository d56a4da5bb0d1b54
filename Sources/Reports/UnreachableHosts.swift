import Reconciler
import Spec

/// What a partial plan says about the hosts it could not observe, for people: each host with its
/// reason, and the resources on it, which this run neither plans nor applies.
public enum UnreachableHosts {
    /// Text lines, an empty list for a plan every host answered.
    public static func text(_ plan: Plan) -> [String] {
        guard plan.isPartial else { return [] }
        var lines = ["Unreachable hosts (what is on them is unknown: neither planned nor applied this run; the other hosts are):"]
        for host in plan.unreachable {
            lines.append("    \(host.host.terminalSafe) (\(host.uri.terminalSafe)): \(host.reason.terminalSafe)")
            lines += unknown(on: host.host, in: plan).map { "        ? \($0.address.description.terminalSafe)" }
        }
        return lines + [""]
    }

    /// Markdown lines, an empty list for a plan every host answered.
    public static func markdown(_ plan: Plan) -> [String] {
        guard plan.isPartial else { return [] }
        var lines = ["", "> [!WARNING]", "> Partial plan: \(plan.unreachable.count) host\(plan.unreachable.count == 1 ? "" : "s") could not be reached; "
            + "what is on them is unknown (neither planned nor applied). The other hosts are planned below.", ""]
        for host in plan.unreachable {
            let names = unknown(on: host.host, in: plan).map { Markdown.escaped($0.address.description) }
            lines.append("- **\(Markdown.escaped(host.host))** (\(Markdown.escaped(host.uri))): \(Markdown.escaped(host.reason))"
                + (names.isEmpty ? "" : ". Unknown: \(names.joined(separator: ", "))"))
        }
        return lines
    }

    /// The summary said when a run ends partial (standard error).
    public static func closing(_ plan: Plan) -> String {
        "partial: \(plan.unreachable.count) host\(plan.unreachable.count == 1 ? "" : "s") unreachable ("
            + plan.unreachable.map(\.host.terminalSafe).joined(separator: ", ") + "), \(plan.unknown.count) resource\(plan.unknown.count == 1 ? "" : "s") unknown; "
            + "the next run plans them once the host answers."
    }

    private static func unknown(on host: String, in plan: Plan) -> [UnknownResource] {
        plan.unknown.filter { $0.unreachableHost == host }
    }
}
