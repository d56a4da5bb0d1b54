import Drivers
import Reconciler

/// Renders a plan in the shape Terraform users know: `+ ~ - -/+`, one line per field, a summary.
enum PlanRenderer {
    /// - Parameter unmanagedShown: how many unmanaged domains to name per host; the rest are counted.
    static func render(_ plan: Plan, unmanagedShown: Int = 10) -> String {
        var lines: [String] = []
        if !plan.unmanaged.isEmpty {
            lines.append(contentsOf: renderUnmanaged(plan.unmanaged, shown: unmanagedShown))
            lines.append("")
        }
        if !plan.warnings.isEmpty {
            lines.append(contentsOf: plan.warnings.map { $0.rendered(as: "warning") })
            lines.append("")
        }
        let quiet = plan.changes.filter { $0.action == .noop }
        let ignored = quiet.filter { !$0.ignored.isEmpty }
        if !ignored.isEmpty {
            lines.append("Ignored differences (lifecycle.ignoreChanges; not acted on):")
            for change in ignored {
                for diff in change.ignored {
                    lines.append("    \(change.name).\(diff.field): \(diff.before ?? "-") on the host, \(diff.after ?? "-") in the manifests")
                }
            }
            lines.append("")
        }
        let waiting = quiet.filter { !$0.pendingRestart.isEmpty }
        if !waiting.isEmpty {
            lines.append("Waiting for the next boot (lifecycle.restart: never; the config already has the new value):")
            for change in waiting {
                lines.append("    \(change.name): \(change.pendingRestart.joined(separator: ", "))")
            }
            lines.append("")
        }
        let actionable = plan.actionable
        guard plan.hasChanges else {
            lines.append("No changes. The hosts match the manifests.")
            return lines.joined(separator: "\n")
        }
        lines.append("vmplan will perform the following actions:")
        lines.append("")
        // In the order apply runs them: storage that VMs need, mdevs, the VMs, then what they released.
        let storage = plan.storage.filter(\.isActionable)
        for change in storage where !change.runsAfterVMs {
            lines.append(contentsOf: renderStorage(change))
            lines.append("")
        }
        for device in plan.deviceChanges where device.action == .create {
            lines.append(contentsOf: render(device))
            lines.append("")
        }
        for change in actionable {
            lines.append(contentsOf: render(change))
            lines.append("")
        }
        for device in plan.deviceChanges where device.action == .delete {
            lines.append(contentsOf: render(device))
            lines.append("")
        }
        for change in storage where change.runsAfterVMs {
            lines.append(contentsOf: renderStorage(change))
            lines.append("")
        }
        lines.append(summary(plan))
        return lines.joined(separator: "\n")
    }

    /// A fleet host can carry thousands of foreign domains: name a few per host, count the rest.
    static func renderUnmanaged(_ domains: [UnmanagedDomain], shown: Int) -> [String] {
        var lines = ["Unmanaged domains (not created by vmplan; never changed or deleted):"]
        let byHost = Dictionary(grouping: domains, by: \.host)
        for host in byHost.keys.sorted() {
            let hostDomains = byHost[host] ?? []
            let names = hostDomains.prefix(shown).map { "\($0.name) (\($0.isRunning ? "running" : "shut off"))" }
            let more = hostDomains.count > shown ? ", and \(hostDomains.count - shown) more (--show-unmanaged lists them)" : ""
            lines.append("    \(host): \(names.joined(separator: ", "))\(more)")
        }
        return lines
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

    /// mdevs are changes of their own: created before the VM that uses them, removed after.
    private static func render(_ device: DeviceChange) -> [String] {
        let parent = device.parent.map { " on \($0)" } ?? ""
        switch device.action {
        case .create:
            return ["  + mdev \(device.uuid) (\(device.type)\(parent), host \(device.host))",
                    "      # vGPU for \(device.vm ?? "?"): defined persistent with autostart, before the VM starts"]
        case .delete:
            return ["  - mdev \(device.uuid) (\(device.type)\(parent), host \(device.host))",
                    "      # created by vmplan and no longer used by any VM"]
        }
    }

    private static func render(_ change: Change) -> [String] {
        var header = "  \(symbol(change.action)) \(change.name)"
        switch change.action {
        case .update: header += " (\(change.mode?.rawValue ?? "next-boot"))"
        case .replace:
            header += change.diffs.contains { $0.field == "host" } ? " (replace: host changed)" : " (replace: requested)"
        case .delete: header += " (\(change.previousHost ?? change.host))"
        default: header += " (\(change.host))"
        }
        var lines = [header]
        for reason in change.reasons {
            lines.append("      # \(reason)")
        }
        if !change.pendingRestart.isEmpty {
            lines.append("      # after this, waiting for the next boot: \(change.pendingRestart.joined(separator: ", "))")
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
