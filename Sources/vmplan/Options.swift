import ArgumentParser
import Drivers
import Foundation
import PostgresState
import Reconciler
import Spec
import State

/// Where the manifests and the state database are.
struct ManifestOptions: ParsableArguments {
    @Argument(help: "A manifest file or a directory of manifests (*.yaml, *.yml).", completion: .file())
    var path: String = "."

    @Option(name: .long, help: ArgumentHelp("State database file, or a PostgreSQL state: postgres://USER@HOST:PORT/DATABASE?schema=NAME.", discussion: """
        Default: $VMPLAN_STATE when set; else .vmplan/state.db in the manifest directory; for a single manifest file, \
        .vmplan/FILE.db beside it (team-a.yaml: .vmplan/team-a.yaml.db), so that sibling files \
        never share a state and never plan to remove each other's resources. A PostgreSQL password \
        comes from PGPASSWORD (or the URL; it is never shown).
        """, valueName: "file|url"))
    var state: String?

    /// Each manifest root has its own state: a directory `DIR/.vmplan/state.db`, a file
    /// `.vmplan/FILE.db` beside it; `--state`, then `VMPLAN_STATE` (for CI), override that.
    var statePath: String {
        if let state = state ?? environmentState { return state }
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory), !isDirectory.boolValue else {
            return ((path.isEmpty ? "." : path) as NSString).appendingPathComponent(".vmplan/state.db")
        }
        let directory = (path as NSString).deletingLastPathComponent
        let file = (path as NSString).lastPathComponent
        return ((directory.isEmpty ? "." : directory) as NSString).appendingPathComponent(".vmplan/\(file).db")
    }

    func loadManifest() throws -> Manifest {
        try Self.loadManifest(at: path)
    }

    /// The state as messages name it: a PostgreSQL URL without its password.
    var shownStatePath: String { shownState(statePath) }

    func openState(whenAbsent: StateDatabase.Absent) throws -> any StateStore {
        try Self.openState(at: statePath, whenAbsent: whenAbsent)
    }

    static func loadManifest(at path: String) throws -> Manifest {
        do {
            return try ManifestLoader.load(path: path)
        } catch let error as ManifestError {
            throw VMPlanError(.invalidInput, error.description, cause: error)
        }
    }

    /// Runs that only read (plan, drift, inventory) pass `.useEmptyInMemory`: a state that does not
    /// exist yet (no file; for PostgreSQL, no schema) is planned against as empty, and nothing is
    /// created, neither the file and its directory nor the schema.
    static func openState(at path: String, whenAbsent: StateDatabase.Absent) throws -> any StateStore {
        let store: any StateStore
        do {
            store = PostgresLocation.isURL(path)
                ? try PostgresStateStore.open(url: path, whenAbsent: whenAbsent)
                : try StateDatabase(path: path, whenAbsent: whenAbsent)
        } catch {
            throw VMPlanError(.state, "error: \(error)", cause: error as? StateError)
        }
        if let notice = (store as? StateDatabase)?.notice { printError(notice) }
        return store
    }

    /// Whether there is a state at `path` (a file, or a PostgreSQL schema with tables), without creating it.
    static func stateExists(at path: String) throws -> Bool {
        guard PostgresLocation.isURL(path) else { return FileManager.default.fileExists(atPath: path) }
        do {
            return try PostgresStateStore.exists(url: path)
        } catch {
            throw VMPlanError(.state, "error: \(error)", cause: error as? StateError)
        }
    }

    /// A run over the manifests at `path` and the state at `state` (a saved plan names both).
    func session(at path: String, state: String, whenAbsent: StateDatabase.Absent, connection: ConnectionOptions,
                 fleet: FleetOptions) throws -> Session {
        var session = Session(manifest: try Self.loadManifest(at: path), store: try Self.openState(at: state, whenAbsent: whenAbsent),
                              manifestsPath: absolutePath(path), statePath: shownState(state), actor: currentActor,
                              connect: connection.connector)
        session.parallelism = fleet.parallelism
        session.lockLease = try lockLease()
        return session
    }

    /// The saved plan `path` names, or nil when it is a manifest file or directory.
    func savedPlan() throws -> SavedPlan? {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory), !isDirectory.boolValue,
              let data = FileManager.default.contents(atPath: path) else { return nil }
        do {
            return try PlanReport.savedPlan(from: data).map { SavedPlan(report: $0, path: path) }
        } catch {
            throw VMPlanError(.invalidInput, "error: \(path): \(error)")
        }
    }
}

