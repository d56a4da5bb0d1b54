import ArgumentParser
import Foundation
import Reconciler
import Reports
import Spec
import Synchronization

struct ReconcileCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "reconcile",
        abstract: "Make the hosts match the manifests of a git commit (for pushes, CI and server hooks).",
        discussion: """
            Resolves REF to a commit, reads the manifests from that commit's tree (never a working tree: \
            uncommitted and untracked files are never applied), plans and applies without asking, and \
            records the commit, the ref and its author with the run (`vmplan state runs`). A commit that \
            does not descend from the last one reconciled into the state is refused unless --allow-rollback. \
            Reconciling the same commit again applies only drift. Exit status: 0 done (or nothing to do), \
            1 error or a change failed, 3 another run holds the state lock (retry later), 4 rollback refused.
            """
    )

    @Option(help: ArgumentHelp("The repository: a local path (bare or not) or a URL git can clone.", valueName: "path-or-url"))
    var repo: String

    @Option(help: ArgumentHelp("The branch, tag or commit to apply.", valueName: "ref"))
    var ref: String = "HEAD"

    @Option(help: ArgumentHelp("The manifest directory inside the repository (default: its root).", valueName: "dir"))
    var path: String?

    @Option(help: ArgumentHelp("State database file.", discussion: "Default for a local repository: REPO/.vmplan/state.db "
        + "(REPO/.vmplan/DIR.db with --path DIR). Required for a URL.", valueName: "file"))
    var state: String?

    @Flag(help: "Apply even a commit that does not descend from the last one reconciled (going back on purpose).")
    var allowRollback = false

    @Option(help: ArgumentHelp("Seconds to wait for a guest to shut down before forcing it off (unless its lifecycle.forceStop is false).", valueName: "seconds"))
    var shutdownTimeout: Double = 120

    @OptionGroup var connection: ConnectionOptions
    @OptionGroup var fleet: FleetOptions
    @OptionGroup var output: OutputOptions

    var statePath: String {
        get throws {
            if let state = state ?? environmentState { return state }
            guard FileManager.default.fileExists(atPath: repo) else {
                throw ValidationError("--state is required when --repo is a URL")
            }
            // Spelled `fleet`, `./fleet` or `fleet/`, one directory has one state.
            let parts = (path ?? "").split(separator: "/").filter { $0 != "." }
            let name = parts.isEmpty ? "state.db" : parts.joined(separator: "-") + ".db"
            return (repo as NSString).appendingPathComponent(".vmplan/\(name)")
        }
    }

    func run() async throws {
        let (quiet, unmanagedShown) = (output.isDocument, output.unmanagedShown)
        let planned = Mutex<Plan?>(nil)
        let applied = try await reportingFailures {
                let repository = try GitRepository.open(repo)
                let source = try CommitManifests.load(from: repository, ref: ref, path: path)
                let statePath = try statePath
                say("Reconciling \(source.source) (\(source.commit.author ?? "unknown author")) into \(shownState(statePath))", toStandardError: true)
                var session = Session(manifest: source.manifest, store: try ManifestOptions.openState(at: statePath, whenAbsent: .create),
                                      manifestsPath: source.source, statePath: shownState(statePath), actor: currentActor,
                                      commit: source.commit, connect: connection.connector)
                session.lockLease = try lockLease()
                session.parallelism = fleet.parallelism
                do {
                    return try await session.reconcile(repository, allowRollback: allowRollback,
                                                       shutdownTimeout: .milliseconds(Int(shutdownTimeout * 1000))) { made in
                        planned.withLock { $0 = made.plan }
                        if let takeover = made.lockTakeover { printError(takeover.description) }
                        if !quiet { print(PlanText.render(made.plan, unmanagedShown: unmanagedShown)) }
                    } events: { event in
                        say(ApplyText.line(event), toStandardError: quiet)
                    }
                } catch var error as VMPlanError where error.code == .locked {
                    error.exitStatus = 3  // another run holds the state: CI can retry
                    throw error
                }
            }
        try await output.finish(applied, plan: planned.withLock { $0 } ?? Plan(changes: []))
    }
}
