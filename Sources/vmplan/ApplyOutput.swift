import ArgumentParser
import Reconciler
import Reports

extension OutputOptions {
    /// Prints what an apply or a reconcile ended with, in the chosen format, and ends with exit
    /// status 1 when a change failed or the apply was cancelled, 5 when hosts could not be reached
    /// and everything else was applied.
    func finish(_ applied: Session.Applied, plan: Plan) async throws {
        switch applied {
        case .nothingToDo(let report):
            switch format {
            case .json: print(try report.json())
            case .markdown, .github:
                try await reportingFailures { try publish(markdown: PlanMarkdown.render(plan, domainsShown: markdownDomainsShown)) }
            case .text: break
            }
        case .cancelled:
            print("\nApply cancelled.")
            throw ExitCode.failure
        case .finished(let outcome, let report):
            let (lines, errors) = ApplyText.outcome(outcome)
            lines.forEach { say($0, toStandardError: isDocument) }
            errors.forEach(printError)
            switch format {
            case .json: print(try report.json())
            case .markdown, .github: try await reportingFailures { try publish(markdown: ApplyMarkdown.render(outcome, plan: plan)) }
            case .text: break
            }
            if !outcome.succeeded { throw ExitCode.failure }
        }
        if plan.isPartial {
            printError(UnreachableHosts.closing(plan))
            throw ExitCode(partialResultExitStatus)
        }
    }
}