/// How long a host may take to answer.
struct ConnectionOptions: ParsableArguments {
    @Option(help: ArgumentHelp("Seconds to wait for a host to accept the connection and answer; a stopped or hung "
        + "libvirtd then fails the command with its name instead of hanging it. Once connected, libvirt's keepalive "
        + "(a ping every 5 s, 3 missed) ends calls to a host that stops answering.", valueName: "seconds"))
    var connectTimeout: Double = 30

    func validate() throws {
        guard connectTimeout > 0, connectTimeout <= 3600 else {
            throw ValidationError("--connect-timeout must be more than 0 and at most 3600 seconds")
        }
    }

    var limits: ConnectionLimits { ConnectionLimits(connect: .milliseconds(Int(connectTimeout * 1000))) }

    var connector: Reconciliation.Connector {
        { [limits] host in try await LibvirtDriver.connect(to: host, limits: limits) }
    }
}

/// How many hosts a run works on at once.
struct FleetOptions: ParsableArguments {
    @Option(help: ArgumentHelp("How many hosts to observe and change at once. A host that cannot be reached is reported "
        + "unreachable with the reason, its resources unknown, and the others are still planned and applied (exit status 5).",
        valueName: "hosts"))
    var parallelism: Int = defaultParallelism

    func validate() throws {
        guard parallelism >= 1, parallelism <= 1000 else {
            throw ValidationError("--parallelism must be from 1 to 1000 hosts")
        }
    }
}

/// Which VMs a plan covers.
struct ScopeOptions: ParsableArguments {
    @Option(name: .customLong("target"), help: ArgumentHelp("Plan only this VirtualMachine (repeatable). For exceptions, not routine use.", valueName: "name"))
    var targets: [String] = []

    @Option(name: .customLong("replace"), help: ArgumentHelp("Delete and create this VirtualMachine again even if nothing changed (repeatable).", valueName: "name"))
    var replace: [String] = []

    @Option(name: .customLong("adopt"), help: ArgumentHelp("Take this VirtualMachine's domain over from the vmplan state "
        + "whose marker it carries (repeatable); its marker is rewritten to name this state. The other state then only forgets it.",
        valueName: "name"))
    var adopt: [String] = []

    var planOptions: PlanOptions { PlanOptions(targets: Set(targets), replace: Set(replace), adopt: Set(adopt)) }
}

/// The forms plan and apply print in.
enum OutputFormat: String, ExpressibleByArgument, CaseIterable {
    case text, json, markdown
    /// Markdown, also appended to the job summary file GitHub Actions names in $GITHUB_STEP_SUMMARY.
    case github
}

/// How much of the plan to show, and in which form.
struct OutputOptions: ParsableArguments {
    @Flag(help: "Name every unmanaged domain instead of the first 10 per host.")
    var showUnmanaged = false

    @Option(name: .customLong("format"), help: ArgumentHelp("Output: text (for people), json (docs/json-format.md), markdown "
        + "(pull-request comments), github (markdown, also appended to $GITHUB_STEP_SUMMARY when it is set).", valueName: "format"))
    var requestedFormat: OutputFormat = .text

    @Flag(help: "Same as --format json.")
    var json = false

    func validate() throws {
        if json && requestedFormat != .text && requestedFormat != .json {
            throw ValidationError("--json and --format \(requestedFormat.rawValue) disagree; pass one")
        }
    }

    var format: OutputFormat { json ? .json : requestedFormat }
    /// Standard output carries one document (JSON or Markdown): progress and notices go to standard error.
    var isDocument: Bool { format != .text }
    var unmanagedShown: Int { showUnmanaged ? Int.max : 10 }
    /// A comment has less room than a terminal.
    var markdownDomainsShown: Int { showUnmanaged ? Int.max : 5 }

