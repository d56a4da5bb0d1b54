import ArgumentParser
import Foundation
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
        do {
            return try ManifestLoader.load(path: path)
        } catch let error as ManifestError {
            throw CLIFailure(error.description)
        }
    }

    func openState() throws -> StateDatabase {
        do {
            return try StateDatabase(path: statePath)
        } catch {
            throw CLIFailure("\(error)")
        }
    }
}

/// How much of the plan to show.
struct OutputOptions: ParsableArguments {
    @Flag(help: "Name every unmanaged domain instead of the first 10 per host.")
    var showUnmanaged = false

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
