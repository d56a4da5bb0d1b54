import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// The private libvirt host the integration tests run against (scripts/host-up starts it).
public enum TestHost {
    public static let uri = ProcessInfo.processInfo.environment["VMPLAN_TEST_URI"] ?? "qemu:///system"

    /// CI sets VMPLAN_REQUIRE_LIBVIRT=1: a missing host then fails the tests instead of skipping them.
    public static let required = ProcessInfo.processInfo.environment["VMPLAN_REQUIRE_LIBVIRT"] == "1"

    public static let skipReason = "needs a libvirt host at \(uri): run scripts/host-up (as root) first"

    /// True when the tests should run: the host answers, or CI requires it (and the tests then fail loudly).
    public static func shouldRun() -> Bool {
        if required { return true }
        let reachable = (try? run("virsh", ["-c", uri, "version"]).status) == 0
        if !reachable { print("SKIP: \(skipReason)") }
        return reachable
    }

    /// A domain name no other test (or earlier run) uses.
    public static func uniqueName(_ prefix: String) -> String {
        "vmplan-test-\(prefix)-\(UUID().uuidString.prefix(8).lowercased())"
    }

    public struct Output: Sendable {
        public var status: Int32
        public var stdout: String
        public var stderr: String
    }

    /// Runs a program found on PATH and collects its output. Spawned with posix_spawn and reaped with
    /// waitpid, output through files: with many tests running programs at once, Foundation's Process
    /// on Linux can miss a child's exit and wait for ever on a zombie.
    @discardableResult
    public static func run(_ program: String, _ arguments: [String], input: String? = nil,
                           environment: [String: String]? = nil) throws -> Output {
        let base = FileManager.default.temporaryDirectory.appendingPathComponent("vmplan-run-\(UUID().uuidString)").path
        let (inPath, outPath, errPath) = (base + ".in", base + ".out", base + ".err")
        defer { for path in [inPath, outPath, errPath] { unlink(path) } }
        try (input ?? "").write(toFile: inPath, atomically: false, encoding: .utf8)

        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, inPath, O_RDONLY, 0)
        posix_spawn_file_actions_addopen(&actions, 1, outPath, O_WRONLY | O_CREAT | O_TRUNC, 0o600)
        posix_spawn_file_actions_addopen(&actions, 2, errPath, O_WRONLY | O_CREAT | O_TRUNC, 0o600)
        let variables = ProcessInfo.processInfo.environment.merging(environment ?? [:]) { $1 }.map { "\($0)=\($1)" }
        let argv = ([program] + arguments).map { strdup($0) } + [nil]
        let envp = variables.map { strdup($0) } + [nil]
        defer { for pointer in argv + envp { free(pointer) } }
        var pid: pid_t = 0
        let spawned = posix_spawnp(&pid, program, &actions, nil, argv, envp)
        guard spawned == 0 else {
            throw CocoaError(.executableLoad, userInfo: [NSLocalizedDescriptionKey: "cannot run \(program): \(String(cString: strerror(spawned)))"])
        }
        var status: Int32 = 0
        while waitpid(pid, &status, 0) < 0 && errno == EINTR {}
        // Exited: the code; killed by a signal: 128 + the signal, as a shell says.
        let code = status & 0x7f == 0 ? (status >> 8) & 0xff : 128 + (status & 0x7f)
        let read = { (path: String) in (try? String(contentsOfFile: path, encoding: .utf8)) ?? "" }
        return Output(status: code, stdout: read(outPath), stderr: read(errPath))
    }

    /// `virsh -c URI ...`
    @discardableResult
    public static func virsh(_ arguments: String...) throws -> Output {
        try run("virsh", ["-c", uri] + arguments)
    }

    /// Removes test domains whatever state they are in.
    public static func removeDomains(_ names: [String]) {
        for name in names {
            _ = try? virsh("destroy", name)
            _ = try? virsh("undefine", name, "--nvram")
        }
    }

    /// The persistent XML of a domain as libvirt reports it, or nil when it does not exist.
    public static func inactiveXML(_ name: String) throws -> String? {
        let output = try virsh("dumpxml", "--inactive", name)
        return output.status == 0 ? output.stdout : nil
    }

    /// `virsh domstate` ("running", "shut off", ...), or nil when the domain does not exist.
    public static func domainState(_ name: String) throws -> String? {
        let output = try virsh("domstate", name)
        return output.status == 0 ? output.stdout.trimmingCharacters(in: .whitespacesAndNewlines) : nil
    }

    /// The text of the first `<tag ...>text</tag>` in `xml`.
    public static func element(_ tag: String, in xml: String) -> String? {
        guard let open = xml.range(of: "<\(tag)[ >]", options: .regularExpression),
              let end = xml.range(of: ">", range: open.lowerBound..<xml.endIndex),
              let close = xml.range(of: "</\(tag)>", range: end.upperBound..<xml.endIndex) else { return nil }
        return String(xml[end.upperBound..<close.lowerBound])
    }

    /// The whole opening tag `<tag ...>` of the first `tag` in `xml`.
    public static func openingTag(_ tag: String, in xml: String) -> String? {
        guard let open = xml.range(of: "<\(tag)[ >/]", options: .regularExpression),
              let end = xml.range(of: ">", range: open.lowerBound..<xml.endIndex) else { return nil }
        return String(xml[open.lowerBound..<end.upperBound])
    }
}

