import ArgumentParser
import Foundation
import Reconciler
import Reports
import Spec

struct StatusCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "status",
        abstract: "Show each VM of the manifests: its status, host, IP addresses and whether it matches the manifests.",
        discussion: """
            Read-only, and nothing is recorded: it can run while an apply holds the lock. STATUS is one \
            word per VM; when several hold, the first in this order is shown: Unknown (its host did not \
            answer), Missing (no domain of that name on its host), Unowned (a domain of that name that is \
            not this state's), Failed (the last apply that changed it failed on it), Crashed, Migrating, \
            Paused, Stopping, Starting (running; its guest agent has not answered yet), Running, Stopped. \
            ADDRESSES come from the guest agent when it answers, else from the DHCP leases of the libvirt \
            networks the VM's NICs are on. SYNC is what a plan made now says: Synced, or OutOfSync with the \
            action and fields. PENDING RESTART lists applied fields the running VM takes at its next boot. \
            Exit status: 0, or 1 for an error, manifests that do not plan, or a host that did not answer. docs/status.md has the details.
            """
    )

    @OptionGroup var manifests: ManifestOptions
    @OptionGroup var connection: ConnectionOptions
    @OptionGroup var fleet: FleetOptions

    @Flag(help: "Print the report as JSON (format vmplan-status, version 1; docs/status.md).")
    var json = false

    func run() async throws {
        let report = try await reportingFailures {
            let session = try manifests.session(at: manifests.path, state: manifests.statePath, whenAbsent: .useEmptyInMemory,
                                                connection: connection, fleet: fleet)
            return try await session.status()
        }
        print(json ? try report.json() : StatusText.render(report))
        if !report.unknownHosts.isEmpty || report.planError != nil { throw ExitCode.failure }
    }
}
