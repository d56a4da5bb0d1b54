import Foundation
import Spec

/// A git repository, read through the `git` program: manifests come from a commit's tree,
/// never from a working tree, so uncommitted and untracked files are never applied.
public struct GitRepository: Sendable {
    /// What the user named: a path or a URL.
    public let location: String
    /// The local repository git is run against (for a URL, a bare clone made for this run).
    public let directory: String

    /// Opens a local repository (bare or not), or clones a URL (bare, into a temporary directory).
    public static func open(_ location: String) throws -> GitRepository {
        guard !location.hasPrefix("-") else { throw failure("'\(location)' is not a repository path or URL") }
        if FileManager.default.fileExists(atPath: location) {
            _ = try git(["-C", location, "rev-parse", "--git-dir"], what: "'\(location)' is not a git repository")
            return GitRepository(location: location, directory: location)
        }
        let clone = FileManager.default.temporaryDirectory.appendingPathComponent("vmplan-git-\(UUID().uuidString)").path
        _ = try git(["clone", "--bare", "--quiet", "--", location, clone], what: "cannot clone \(location)")
        return GitRepository(location: location, directory: clone)
    }

    /// The full commit id `ref` names.
    public func commit(_ ref: String) throws -> String {
        guard !ref.hasPrefix("-"), !ref.isEmpty else { throw Self.failure("'\(ref)' is not a git ref") }
        return try run(["rev-parse", "--verify", "--quiet", "--end-of-options", "\(ref)^{commit}"],
                       what: "'\(ref)' names no commit in \(location)")
    }

    /// `Name <email>` of the commit's author.
    public func author(of commit: String) throws -> String {
        try run(["log", "-1", "--format=%an <%ae>", commit, "--"], what: "cannot read the author of \(commit)")
    }

    /// Whether `older` is `newer` or one of its ancestors; false when `older` is not in this repository.
    public func isAncestor(_ older: String, of newer: String) throws -> Bool {
        let result = try Self.execute(["-C", directory, "merge-base", "--is-ancestor", older, newer])
        switch result.status {
        case 0: return true
        case 1: return false
        default:
            if (try? Self.execute(["-C", directory, "cat-file", "-e", "\(older)^{commit}"]).status) != 0 {
                // A shallow clone (CI checkouts are, by default) lacks the older commit without it being
                // gone: comparing there would call every fast-forward a rollback.
                if (try? Self.execute(["-C", directory, "rev-parse", "--is-shallow-repository"]).output) == "true" {
                    throw Self.failure("\(location) is a shallow clone without commit \(older.prefix(12)), the last one reconciled, so "
                        + "vmplan cannot tell a fast-forward from a rollback. Fetch the full history (git fetch --unshallow; "
                        + "actions/checkout with fetch-depth: 0; GitLab GIT_DEPTH: 0) and run again")
                }
                // History rewritten: the older commit is gone, so it is no ancestor.
                return false
            }
            throw Self.failure("cannot compare \(older) with \(newer) in \(location): \(result.error)")
        }
    }

    /// Writes the files of `commit` (under `path`, or all of them) into `directory`, as committed.
    public func extract(_ commit: String, into target: String) throws {
        try FileManager.default.createDirectory(atPath: target, withIntermediateDirectories: true)
        let archive = Process()
        archive.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        archive.arguments = ["git", "-C", directory, "archive", "--format=tar", commit]
        let tar = Process()
        tar.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        tar.arguments = ["tar", "-x", "-C", target]
        // Each process gets its own stderr pipe: Foundation closes the parent's end of a pipe once
        // the process it was given to has started.
        let pipe = Pipe()
        let (archiveErrors, tarErrors) = (Pipe(), Pipe())
        archive.standardOutput = pipe
        archive.standardError = archiveErrors
        tar.standardInput = pipe
        tar.standardError = tarErrors
        try archive.run()
        try tar.run()
        let messages = [archiveErrors, tarErrors].map { String(decoding: $0.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self) }
        archive.waitUntilExit()
        tar.waitUntilExit()
        guard archive.terminationStatus == 0, tar.terminationStatus == 0 else {
            let message = messages.joined(separator: " ")
            throw Self.failure("cannot read the files of \(commit) from \(location): \(message.trimmingCharacters(in: .whitespacesAndNewlines))")
        }
    }

    private func run(_ arguments: [String], what: String) throws -> String {
        try Self.git(["-C", directory] + arguments, what: what)
    }

    private static func git(_ arguments: [String], what: String) throws -> String {
        let result = try execute(arguments)
        guard result.status == 0 else {
            throw failure(what + (result.error.isEmpty ? "" : ": \(result.error)"))
        }
        return result.output
    }

    private static func execute(_ arguments: [String]) throws -> (status: Int32, output: String, error: String) {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["git"] + arguments
        var environment = ProcessInfo.processInfo.environment
        environment["GIT_TERMINAL_PROMPT"] = "0"
        process.environment = environment
        let output = Pipe()
        let error = Pipe()
        process.standardOutput = output
        process.standardError = error
        do {
            try process.run()
        } catch {
            throw failure("cannot run git (install it: apt-get install git): \(error)")
        }
        let out = output.fileHandleForReading.readDataToEndOfFile()
        let err = error.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return (process.terminationStatus, String(decoding: out, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines),
                String(decoding: err, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines))
    }

    static func failure(_ message: String) -> VMPlanError {
        VMPlanError(.invalidInput, "error: \(message)")
    }
}
