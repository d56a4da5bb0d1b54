import Reconciler
import Spec

/// Apply progress and outcome for people: `web-1: Creating...`, `Apply complete! Resources: …`.
public enum ApplyText {
    /// One line per event, every kind alike: `web-1: Modifying...`, `volume data: Creation complete after 1.2s`;
    /// `[kvm-02] web-1: Modifying...` with `namingHost`, for applies that change several hosts at once.
    public static func line(_ event: ApplyEvent, namingHost: Bool = false) -> String {
        guard namingHost else { return plainLine(event) }
        let change = switch event {
        case .started(let change), .progress(let change, _), .finished(let change, _), .failed(let change, _): change
        }
        return "[\(change.host.terminalSafe)] " + plainLine(event)
    }

    private static func plainLine(_ event: ApplyEvent) -> String {
        switch event {
        case .started(let change):
            "\(change.address): \(verb(change.action).present)..."
        case .progress(let change, let message):
            // Drivers name the domain themselves; say it once.
            "\(change.address): \(message.hasPrefix(change.name + ": ") ? String(message.dropFirst(change.name.count + 2)) : message)"
        case .finished(let change, let duration):
            "\(change.address): \(verb(change.action).done) after \(duration.formattedSeconds)"
        case .failed(let change, _):
            "\(change.address): \(verb(change.action).present) failed"
        }
    }

    /// The closing lines: a success line, or the failures (for standard error) with what to do next.
    public static func outcome(_ outcome: ApplyOutcome) -> (output: [String], errors: [String]) {
        if outcome.succeeded {
            return (["", headline(outcome)], [])
        }
        return ([], ["", headline(outcome)]
            + outcome.failed.map { "error: \($0.change.address) (\($0.change.host)): \($0.error)" }
            + [afterFailure])
    }

    /// `Apply complete! Resources: …`, or `Apply failed: 2 changes did not complete. Resources: …`.
    static func headline(_ outcome: ApplyOutcome) -> String {
        let count = outcome.failed.count
        return outcome.succeeded ? "Apply complete! \(outcome.summary)"
            : "Apply failed: \(count) change\(count == 1 ? "" : "s") did not complete. \(outcome.summary)"
    }

    static let afterFailure = "The failed changes are recorded; the next plan re-observes the hosts and shows what is still to do."

    static func verb(_ action: Action) -> (present: String, done: String) {
        switch action {
        case .create: ("Creating", "Creation complete")
        case .update: ("Modifying", "Modifications complete")
        case .migrate: ("Migrating", "Migration complete")
        case .replace: ("Replacing", "Replacement complete")
        case .delete: ("Destroying", "Destruction complete")
        case .forget: ("Forgetting (left on the host)", "Forgotten")
        case .import: ("Importing", "Import complete")
        case .adopt, .noop: ("Recording", "Recorded")
        }
    }
}
