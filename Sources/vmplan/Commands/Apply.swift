import ArgumentParser
import Foundation
import Reconciler
import Reports
import Spec
import Synchronization

struct Apply: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Make the hosts match the manifests, or apply a saved plan.",
        discussion: """
            `vmplan apply PATH` plans first and asks for confirmation on a terminal; scripts and CI pass \
            --auto-approve. `vmplan apply FILE` with a file from `vmplan plan --out FILE` applies exactly that \
            plan without asking, and refuses if the manifests, the state or the hosts changed since it was made. \
            Only one apply runs against a state database at a time; each change is journaled before and after it \
            reaches the host. Hosts are changed in parallel (--parallelism); a host that cannot be reached is \
            left out and the others are applied. Exit status: 0 success, 1 error, 5 partial (some hosts unreachable).
            """
    )

    @OptionGroup var manifests: ManifestOptions
    @OptionGroup var scope: ScopeOptions
    @OptionGroup var output: OutputOptions
    @OptionGroup var connection: ConnectionOptions
    @OptionGroup var fleet: FleetOptions

    @Flag(help: "Apply without asking for confirmation.")
    var autoApprove = false

    @Option(help: ArgumentHelp("Seconds to wait for a guest to shut down before forcing it off (unless its lifecycle.forceStop is false).", valueName: "seconds"))
    var shutdownTimeout: Double = 120

    func validate() throws {
        guard shutdownTimeout >= 0, shutdownTimeout <= 86_400 else {
            throw ValidationError("--shutdown-timeout must be between 0 and 86400 seconds")
        }
    }

    func run() async throws {
        let saved = try await reportingFailures { try manifests.savedPlan() }
        if saved != nil, manifests.state != nil || !scope.targets.isEmpty || !scope.replace.isEmpty || !scope.adopt.isEmpty {
            throw failure("error: a saved plan carries its own state path, targets, replacements and adoptions; drop --state, --target, --replace and --adopt")
        }
        let prompt = saved == nil && !autoApprove
        let format = output.format
        if prompt && (isatty(STDIN_FILENO) != 1 || output.isDocument) {
            throw failure(output.isDocument
                ? "error: apply \(output.json ? "--json" : "--format \(format.rawValue)") cannot ask for a confirmation; "
                    + "pass --auto-approve, or apply a saved plan"
                : "error: apply needs a confirmation, and standard input is not a terminal; pass --auto-approve to apply without one")
        }
        let (quiet, unmanagedShown) = (output.isDocument, output.unmanagedShown)
        // The Markdown result lists what the plan planned; the plan is only seen inside the approval.
        let applying = Mutex<Plan?>(nil)
        // Hosts are changed in parallel: with more than one, each line names its host.
        let namingHost = Mutex(false)
        let applied = try await reportingFailures {
            let session = try manifests.session(at: saved?.report.manifests ?? manifests.path,
                                                state: saved?.report.state ?? manifests.statePath, whenAbsent: .create,
                                                connection: connection, fleet: fleet)
            return try await session.apply(scope.planOptions, saved: saved, shutdownTimeout: .milliseconds(Int(shutdownTimeout * 1000))) { planned in
                applying.withLock { $0 = planned.plan }
                namingHost.withLock { $0 = Set(planned.plan.actionable.map(\.host)).count > 1 }
                if let takeover = planned.lockTakeover { printError(takeover.description) }
                if !quiet {
                    if let notice = PlanText.interrupted(planned.interrupted) { print(notice + "\n") }
                    print(PlanText.render(planned.plan, unmanagedShown: unmanagedShown))
                }
                guard planned.plan.hasChanges else { return true }
                if prompt {
                    print("\nDo you want to perform these actions?\n  Only 'yes' will be accepted to approve.\n\n  Enter a value: ", terminator: "")
                    guard readLine()?.trimmingCharacters(in: .whitespaces) == "yes" else { return false }
                }
                say("", toStandardError: quiet)
                return true
            } events: { event in
                say(ApplyText.line(event, namingHost: namingHost.withLock { $0 }), toStandardError: quiet)
            }
        }
        try await output.finish(applied, plan: applying.withLock { $0 } ?? Plan(changes: []))
    }

    private func failure(_ message: String) -> ExitCode {
        printError(message)
        return ExitCode.failure
    }
}
