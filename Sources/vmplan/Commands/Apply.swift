import ArgumentParser
import Drivers
import Foundation
import Reconciler
import Spec
import State

struct Apply: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Make the hosts match the manifests.",
        discussion: """
            Plans first and asks for confirmation on a terminal; scripts and CI pass --auto-approve. \
            Only one apply runs against a state database at a time. Each change is journaled in the state \
            database before and after it reaches the host. Exit status: 0 success, 1 error.
            """
    )

    @OptionGroup var manifests: ManifestOptions
    @OptionGroup var output: OutputOptions

    @Flag(help: "Apply without asking for confirmation.")
    var autoApprove = false

    @Option(help: ArgumentHelp("Seconds to wait for a guest to shut down before forcing it off.", valueName: "seconds"))
    var shutdownTimeout: Double = 120

    func validate() throws {
        guard shutdownTimeout >= 0, shutdownTimeout <= 86_400 else {
            throw ValidationError("--shutdown-timeout must be between 0 and 86400 seconds")
        }
    }

    func run() async throws {
        let interactive = isatty(STDIN_FILENO) == 1
        guard autoApprove || interactive else {
            printError("error: apply needs a confirmation, and standard input is not a terminal; pass --auto-approve to apply without one")
            throw ExitCode.failure
        }
        let succeeded = try await reportingFailures {
            let manifest = try manifests.loadManifest()
            let database = try manifests.openState()
            let lock = try database.acquireLock(holder: "vmplan apply (\(currentActor))")
            defer { try? lock.release() }
            let runID = try database.beginRun(.apply, actor: currentActor)
            do {
                let succeeded = try await apply(manifest: manifest, database: database, runID: runID, interactive: interactive)
                return succeeded
            } catch {
                try? database.finishRun(runID, result: .failed, summary: "\(error)")
                throw error
            }
        }
        if !succeeded { throw ExitCode.failure }
    }

    private func apply(manifest: Manifest, database: StateDatabase, runID: Int64, interactive: Bool) async throws -> Bool {
        let interrupted = try database.pendingJournal()
        if !interrupted.isEmpty {
            print("An earlier apply stopped before finishing \(interrupted.count) change\(interrupted.count == 1 ? "" : "s") "
                + "(\(interrupted.map { $0.name }.joined(separator: ", "))); planning from what the hosts show now.")
        }
        let snapshot = try await Reconciliation.snapshot(of: manifest, database: database)
        let plan = try snapshot.plan()
        print(PlanRenderer.render(plan, unmanagedShown: output.unmanagedShown))
        try database.resolvePending(interrupted.compactMap(\.id), note: "interrupted; re-observed by run \(runID)")

        guard plan.hasChanges || plan.changes.contains(where: \.recordsOnly) else {
            try database.finishRun(runID, result: .succeeded, summary: "no changes")
            return true
        }
        if plan.hasChanges && !autoApprove {
            print("\nDo you want to perform these actions?\n  Only 'yes' will be accepted to approve.\n\n  Enter a value: ", terminator: "")
            guard readLine()?.trimmingCharacters(in: .whitespaces) == "yes" else {
                print("\nApply cancelled.")
                try database.finishRun(runID, result: .refused, summary: "cancelled at the prompt")
                return false
            }
        }
        if plan.hasChanges { print("") }

        let applier = Applier(drivers: snapshot.drivers, database: database,
                              stopPolicy: StopPolicy(timeout: .milliseconds(Int(shutdownTimeout * 1000))))
        let outcome = try await applier.apply(plan, recorded: snapshot.recorded, runID: runID, events: Self.printEvent)
        let summary = Self.summary(outcome.applied)
        if outcome.succeeded {
            print("\nApply complete! \(summary)")
            try database.finishRun(runID, result: .succeeded, summary: summary)
        } else {
            printError("\nApply failed: \(outcome.failed.count) change\(outcome.failed.count == 1 ? "" : "s") did not complete. \(summary)")
            for failure in outcome.failed {
                printError("error: \(failure.change.name) (\(failure.change.host)): \(failure.error)")
            }
            printError("The failed changes are recorded; the next plan re-observes the hosts and shows what is still to do.")
            try database.finishRun(runID, result: .failed, summary: "\(outcome.failed.count) failed. \(summary)")
        }
        return outcome.succeeded
    }

    private static func summary(_ applied: [Change]) -> String {
        let added = applied.filter { $0.action == .create || $0.action == .replace }.count
        let changed = applied.filter { $0.action == .update }.count
        let destroyed = applied.filter { $0.action == .delete || $0.action == .replace }.count
        return "Resources: \(added) added, \(changed) changed, \(destroyed) destroyed."
    }

    @Sendable private static func printEvent(_ event: ApplyEvent) {
        switch event {
        case .started(let change):
            print("\(change.name): \(verb(change.action).present)...")
        case .progress(let change, let message):
            print("\(change.name): \(message.hasPrefix(change.name + ": ") ? String(message.dropFirst(change.name.count + 2)) : message)")
        case .finished(let change, let duration):
            print("\(change.name): \(verb(change.action).done) after \(seconds(duration))")
        case .failed(let change, _):
            print("\(change.name): \(verb(change.action).present) failed")
        }
        fflush(nil)
    }

    private static func seconds(_ duration: Duration) -> String {
        let (whole, fraction) = duration.components
        return String(format: "%.1fs", Double(whole) + Double(fraction) / 1e18)
    }

    private static func verb(_ action: Action) -> (present: String, done: String) {
        switch action {
        case .create: ("Creating", "Creation complete")
        case .update: ("Modifying", "Modifications complete")
        case .replace: ("Replacing", "Replacement complete")
        case .delete: ("Destroying", "Destruction complete")
        case .noop: ("Recording", "Recorded")
        }
    }
}
