import Drivers
import Reconciler

/// Renders a plan in the shape Terraform users know: `+ ~ - -/+`, one line per field, a summary.
enum PlanRenderer {
    static func render(_ plan: Plan) -> String {
        var lines: [String] = []
        if !plan.unmanaged.isEmpty {
            lines.append("Unmanaged domains (not created by vmplan; never changed or deleted):")
            for domain in plan.unmanaged {
                lines.append("    \(domain.host): \(domain.name) (\(domain.isRunning ? "running" : "shut off"))")
            }
            lines.append("")
        }
        let actionable = plan.actionable
        guard !actionable.isEmpty else {
            lines.append("No changes. The hosts match the manifests.")
            return lines.joined(separator: "\n")
        }
        lines.append("vmplan will perform the following actions:")
        lines.append("")
        for change in actionable {
            lines.append(contentsOf: render(change))
            lines.append("")
        }
        lines.append(summary(plan))
        return lines.joined(separator: "\n")
    }

    static func summary(_ plan: Plan) -> String {
        "Plan: \(plan.toAdd) to add, \(plan.toChange) to change, \(plan.toDestroy) to destroy."
    }

    static func symbol(_ action: Action) -> String {
        switch action {
        case .create: "+"
        case .update: "~"
        case .replace: "-/+"
        case .delete: "-"
        case .noop: " "
        }
    }

    private static func render(_ change: Change) -> [String] {
        var header = "  \(symbol(change.action)) \(change.name)"
        switch change.action {
        case .update: header += " (\(change.host), \(change.mode?.rawValue ?? "config"))"
        case .replace: header += " (replace: \(change.diffs.map(\.field).joined(separator: ", ")) changed)"
        case .delete: header += " (\(change.previousHost ?? change.host))"
        default: header += " (\(change.host))"
        }
        var lines = [header]
        for reason in change.reasons {
            lines.append("      # \(reason)")
        }
        let width = change.diffs.map(\.field.count).max() ?? 0
        for diff in change.diffs {
            let name = diff.field.padding(toLength: width, withPad: " ", startingAt: 0)
            let drift = diff.origin == .drift ? "   (drift)" : ""
            switch (diff.before, diff.after) {
            case (nil, let after?): lines.append("      + \(name) = \(after)")
            case (let before?, nil): lines.append("      - \(name) = \(before)")
            case (let before?, let after?): lines.append("      ~ \(name) = \(before) -> \(after)\(drift)")
            case (nil, nil): break
            }
        }
        return lines
    }
}
