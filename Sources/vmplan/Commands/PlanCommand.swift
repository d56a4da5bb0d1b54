import ArgumentParser
import Foundation
import Reconciler
import State

struct PlanCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "plan",
        abstract: "Show what apply would change, without changing anything.",
        discussion: """
            Exit status: 0 when the plan succeeded, 1 on error. With --detailed-exitcode: 0 no changes, \
            1 error, 2 changes to apply. --out FILE saves the plan; `vmplan apply FILE` applies exactly it.
            """
    )

    @OptionGroup var manifests: ManifestOptions
    @OptionGroup var scope: ScopeOptions
    @OptionGroup var output: OutputOptions

    @Flag(help: "Exit with 2 when there are changes, 0 when there are none.")
    var detailedExitcode = false

    @Option(help: ArgumentHelp("Save the plan to this file, for `vmplan apply FILE`.", valueName: "file"))
    var out: String?

    func run() async throws {
        let (plan, report) = try await reportingFailures {
            let manifest = try manifests.loadManifest()
            let database = try manifests.openState()
            let runID = try database.beginRun(.plan, actor: currentActor)
            let interrupted = try database.pendingJournal()
            if !interrupted.isEmpty && !output.json {
                print("An earlier apply stopped before finishing \(interrupted.count) change\(interrupted.count == 1 ? "" : "s") "
                    + "(\(interrupted.map { $0.name }.joined(separator: ", "))); this plan starts from what the hosts show now.\n")
            }
            do {
                let snapshot = try await Reconciliation.snapshot(of: manifest, database: database)
                let plan = try snapshot.plan(scope.planOptions)
                let report = PlanReport(kind: "plan", plan: plan, inputs: snapshot.inputs, options: scope.planOptions,
                                        manifests: absolutePath(manifests.path), state: absolutePath(manifests.statePath))
                if let out {
                    do {
                        try report.json().write(toFile: out, atomically: true, encoding: .utf8)
                    } catch {
                        throw CLIFailure("cannot write the plan to \(out): \(error.localizedDescription)")
                    }
                }
                try database.finishRun(runID, result: .succeeded, summary: PlanRenderer.summary(plan))
                return (plan, report)
            } catch {
                try? database.finishRun(runID, result: .failed, summary: "\(error)")
                throw error
            }
        }
        if output.json {
            print(try report.json())
        } else {
            print(PlanRenderer.render(plan, unmanagedShown: output.unmanagedShown))
            if let out {
                print("\nSaved the plan to \(out). Apply exactly this plan with:\n  vmplan apply \(out)")
            }
        }
        if detailedExitcode && plan.hasChanges {
            throw ExitCode(2)
        }
    }
}
