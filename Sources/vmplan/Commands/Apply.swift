import ArgumentParser
import Drivers
import Foundation
import Reconciler
import Spec
import State

struct Apply: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Make the hosts match the manifests, or apply a saved plan.",
        discussion: """
            `vmplan apply PATH` plans first and asks for confirmation on a terminal; scripts and CI pass \
            --auto-approve. `vmplan apply FILE` with a file from `vmplan plan --out FILE` applies exactly that \
            plan without asking, and refuses if the manifests, the state or the hosts changed since it was made. \
            Only one apply runs against a state database at a time; each change is journaled before and after it \
            reaches the host. Exit status: 0 success, 1 error.
            """
    )

    @OptionGroup var manifests: ManifestOptions
    @OptionGroup var scope: ScopeOptions
    @OptionGroup var output: OutputOptions

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
        let saved = try await reportingFailures { try savedPlan() }
        if saved != nil, manifests.state != nil || !scope.targets.isEmpty || !scope.replace.isEmpty {
            printError("error: a saved plan carries its own state path, targets and replacements; drop --state, --target and --replace")
            throw ExitCode.failure
        }
        let interactive = isatty(STDIN_FILENO) == 1
        if saved == nil && !autoApprove && (!interactive || output.json) {
            printError(output.json
                ? "error: apply --json cannot ask for a confirmation; pass --auto-approve, or apply a saved plan"
                : "error: apply needs a confirmation, and standard input is not a terminal; pass --auto-approve to apply without one")
            throw ExitCode.failure
        }
        let succeeded = try await reportingFailures {
            let manifestPath = saved?.manifests ?? manifests.path
            let statePath = saved?.state ?? manifests.statePath
            let manifest = try ManifestOptions.loadManifest(at: manifestPath)
            let database = try ManifestOptions.openState(at: statePath)
            let lock = try database.acquireLock(holder: "vmplan apply (\(currentActor))")
            defer { try? lock.release() }
            let runID = try database.beginRun(.apply, actor: currentActor)
            do {
                return try await apply(manifest: manifest, database: database, runID: runID, saved: saved,
                                       paths: (absolutePath(manifestPath), absolutePath(statePath)))
            } catch {
                try? database.finishRun(runID, result: .failed, summary: "\(error)")
                throw error
            }
        }
        if !succeeded { throw ExitCode.failure }
    }

    /// The saved plan PATH names, or nil when PATH is a manifest file or directory.
    private func savedPlan() throws -> PlanReport? {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: manifests.path, isDirectory: &isDirectory), !isDirectory.boolValue,
              let data = FileManager.default.contents(atPath: manifests.path) else { return nil }
        return try PlanReport.savedPlan(from: data)
    }

    private func say(_ text: String, terminator: String = "\n") {
        // With --json, standard output carries the JSON document only.
        if output.json { printError(text) } else { print(text, terminator: terminator) }
    }

    private func apply(manifest: Manifest, database: StateDatabase, runID: Int64, saved: PlanReport?,
                       paths: (manifests: String, state: String)) async throws -> Bool {
        let interrupted = try database.pendingJournal()
        if !interrupted.isEmpty {
            say("An earlier apply stopped before finishing \(interrupted.count) change\(interrupted.count == 1 ? "" : "s") "
                + "(\(interrupted.map { $0.name }.joined(separator: ", "))); planning from what the hosts show now.")
        }
        let options = saved?.options ?? scope.planOptions
        let snapshot = try await Reconciliation.snapshot(of: manifest, database: database)
        let inputs = snapshot.inputs
        if let saved {
            let moved = saved.inputs.differences(to: inputs)
            guard moved.isEmpty else {
                throw CLIFailure((["error: the saved plan \(manifests.path) no longer matches what it was made from:"]
                    + moved.map { "  - \($0)" }
                    + ["Nothing was changed. Make a new plan (vmplan plan --out FILE) and apply that."]).joined(separator: "\n"))
            }
        }
        let plan = try snapshot.plan(options)
        var report = PlanReport(kind: "apply", plan: plan, inputs: inputs, options: options,
                                manifests: paths.manifests, state: paths.state)
        // Same inputs make the same plan, unless something the inputs do not cover (a device
        // inventory) moved: then the saved plan is not what would be applied.
        if let saved, saved.changes != report.changes || saved.deviceChanges != report.deviceChanges {
            throw CLIFailure("error: the saved plan \(manifests.path) differs from a plan made now (a host's devices changed?); "
                + "nothing was changed. Make a new plan (vmplan plan --out FILE) and apply that.")
        }
        if !output.json { print(PlanRenderer.render(plan, unmanagedShown: output.unmanagedShown)) }
        try database.resolvePending(interrupted.compactMap(\.id), note: "interrupted; re-observed by run \(runID)")

        guard plan.hasChanges || plan.hasRecordUpdates else {
            try database.finishRun(runID, result: .succeeded, summary: "no changes")
            report.result = .init(succeeded: true, applied: [], failed: [])
            if output.json { print(try report.json()) }
            return true
        }
        if plan.hasChanges && !autoApprove && saved == nil {
            print("\nDo you want to perform these actions?\n  Only 'yes' will be accepted to approve.\n\n  Enter a value: ", terminator: "")
            guard readLine()?.trimmingCharacters(in: .whitespaces) == "yes" else {
                print("\nApply cancelled.")
                try database.finishRun(runID, result: .refused, summary: "cancelled at the prompt")
                return false
            }
        }
        if plan.hasChanges { say("") }

        let applier = Applier(drivers: snapshot.drivers, database: database,
                              shutdownTimeout: .milliseconds(Int(shutdownTimeout * 1000)))
        let json = output.json
        let outcome = try await applier.apply(plan, recorded: snapshot.recorded, runID: runID) { event in
            Self.printEvent(event, toStandardError: json)
        }
        let summary = Self.summary(outcome)
        report.result = .init(
            succeeded: outcome.succeeded,
            applied: outcome.applied.filter { $0.action != .noop }.map(\.name) + outcome.appliedDevices.map { "mdev \($0.uuid)" }
                + outcome.storageApplied.filter(\.isActionable).map(\.name),
            failed: outcome.failedDevices.map { .init(name: "mdev \($0.change.uuid)", host: $0.change.host, error: $0.error) }
                + outcome.failed.map { .init(name: $0.change.name, host: $0.change.host, error: $0.error) }
                + outcome.storageFailed.map { .init(name: $0.change.name, host: $0.change.host, error: $0.error) })
        if outcome.succeeded {
            say("\nApply complete! \(summary)")
            try database.finishRun(runID, result: .succeeded, summary: summary)
        } else {
            let failures = outcome.storageFailed.map { ("\($0.change.kind == .pool ? "pool" : "volume") \($0.change.name)", $0.change.host, $0.error) }
                + outcome.failedDevices.map { ("mdev \($0.change.uuid)", $0.change.host, $0.error) }
                + outcome.failed.map { ($0.change.name, $0.change.host, $0.error) }
            printError("\nApply failed: \(failures.count) change\(failures.count == 1 ? "" : "s") did not complete. \(summary)")
            for (name, host, error) in failures {
                printError("error: \(name) (\(host)): \(error)")
            }
            printError("The failed changes are recorded; the next plan re-observes the hosts and shows what is still to do.")
            try database.finishRun(runID, result: .failed, summary: "\(failures.count) failed. \(summary)")
        }
        if output.json { print(try report.json()) }
        return outcome.succeeded
    }

    private static func summary(_ outcome: ApplyOutcome) -> String {
        let applied = outcome.applied
        let storage = outcome.storageApplied
        let added = applied.filter { $0.action == .create || $0.action == .replace }.count
            + outcome.appliedDevices.filter { $0.action == .create }.count + storage.filter { $0.action == .create }.count
        let changed = applied.filter { $0.action == .update }.count + storage.filter { $0.action == .update }.count
        let destroyed = applied.filter { $0.action == .delete || $0.action == .replace }.count
            + outcome.appliedDevices.filter { $0.action == .delete }.count + storage.filter { $0.action == .delete && !$0.isForget }.count
        return "Resources: \(added) added, \(changed) changed, \(destroyed) destroyed."
    }

    private static func printEvent(_ event: ApplyEvent, toStandardError: Bool) {
        let line: String
        switch event {
        case .started(let change):
            line = "\(change.name): \(verb(change.action).present)..."
        case .progress(let change, let message):
            line = "\(change.name): \(message.hasPrefix(change.name + ": ") ? String(message.dropFirst(change.name.count + 2)) : message)"
        case .finished(let change, let duration):
            line = "\(change.name): \(verb(change.action).done) after \(seconds(duration))"
        case .failed(let change, _):
            line = "\(change.name): \(verb(change.action).present) failed"
        case .deviceStarted(let device):
            line = "mdev \(device.uuid): \(device.action == .create ? "Creating" : "Destroying")..."
        case .deviceFinished(let device, let duration):
            line = "mdev \(device.uuid): \(device.action == .create ? "Creation" : "Destruction") complete after \(seconds(duration))"
        case .deviceFailed(let device, _):
            line = "mdev \(device.uuid): \(device.action == .create ? "Creating" : "Destroying") failed"
        case .storage(let change, let message):
            line = "\(change.kind == .pool ? "pool" : "volume") \(change.name): \(message)"
        }
        if toStandardError {
            printError(line)
        } else {
            print(line)
            fflush(nil)
        }
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
