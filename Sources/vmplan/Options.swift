import ArgumentParser
import Foundation
import Reconciler
import Spec
import State

/// Where the manifests and the state database are.
struct ManifestOptions: ParsableArguments {
    @Argument(help: "A manifest file or a directory of manifests (*.yaml, *.yml).", completion: .file())
    var path: String = "."

    @Option(name: .long, help: ArgumentHelp("State database file.", discussion: "Default: .vmplan/state.db beside the manifests.", valueName: "file"))
    var state: String?

    /// `.vmplan/state.db` in the manifest directory (or in the directory of a manifest file).
    var statePath: String {
        if let state { return state }
        var isDirectory: ObjCBool = false
        let base = FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) && !isDirectory.boolValue
            ? (path as NSString).deletingLastPathComponent
            : path
        return ((base.isEmpty ? "." : base) as NSString).appendingPathComponent(".vmplan/state.db")
    }

    func loadManifest() throws -> Manifest {
        try Self.loadManifest(at: path)
    }

    func openState() throws -> StateDatabase {
        try Self.openState(at: statePath)
    }

    static func loadManifest(at path: String) throws -> Manifest {
        do {
            return try ManifestLoader.load(path: path)
        } catch let error as ManifestError {
            throw CLIFailure(error.description)
        }
    }

    static func openState(at path: String) throws -> StateDatabase {
        do {
            return try StateDatabase(path: path)
        } catch {
            throw CLIFailure("\(error)")
        }
    }
}

/// Which VMs a plan covers.
struct ScopeOptions: ParsableArguments {
    @Option(name: .customLong("target"), help: ArgumentHelp("Plan only this VirtualMachine (repeatable). For exceptions, not routine use.", valueName: "name"))
    var targets: [String] = []

    @Option(name: .customLong("replace"), help: ArgumentHelp("Delete and create this VirtualMachine again even if nothing changed (repeatable).", valueName: "name"))
    var replace: [String] = []

    var planOptions: PlanOptions { PlanOptions(targets: Set(targets), replace: Set(replace)) }
}

/// How much of the plan to show, and in which form.
struct OutputOptions: ParsableArguments {
    @Flag(help: "Name every unmanaged domain instead of the first 10 per host.")
    var showUnmanaged = false

    @Flag(help: "Print the machine-readable form (docs/json-format.md) instead of text.")
    var json = false

    var unmanagedShown: Int { showUnmanaged ? Int.max : 10 }
}

/// A failure already explained in full; printed as is, exit status 1.
struct CLIFailure: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}

/// The name recorded as the actor of a run.
var currentActor: String {
    let user = ProcessInfo.processInfo.environment["USER"] ?? "unknown"
    return "\(user)@\(ProcessInfo.processInfo.hostName)"
}

/// Prints to standard error.
func printError(_ text: String) {
    FileHandle.standardError.write(Data((text + "\n").utf8))
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

/// An absolute form of a path, for plan files that may be applied from another directory.
func absolutePath(_ path: String) -> String {
    URL(fileURLWithPath: path).standardizedFileURL.path
}
