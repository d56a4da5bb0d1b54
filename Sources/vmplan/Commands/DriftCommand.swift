import ArgumentParser
import Foundation
import Reconciler
import Reports
import Spec
import State

struct DriftCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "drift",
        abstract: "Report what changed on the hosts since vmplan applied, without changing anything.",
        discussion: """
            Read-only: no host is changed; only the check itself is recorded in the state database, \
            with each drift's first and last sighting (see --history). Per resource: drifted (changed on \
            the host by hand), missing (recorded, gone from the host), pending (the manifests moved past \
            what was applied: a commit not applied yet, never counted as drift), unknown (its host did not \
            answer; the other hosts are still checked) or in sync. Differences that lifecycle.ignoreChanges \
            or a DriftPolicy document names are counted as ignored. Exit status: 0 in sync, 2 drift or \
            missing resources found (or pending ones, with --exit-code-on pending), 1 error or a host that \
            could not be checked.
            """
    )

    enum Format: String, ExpressibleByArgument, CaseIterable {
        case table, json, markdown
    }

    enum ExitOn: String, ExpressibleByArgument, CaseIterable {
        case drift, pending
    }

    @OptionGroup var manifests: ManifestOptions
    @OptionGroup var connection: ConnectionOptions
    @OptionGroup var fleet: FleetOptions

    @Option(help: ArgumentHelp("Output: table (for people), json (docs/drift.md), markdown (pull-request comments, CI summaries).", valueName: "format"))
    var format: Format = .table

    @Flag(help: "Same as --format json.")
    var json = false

    @Option(name: .customLong("exit-code-on"), help: ArgumentHelp("Exit 2 for drift (the default), or also for pending manifest changes.", valueName: "drift|pending"))
    var exitOn: ExitOn = .drift

    @Flag(help: "Print, for each drifted resource, the manifest edit that makes the hand change permanent.")
    var suggest = false

    @Flag(help: "Show the recorded drift history (first seen, last seen, resolved) instead of checking the hosts.")
    var history = false

    @Option(name: .customLong("resource"), help: ArgumentHelp("With --history: only this resource's history (or: vmplan drift --history NAME).", valueName: "name"))
    var resource: String?

    func validate() throws {
        if resource != nil && !history { throw ValidationError("--resource goes with --history") }
        if json && format != .table && format != .json { throw ValidationError("--json and --format \(format.rawValue) disagree; pass one") }
    }

    func run() async throws {
        if history { return try await showHistory() }
        let report = try await reportingFailures {
            let session = try manifests.session(at: manifests.path, state: manifests.statePath, whenAbsent: .useEmptyInMemory,
                                                connection: connection, fleet: fleet)
            return try await session.drift()
        }
        switch (json ? .json : format, suggest) {
        case (_, true): print(DriftSuggestion.render(report))
        case (.json, _): print(try report.json())
        case (.markdown, _): print(DriftMarkdown.render(report))
        case (.table, _): print(DriftText.render(report))
        }
        if report.hasDrift || (exitOn == .pending && report.summary.pending > 0) { throw ExitCode(2) }
        if !report.unknownHosts.isEmpty { throw ExitCode.failure }
    }

    private func showHistory() async throws {
        // `vmplan drift --history web-1`: a name that is no manifest path is the resource to show.
        var manifests = manifests
        var resource = resource
        if resource == nil, manifests.path != ".", !FileManager.default.fileExists(atPath: manifests.path) {
            resource = manifests.path
            manifests.path = "."
        }
        let (options, name) = (manifests, resource)
        let records = try await reportingFailures {
            try options.openState(whenAbsent: .useEmptyInMemory).driftHistory(name: name)
        }
        guard !records.isEmpty else {
            print(resource.map { "No drift recorded for \($0)." } ?? "No drift recorded in \(manifests.shownStatePath).")
            return
        }
        let formatter = ISO8601DateFormatter()
        let rows = [["RESOURCE", "HOST", "FIELD", "RECORDED", "LIVE", "FIRST SEEN", "LAST SEEN", "SEEN", "RESOLVED"]] + records.map { record in
            ["\(record.kind)/\(record.name)".terminalSafe, record.host, record.field, (record.recorded ?? "-").terminalSafe,
             (record.live ?? "-").terminalSafe, formatter.string(from: record.firstSeen), formatter.string(from: record.lastSeen),
             "\(record.timesSeen)x" + (record.earlierOccurrences > 0 ? " (recurs: \(record.earlierOccurrences) before)" : ""),
             record.resolvedAt.map { "\(formatter.string(from: $0)) (\(record.resolution ?? "?"))" } ?? "open"]
        }
        print(TextTable.lines(rows).joined(separator: "\n"))
    }
}