extension TestHost {
    /// True when `command` is on PATH.
    public static func commandExists(_ command: String) -> Bool {
        (try? run("sh", ["-c", "command -v \(command)"]).status) == 0
    }
}

/// The Xen test host that scripts/xen/up boots under QEMU; its libvirtd (libxl) answers on a forwarded port.
public enum XenTestHost {
    public static let uri = ProcessInfo.processInfo.environment["VMPLAN_XEN_URI"] ?? "xen+tcp://127.0.0.1:16509/system"
    /// CI sets VMPLAN_REQUIRE_XEN=1: the Xen suite then fails loudly instead of skipping.
    public static let required = ProcessInfo.processInfo.environment["VMPLAN_REQUIRE_XEN"] == "1"
    /// Inside dom0: the tiny PV guest's kernel and initramfs that the image carries.
    public static let guestKernel = "/var/lib/vmplan/guest/vmlinuz"
    public static let guestInitrd = "/var/lib/vmplan/guest/initrd.gz"

    public static func shouldRun() -> Bool {
        if required { return true }
        let reachable = (try? TestHost.run("timeout", ["15", "virsh", "-c", uri, "version"]).status) == 0
        if !reachable { print("SKIP: needs the Xen test host at \(uri): run scripts/xen/up (as root) first") }
        return reachable
    }

    @discardableResult
    public static func virsh(_ arguments: String...) throws -> TestHost.Output {
        try TestHost.run("virsh", ["-c", uri] + arguments)
    }

    public static func domainState(_ name: String) throws -> String? {
        let output = try virsh("domstate", name)
        return output.status == 0 ? output.stdout.trimmingCharacters(in: .whitespacesAndNewlines) : nil
    }

    public static func removeDomains(_ names: [String]) {
        for name in names {
            _ = try? virsh("destroy", name)
            _ = try? virsh("undefine", name)
        }
    }

    /// Runs a read-only shell command inside dom0 (through its serial console) and returns what it
    /// printed. Typed input can be lost when dom0 is slow to read its console (a busy machine): a
    /// command that got no answer is typed once more, with more time.
    public static func dom0(_ command: String) throws -> TestHost.Output {
        let script = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("scripts/xen/dom0-sh").path
        let first = try TestHost.run(script, [command])
        guard first.status != 0, first.stderr.contains("no answer from dom0") else { return first }
        return try TestHost.run(script, [command], environment: ["VMPLAN_XEN_SH_TIMEOUT": "90"])
    }
}

/// The extra libvirt hosts scripts/hosts-up starts, each its own libvirtd listening on
/// qemu+tcp://127.0.10.N/system, for fleet tests (several hosts, one killed or stopped).
public enum TestHosts {
    /// CI sets VMPLAN_REQUIRE_FLEET=1: missing hosts then fail the fleet tests instead of skipping them.
    public static let required = ProcessInfo.processInfo.environment["VMPLAN_REQUIRE_FLEET"] == "1"
    /// Where scripts/hosts-up keeps each host's directories and pid file.
    public static let directory = ProcessInfo.processInfo.environment["VMPLAN_HOSTS_DIR"] ?? "/var/lib/vmplan-hosts"

    public static func uri(_ index: Int) -> String { "qemu+tcp://127.0.10.\(index)/system" }

    /// The pid of host `index`'s libvirtd, from its pid file.
    public static func pid(_ index: Int) -> Int32? {
        let file = "\(directory)/host\(index)/libvirtd.pid"
        return (try? String(contentsOfFile: file, encoding: .utf8))
            .flatMap { Int32($0.trimmingCharacters(in: .whitespacesAndNewlines)) }
    }

    /// True when hosts 1 through `count` answer, or CI requires them (and the tests then fail loudly).
    public static func shouldRun(count: Int = 3) -> Bool {
        if required { return true }
        let missing = (1...count).filter { (try? TestHost.run("timeout", ["10", "virsh", "-c", uri($0), "version"]).status) != 0 }
        if !missing.isEmpty {
            print("SKIP: needs \(count) extra libvirt hosts at \(uri(1)) … \(uri(count)) (\(missing.map { "host\($0)" }.joined(separator: ", ")) "
                + "missing): run scripts/hosts-up \(count) (as root) first")
        }
        return missing.isEmpty
    }

    /// `virsh -c qemu+tcp://127.0.10.N/system ...`
    @discardableResult
    public static func virsh(_ index: Int, _ arguments: String...) throws -> TestHost.Output {
        try TestHost.run("timeout", ["20", "virsh", "-c", uri(index)] + arguments)
    }

    /// Starts the hosts again (a killed host restarts, a stopped one is continued) and waits until they answer.
    public static func restore(count: Int = 3) {
        for index in 1...count {
            if let pid = pid(index) { kill(pid, SIGCONT) }
        }
        let script = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("scripts/hosts-up").path
        // system(3), not Process: the daemons it starts outlive it, and its output only goes to the test log.
        let status = system("'\(script)' \(count) >/dev/null 2>&1")
        if status != 0 { print("hosts-up \(count) exited with status \(status)") }
    }
}
