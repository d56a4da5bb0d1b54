import Reconciler

extension PlanRenderer {
    /// `+ volume web-1-root (pool default, 10GiB qcow2)`; deletions that lose data say so in capitals.
    static func renderStorage(_ change: StorageChange) -> [String] {
        let noun = change.kind == .pool ? "pool" : "volume"
        var detail = change.summary
        switch change.action {
        case .delete where change.dataLoss: detail = "DATA LOSS: reclaim: delete; \(change.summary)"
        case .delete where change.isForget: detail = "kept on the host; vmplan forgets it"
        case .create where change.dataLoss: detail = "DATA LOSS: build: true erases its devices; \(change.summary)"
        default: break
        }
        var lines = ["  \(symbol(change.action)) \(noun) \(change.name) (\(detail))"]
        for reason in change.reasons {
            lines.append("      # \(reason)")
        }
        let width = change.diffs.map(\.field.count).max() ?? 0
        for diff in change.diffs {
            let name = diff.field.padding(toLength: width, withPad: " ", startingAt: 0)
            switch (diff.before, diff.after) {
            case (nil, let after?): lines.append("      + \(name) = \(after)")
            case (let before?, let after?): lines.append("      ~ \(name) = \(before) -> \(after)")
            default: break
            }
        }
        return lines
    }
}
