import Reconciler

/// A fleet host can carry thousands of foreign domains: reports name a few per host and count the rest.
struct DomainsByHost {
    var host: String
    var shown: [UnmanagedDomain]
    var more: Int

    static func group(_ domains: [UnmanagedDomain], shown: Int) -> [DomainsByHost] {
        let byHost = Dictionary(grouping: domains, by: \.host)
        return byHost.keys.sorted().map { host in
            let all = byHost[host] ?? []
            return DomainsByHost(host: host, shown: Array(all.prefix(shown)), more: max(0, all.count - shown))
        }
    }
}

extension UnmanagedDomain {
    /// Back from the form a DriftReport stores.
    init(_ report: PlanReport.UnmanagedDomainReport) {
        self.init(host: report.host, name: report.name, isRunning: report.running, ownerState: report.state)
    }

    /// `web (running)`, `old (shut off, state 3f2…)`: shown `terminalSafe`.
    var shownWithState: String {
        "\(name.terminalSafe) (\(isRunning ? "running" : "shut off")" + (ownerState.map { ", state \($0.terminalSafe)" } ?? "") + ")"
    }
}
