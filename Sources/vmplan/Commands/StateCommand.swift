import ArgumentParser
import Foundation
import Reports
import Spec
import State

struct StateCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "state",
        abstract: "Inspect the recorded state, release its lock, or copy it to another backend.",
        subcommands: [List.self, Runs.self, Unlock.self, Push.self, Pull.self]
    )

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List the resources vmplan has applied.")

        @OptionGroup var manifests: ManifestOptions

        func run() async throws {
            let (stateID, records) = try await reportingFailures {
                guard try ManifestOptions.stateExists(at: manifests.statePath) else {
                    throw VMPlanError(.state, "no state database at \(manifests.shownStatePath): nothing has been applied from \(manifests.path) yet (or pass --state FILE|URL)")
                }
                let store = try manifests.openState(whenAbsent: .useEmptyInMemory)
                return (try store.stateID(), try store.resources())
            }
            // The id every domain of this state carries in its marker (see --adopt).
            print("State \(stateID) (\(manifests.shownStatePath))\n")
            guard !records.isEmpty else {
                print("No resources recorded in \(manifests.shownStatePath).")
                return
            }
            let formatter = ISO8601DateFormatter()
            let rows = [["KIND", "NAME", "HOST", "GENERATION", "SPEC HASH", "COMMIT", "APPLIED AT", "PENDING"]]
                + records.map {
                    [$0.kind, $0.name, $0.host, String($0.generation), $0.specHash, $0.commitID.map { String($0.prefix(12)) } ?? "-",
                     formatter.string(from: $0.appliedAt),
                     $0.pendingRestart.isEmpty ? "-" : "restart: \($0.pendingRestart.joined(separator: ", "))"]
                }
            print(TextTable.lines(rows).joined(separator: "\n"))
            // Which commit each host was last brought to (resources applied from git carry it).
            let latest = Dictionary(grouping: records.filter { $0.commitID != nil }, by: \.host)
                .compactMapValues { $0.max { $0.appliedAt < $1.appliedAt } }
            if !latest.isEmpty {
                print("")
                for (host, record) in latest.sorted(by: { $0.key < $1.key }) {
                    print("Host \(host): commit \(record.commitID ?? "-") (applied \(formatter.string(from: record.appliedAt)))")
                }
            }
        }
    }

    struct Runs: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List the recent runs: plans, applies, drift checks and reconciles, with their commits.")

        @OptionGroup var manifests: ManifestOptions

        @Option(help: ArgumentHelp("How many runs, newest first.", valueName: "count"))
        var limit: Int = 20

        func run() async throws {
            let runs = try await reportingFailures {
                try manifests.openState(whenAbsent: .useEmptyInMemory).runs(limit: max(1, limit))
            }
            guard !runs.isEmpty else {
                print("No runs recorded in \(manifests.shownStatePath).")
                return
            }
            let formatter = ISO8601DateFormatter()
            let rows = [["ID", "KIND", "STARTED", "RESULT", "COMMIT", "REF", "AUTHOR", "ACTOR", "SUMMARY"]] + runs.map { run in
                [String(run.id ?? 0), run.kind.rawValue, formatter.string(from: run.startedAt), run.result.rawValue,
                 run.commitID.map { String($0.prefix(12)) } ?? "-", (run.ref ?? "-").terminalSafe, (run.author ?? "-").terminalSafe,
                 run.actor.terminalSafe, (run.summary ?? "").terminalSafe]
            }
            print(TextTable.lines(rows).joined(separator: "\n"))
        }
    }

    struct Unlock: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Release the state lock of a run that is gone.",
            discussion: """
                The refusal of a second apply names the lock's id and this command. The lock is released only \
                if its id is ID (so that a lock taken since, by another run, is left alone), and the unlock is \
                recorded with who ran it. A run whose lock is released this way while it still runs cannot \
                record anything more: its next state write is refused. Exit status: 0 released, 1 not locked \
                or another id.
                """
        )

        @Argument(help: ArgumentHelp("The lock's id, as the refusal of a second apply names it.", valueName: "id"))
        var id: String

        @OptionGroup var manifests: ManifestOptions

        func run() async throws {
            let released = try await reportingFailures {
                guard try ManifestOptions.stateExists(at: manifests.statePath) else {
                    throw VMPlanError(.state, "error: no state database at \(manifests.shownStatePath); nothing was changed (or pass --state FILE|URL)")
                }
                let store = try manifests.openState(whenAbsent: .useEmptyInMemory)
                do {
                    return try store.unlock(id: id.trimmingCharacters(in: .whitespaces), by: currentActor)
                } catch let error as StateError {
                    throw VMPlanError(.state, "error: \(error)", cause: error)
                }
            }
            print("Released the lock \(id) of state \(manifests.shownStatePath), held by \(released)"
                + (released.heartbeatText().map { "; \($0)" } ?? "") + ".")
            print("Recorded as unlocked by \(currentActor).")
            if released.isAlive() {
                print("Its lease had not run out: if that run is still going, its next state write will be refused.")
            }
        }
    }
}
