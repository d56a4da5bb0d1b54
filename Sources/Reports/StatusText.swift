import Drivers
import Foundation
import Reconciler
import Spec

/// `vmplan status` for people: one row per VM (status, host, addresses, sync, pending restart),
/// then the reasons behind the rows that need one and the hosts that did not answer.
public enum StatusText {
    public static func render(_ report: StatusReport) -> String {
        guard !report.vms.isEmpty else { return "No VirtualMachine in \(report.manifests.terminalSafe)." }
        var lines = TextTable.lines([["NAME", "STATUS", "HOST", "ADDRESSES", "SYNC", "PENDING RESTART"]] + report.vms.map { vm in
            [vm.name.terminalSafe, vm.status.rawValue, vm.host.terminalSafe,
             vm.addresses.isEmpty ? "-" : vm.addresses.map(\.cidr).joined(separator: ",").terminalSafe,
             vm.sync.rawValue + (vm.drift.map { " (\($0.terminalSafe))" } ?? ""),
             vm.pendingRestart.isEmpty ? "-" : vm.pendingRestart.joined(separator: ",")]
        })
        let explained = report.vms.filter { $0.message != nil && $0.status != .unknown }
        if !explained.isEmpty {
            lines.append("")
            lines += explained.map { "\($0.name.terminalSafe) is \($0.status.rawValue): \($0.message!.terminalSafe)" }
        }
        if let planError = report.planError {
            lines += ["", "No plan could be made, so whether the VMs match the manifests is unknown:", planError.terminalSafe]
        }
        if !report.unknownHosts.isEmpty {
            lines += ["", "Hosts that did not answer (their VMs are Unknown):"]
            lines += report.unknownHosts.map { "  \($0.host.terminalSafe) (\($0.uri.terminalSafe)): \($0.error.terminalSafe)" }
        }
        lines += ["", report.summary + "."]
        return lines.joined(separator: "\n")
    }
}
