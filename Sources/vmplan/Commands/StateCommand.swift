import ArgumentParser
import Foundation
import Reports
import Spec
import State

struct StateCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "state",
        abstract: "Inspect the recorded state.",
        subcommands: [List.self]
    )

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List the resources vmplan has applied.")

        @OptionGroup var manifests: ManifestOptions

        func run() async throws {
            let (stateID, records) = try await reportingFailures {
                guard FileManager.default.fileExists(atPath: manifests.statePath) else {
                    throw VMPlanError(.state, "no state database at \(manifests.statePath): nothing has been applied from \(manifests.path) yet (or pass --state FILE)")
                }
                let store = try manifests.openState(whenAbsent: .useEmptyInMemory)
                return (try store.stateID(), try store.resources())
            }
            // The id every domain of this state carries in its marker (see --adopt).
            print("State \(stateID) (\(manifests.statePath))\n")
            guard !records.isEmpty else {
                print("No resources recorded in \(manifests.statePath).")
                return
            }
            let formatter = ISO8601DateFormatter()
            let rows = [["KIND", "NAME", "HOST", "GENERATION", "SPEC HASH", "APPLIED AT", "PENDING"]]
                + records.map {
                    [$0.kind, $0.name, $0.host, String($0.generation), $0.specHash, formatter.string(from: $0.appliedAt),
                     $0.pendingRestart.isEmpty ? "-" : "restart: \($0.pendingRestart.joined(separator: ", "))"]
                }
            print(TextTable.lines(rows).joined(separator: "\n"))
        }
    }
}
