import ArgumentParser
import Foundation
import Reconciler
import Reports
import Spec

struct PlanCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "plan",
        abstract: "Show what apply would change, without changing anything.",
        discussion: """
            Exit status: 0 when the plan succeeded, 1 on error, 5 when some hosts could not be reached (the \
            others are planned; what is on those hosts is shown unknown). With --detailed-exitcode: 0 no changes, \
            1 error, 2 changes to apply (5 still wins). --out FILE saves the plan; `vmplan apply FILE` applies exactly it.
            """
    )

    @OptionGroup var manifests: ManifestOptions
    @OptionGroup var scope: ScopeOptions
    @OptionGroup var output: OutputOptions
    @OptionGroup var connection: ConnectionOptions
    @OptionGroup var fleet: FleetOptions

    @Flag(help: "Exit with 2 when there are changes, 0 when there are none.")
    var detailedExitcode = false

    @Option(help: ArgumentHelp("Save the plan to this file, for `vmplan apply FILE`.", valueName: "file"))
    var out: String?

    func run() async throws {
        let planned = try await reportingFailures {
            let planned = try await manifests.session(at: manifests.path, state: manifests.statePath, whenAbsent: .useEmptyInMemory,
                                                      connection: connection, fleet: fleet).plan(scope.planOptions)
            if let out {
                do {
                    try planned.report.json().write(toFile: out, atomically: true, encoding: .utf8)
                } catch {
                    throw VMPlanError(.invalidInput, "cannot write the plan to \(out): \(error.localizedDescription)")
                }
            }
            return planned
        }
        switch output.format {
        case .json:
            print(try planned.report.json())
        case .markdown, .github:
            if let notice = PlanText.interrupted(planned.interrupted, runningApply: planned.runningApply) { printError(notice) }
            try await reportingFailures { try output.publish(markdown: PlanMarkdown.render(planned.plan, savedPlan: out, domainsShown: output.markdownDomainsShown)) }
        case .text:
            if let notice = PlanText.interrupted(planned.interrupted, runningApply: planned.runningApply) { print(notice + "\n") }
            print(PlanText.render(planned.plan, unmanagedShown: output.unmanagedShown))
            if let out {
                print("\nSaved the plan to \(out). Apply exactly this plan with:\n  vmplan apply \(out)")
            }
        }
        if planned.plan.isPartial {
            printError(UnreachableHosts.closing(planned.plan))
            throw ExitCode(partialResultExitStatus)
        }
        if detailedExitcode && planned.plan.hasChanges {
            throw ExitCode(2)
        }
    }
}
