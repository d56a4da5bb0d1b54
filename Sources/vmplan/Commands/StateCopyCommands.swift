import ArgumentParser
import Foundation
import PostgresState
import Reports
import Spec
import State

extension StateCommand {
    struct Push: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Copy this state to a new, empty state: a PostgreSQL schema or a file.",
            discussion: """
                Copies everything the state holds (resources, runs, the journal, drift history, the storage vmplan \
                created, lock events, its id and serial) to --to, which must be new or empty: a state that holds \
                anything is never overwritten.

                The source (--state, VMPLAN_STATE or the file beside the manifests) is locked while it is read: a run \
                that holds it refuses the copy. The copy is read back and compared table by table (row counts and \
                SHA-256 of the rows). The source is left unchanged: use the copy from then on, and retire the source.

                Either backend to either, for example:
                  vmplan state push fleet/ --to 'postgres://vmplan@db/infra?schema=fleet'

                Exit status: 0 copied and verified, 1 refused or failed.
                """
        )

        @OptionGroup var manifests: ManifestOptions

        @Option(help: ArgumentHelp("The new state: postgres://USER@HOST:PORT/DATABASE?schema=NAME (the password from PGPASSWORD), "
            + "or a file that does not exist yet.", valueName: "url|file"))
        var to: String

        func run() async throws {
            try await copyState(from: manifests.statePath, to: to, direction: .push)
        }
    }

    struct Pull: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Copy another state into this one, which must be new or empty.",
            discussion: """
                The reverse of push: copies everything the state at --from holds into this state (--state, \
                VMPLAN_STATE or the file beside the manifests), which must not hold anything yet. --from is locked \
                while it is read, the copy is verified table by table (row counts and SHA-256 of the rows), and \
                --from is left unchanged.

                For example, to take the shared state VMPLAN_STATE names back into a file:
                  vmplan state pull fleet/ --from "$VMPLAN_STATE" --state fleet.db

                Exit status: 0 copied and verified, 1 refused or failed.
                """
        )

        @OptionGroup var manifests: ManifestOptions

        @Option(help: ArgumentHelp("The state to copy: postgres://USER@HOST:PORT/DATABASE?schema=NAME (the password from "
            + "PGPASSWORD), or a state file.", valueName: "url|file"))
        var from: String

        func run() async throws {
            try await copyState(from: from, to: manifests.statePath, direction: .pull)
        }
    }

    enum Direction: String { case push, pull }
}

/// Copies the state at `source` into the new state at `destination`, prints what was copied table by
/// table, and ends with status 1 when the copy was refused or does not read back as the source.
private func copyState(from source: String, to destination: String, direction: StateCommand.Direction) async throws {
    let (from, to) = (shownState(source), shownState(destination))
    let report = try await reportingFailures {
        guard from != to else {
            throw VMPlanError(.invalidInput, "error: the state to copy and the copy are the same state (\(from)); "
                + "name a file that does not exist yet, or a schema of its own (?schema=NAME). Nothing was changed.")
        }
        guard try ManifestOptions.stateExists(at: source) else {
            throw VMPlanError(.state, "error: no state at \(from): nothing to copy. Nothing was changed.")
        }
        let sourceStore = try ManifestOptions.openState(at: source, whenAbsent: .useEmptyInMemory)
        do {
            return try StateCopy.copy(from: sourceStore, to: { try ManifestOptions.openState(at: destination, whenAbsent: .create) },
                                      holder: "vmplan state \(direction.rawValue) (\(currentActor))", lease: try lockLease())
        } catch let error as StateError {
            throw VMPlanError(error.refusedWrite ? .locked : .state, "error: \(error)" + (error.refusedWrite ? "; nothing was copied." : ""),
                              cause: error)
        }
    }
    if let takeover = report.takeover { printError(takeover.description) }
    let copied = Dictionary(report.copy.map { ($0.table, $0) }, uniquingKeysWith: { first, _ in first })
    let rows = [["TABLE", "ROWS", "SHA-256 OF THE ROWS", "COPY"]] + report.source.map { table in
        let copy = copied[table.table]
        let same = copy?.count == table.count && copy?.sha256 == table.sha256
        return [table.table, String(table.count), table.sha256,
                same ? "same" : copy.map { "DIFFERS: \($0.count) rows, \($0.sha256.prefix(16))…" } ?? "MISSING"]
    }
    print("Copied state \(report.stateID) (serial \(report.serial)) from \(from) to \(to):\n")
    print(TextTable.lines(rows).joined(separator: "\n"))
    print("")
    guard report.verified else {
        printError("error: the copy at \(to) does not read back as the source (\(report.mismatches.map(\.source.table).joined(separator: ", ")) "
            + "differ): do not use it. Remove it, and report this as a vmplan bug with the table above. \(from) is unchanged.")
        throw ExitCode.failure
    }
    print("Verified: the copy holds the source's rows, table by table (row counts and SHA-256; dates to the millisecond).")
    switch direction {
    case .push:
        print("Use the copy from now on: --state \(ShellWord.quoted(to))"
            + (PostgresLocation.isURL(to) ? ", or VMPLAN_STATE, with the password in PGPASSWORD." : "."))
    case .pull:
        print("This state, \(to), is now a copy of \(from).")
    }
    print("\(from) is unchanged. Keep only one of the two in use and retire the other: both are state \(report.stateID), "
        + "so both take its domains for their own, and what one applies the other does not know.")
}