    /// Prints a Markdown report; with --format github, also appends it to $GITHUB_STEP_SUMMARY when that is set.
    func publish(markdown: String) throws {
        print(markdown, terminator: "")
        fflush(nil)
        guard format == .github, let path = ProcessInfo.processInfo.environment["GITHUB_STEP_SUMMARY"], !path.isEmpty else { return }
        // Another step's text that does not end its last line would run into the title.
        let file = open(path, O_RDWR | O_APPEND | O_CREAT | O_CLOEXEC, 0o644)
        var last: UInt8 = 0
        let end = file < 0 ? -1 : lseek(file, 0, SEEK_END)
        let separator = end > 0 && pread(file, &last, 1, end - 1) == 1 && last != UInt8(ascii: "\n") ? "\n" : ""
        let bytes = Array((separator + markdown).utf8)
        let written = file < 0 ? -1 : bytes.withUnsafeBytes { write(file, $0.baseAddress, $0.count) }
        let reason = String(cString: strerror(errno))
        if file >= 0 { close(file) }
        guard written == bytes.count else {
            throw VMPlanError(.invalidInput, "error: cannot append the report to $GITHUB_STEP_SUMMARY (\(path)): \(reason). "
                + "It was printed above; point the variable at a writable file, unset it, or pass --format markdown.")
        }
    }
}

/// A plan or apply that could not reach some hosts and did all it could on the others
/// (docs/how-it-works.md: exit codes; 2 is taken by --detailed-exitcode, 3 and 4 by reconcile).
let partialResultExitStatus: Int32 = 5

/// The name recorded as the actor of a run.
var currentActor: String {
    // Hooks and CI jobs often run without USER: the account's name is the fallback.
    let environment = ProcessInfo.processInfo.environment
    let user = environment["USER"] ?? environment["LOGNAME"] ?? getpwuid(getuid()).flatMap { String(validatingCString: $0.pointee.pw_name) } ?? "unknown"
    return "\(user)@\(ProcessInfo.processInfo.hostName)"
}

/// Prints a line at once; with --json or Markdown, to standard error, since standard output then
/// carries the document only.
func say(_ text: String, toStandardError: Bool) {
    if toStandardError {
        printError(text)
    } else {
        print(text)
        fflush(nil)
    }
}

/// Prints to standard error.
func printError(_ text: String) {
    FileHandle.standardError.write(Data((text + "\n").utf8))
}

/// Prints an explained failure to standard error and ends with its exit status (1 for any other error).
func reportingFailures<T>(_ body: () async throws -> T) async throws -> T {
    do {
        return try await body()
    } catch let error as ExitCode {
        throw error
    } catch let error as VMPlanError {
        printError(error.description)
        throw ExitCode(error.exitStatus)
    } catch {
        printError("\(error)")
        throw ExitCode.failure
    }
}

/// An absolute form of a path, for plan files that may be applied from another directory.
func absolutePath(_ path: String) -> String {
    URL(fileURLWithPath: path).standardizedFileURL.path
}

/// A state as plans and messages name it: a file's absolute path, a PostgreSQL URL without its
/// password (a saved plan applied later takes the password from PGPASSWORD).
func shownState(_ state: String) -> String {
    guard PostgresLocation.isURL(state) else { return absolutePath(state) }
    return (try? PostgresLocation(url: state, environment: [:]).redacted) ?? PostgresLocation.redact(state)
}

/// `VMPLAN_STATE`: the state to use when `--state` is not given (CI runners sharing a PostgreSQL state).
var environmentState: String? {
    ProcessInfo.processInfo.environment["VMPLAN_STATE"].flatMap { $0.isEmpty ? nil : $0 }
}

/// `VMPLAN_LOCK_LEASE`: how many seconds a run's lock binds without a heartbeat (60 by default); the
/// lock of a run whose machine or process died is taken over that long after its last heartbeat.
func lockLease() throws -> TimeInterval {
    guard let text = ProcessInfo.processInfo.environment["VMPLAN_LOCK_LEASE"], !text.isEmpty else { return LockRequest.defaultLease }
    guard let seconds = TimeInterval(text), seconds >= 1, seconds <= 86_400 else {
        throw VMPlanError(.invalidInput, "error: VMPLAN_LOCK_LEASE must be a number of seconds from 1 to 86400; got '\(text.terminalSafe)'")
    }
    return seconds
}
