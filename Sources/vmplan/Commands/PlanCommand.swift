import ArgumentParser
import Reconciler
import State

struct PlanCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "plan",
        abstract: "Show what apply would change, without changing anything.",
        discussion: """
            Exit status: 0 when the plan succeeded, 1 on error. With --detailed-exitcode: 0 no changes, \
            1 error, 2 changes to apply.
            """
    )

    @OptionGroup var manifests: ManifestOptions
    @OptionGroup var output: OutputOptions

    @Flag(help: "Exit with 2 when there are changes, 0 when there are none.")
    var detailedExitcode = false

    func run() async throws {
        let plan = try await reportingFailures {
            let manifest = try manifests.loadManifest()
            let database = try manifests.openState()
            let runID = try database.beginRun(.plan, actor: currentActor)
            let interrupted = try database.pendingJournal()
            if !interrupted.isEmpty {
                print("An earlier apply stopped before finishing \(interrupted.count) change\(interrupted.count == 1 ? "" : "s") "
                    + "(\(interrupted.map { $0.name }.joined(separator: ", "))); this plan starts from what the hosts show now.\n")
            }
            do {
                let plan = try await Reconciliation.snapshot(of: manifest, database: database).plan()
                try database.finishRun(runID, result: .succeeded, summary: PlanRenderer.summary(plan))
                return plan
            } catch {
                try? database.finishRun(runID, result: .failed, summary: "\(error)")
                throw error
            }
        }
        print(PlanRenderer.render(plan, unmanagedShown: output.unmanagedShown))
        if detailedExitcode && plan.hasChanges {
            throw ExitCode(2)
        }
    }
}

/// Prints an explained failure to standard error and turns it into exit status 1.
func reportingFailures<T>(_ body: () async throws -> T) async throws -> T {
    do {
        return try await body()
    } catch let error as ExitCode {
        throw error
    } catch {
        printError("\(error)")
        throw ExitCode.failure
    }
}
