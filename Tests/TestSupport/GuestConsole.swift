import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// The serial console of a running test guest, read and written through the pty QEMU opened for the
/// domain's `<serial type='pty'>` (its path is in the live domain XML). The guest keeps a root shell
/// there without a login. QEMU drops what the guest prints while no one has the pty open, so a test
/// opens the console right after starting the VM and keeps it open while it needs the guest.
public final class GuestConsole {
    public struct Failure: Error, CustomStringConvertible {
        public var description: String
    }

    public let domain: String
    public let path: String
    private let descriptor: Int32
    /// Everything the guest printed since the console was opened.
    public private(set) var transcript = ""
    /// Where the next search of the transcript starts (a UTF-8 offset): what a wait found is not found again.
    private var consumed = 0
    /// Tells this console's markers apart from any earlier session's still on the screen.
    private let session = UUID().uuidString.prefix(8).lowercased()
    private var commands = 0

    /// Opens the console of the running domain `domain` on the test host.
    public init(domain: String) throws {
        self.domain = domain
        let xml = try TestHost.virsh("dumpxml", domain)
        guard xml.status == 0, let path = Self.ptyPath(inLiveXML: xml.stdout) else {
            throw Failure(description: "domain \(domain) has no <serial type='pty'> with a source path (is it running?): \(xml.stderr)")
        }
        self.path = path
        descriptor = open(path, O_RDWR | O_NOCTTY | O_NONBLOCK)
        guard descriptor >= 0 else {
            throw Failure(description: "cannot open \(domain)'s serial console \(path): \(String(cString: strerror(errno)))")
        }
        // QEMU makes the pty raw; make sure nothing here echoes the guest's output back to it.
        var settings = termios()
        if tcgetattr(descriptor, &settings) == 0 {
            cfmakeraw(&settings)
            tcsetattr(descriptor, TCSANOW, &settings)
        }
    }

    deinit { close(descriptor) }

    /// `<serial type='pty'><source path='/dev/pts/N'/>` of a running domain's XML.
    static func ptyPath(inLiveXML xml: String) -> String? {
        guard let serial = xml.range(of: "<serial type='pty'>"),
              let end = xml.range(of: "</serial>", range: serial.upperBound..<xml.endIndex),
              let match = xml[serial.upperBound..<end.lowerBound].firstMatch(of: /<source path='([^']+)'/) else { return nil }
        return String(match.1)
    }

    /// Waits until the guest's shell answers: it has booted, and its power button, DHCP and drivers are set up.
    public func waitForShell(timeout: Duration = .seconds(300)) throws {
        let deadline = ContinuousClock.now + timeout
        var probe = 0
        while ContinuousClock.now < deadline {
            probe += 1
            // The quotes keep the echo of the typed line from matching: only the shell's output does.
            try write("echo VMPLAN\"\"-READY-\(session)-\(probe)\n")
            if (try? waitFor("VMPLAN-READY-\(session)-", timeout: .seconds(3))) != nil { return }
        }
        throw failure("the guest's shell did not answer within \(timeout)")
    }

    /// Runs `command` in the guest's shell and returns what it printed (lines end in "\n").
    /// Fails when the command exits with another status than 0, or does not finish in `timeout`.
    @discardableResult
    public func run(_ command: String, timeout: Duration = .seconds(60)) throws -> String {
        commands += 1
        let marker = "\(session)-\(commands)"
        try write("echo VMPLAN\"\"-BEGIN-\(marker); \(command); echo VMPLAN\"\"-END-\(marker)-$?\n")
        let end = try waitFor("VMPLAN-END-\(marker)-", timeout: timeout)
        try waitFor("\n", timeout: .seconds(10))  // the rest of the line: the exit status
        let text = transcript[..<end.lowerBound]
        guard let begin = text.range(of: "VMPLAN-BEGIN-\(marker)\r\n", options: .backwards) else {
            throw failure("the output of '\(command)' has no start marker")
        }
        let status = transcript[end.upperBound...].prefix { $0.isNumber }
        let output = text[begin.upperBound...].replacingOccurrences(of: "\r\n", with: "\n")
        guard status == "0" else { throw failure("'\(command)' exited with status \(status): \(output)") }
        return output
    }

    /// Waits until the guest prints `text` and returns where it is in the transcript.
    @discardableResult
    public func waitFor(_ text: String, timeout: Duration) throws -> Range<String.Index> {
        let deadline = ContinuousClock.now + timeout
        while true {
            let start = transcript.utf8.index(transcript.startIndex, offsetBy: consumed)
            if let found = transcript.range(of: text, range: start..<transcript.endIndex) {
                consumed = transcript.utf8.distance(from: transcript.startIndex, to: found.upperBound)
                return found
            }
            let left = deadline - ContinuousClock.now
            guard left > .zero else { throw failure("the guest did not print '\(text)' within \(timeout)") }
            try read(for: min(left, .milliseconds(500)))
        }
    }

    /// Polls `command` until `condition` holds for its output, and returns that output.
    public func poll(_ command: String, timeout: Duration = .seconds(60), until condition: (String) -> Bool) throws -> String {
        let deadline = ContinuousClock.now + timeout
        var last = ""
        while ContinuousClock.now < deadline {
            last = try run(command)
            if condition(last) { return last }
            Thread.sleep(forTimeInterval: 1)
        }
        throw failure("'\(command)' did not print what was expected within \(timeout); last output: \(last)")
    }

    /// The command `memTotalKiB(in:)` reads.
    public static let memTotalCommand = "grep MemTotal /proc/meminfo"

    /// The guest's own MemTotal, in KiB, from what `memTotalCommand` printed.
    public static func memTotalKiB(in output: String) -> Int? {
        output.firstMatch(of: /MemTotal:\s+(\d+) kB/).flatMap { Int($0.1) }
    }

    /// The guest's own MemTotal from /proc/meminfo, in KiB.
    public func memTotalKiB() throws -> Int {
        let line = try run(Self.memTotalCommand)
        guard let kib = Self.memTotalKiB(in: line) else { throw failure("cannot read MemTotal from '\(line)'") }
        return kib
    }

    private func write(_ text: String) throws {
        var bytes = Array(text.utf8)[...]
        let deadline = ContinuousClock.now + .seconds(10)
        while !bytes.isEmpty {
            let written = bytes.withUnsafeBytes { Glibc.write(descriptor, $0.baseAddress, $0.count) }
            if written > 0 {
                bytes = bytes.dropFirst(written)
            } else if written < 0, errno != EAGAIN, errno != EINTR {
                throw failure("cannot write to \(path): \(String(cString: strerror(errno)))")
            } else if ContinuousClock.now > deadline {
                throw failure("the console \(path) takes no input (QEMU is not reading it)")
            } else {
                Thread.sleep(forTimeInterval: 0.05)
            }
        }
    }

    /// Appends what the guest prints within `duration` (or until the first chunk) to the transcript.
    private func read(for duration: Duration) throws {
        var poller = pollfd(fd: descriptor, events: Int16(POLLIN), revents: 0)
        let milliseconds = Int32(duration.components.seconds * 1000 + duration.components.attoseconds / 1_000_000_000_000_000)
        guard Glibc.poll(&poller, 1, max(milliseconds, 1)) > 0 else { return }
        if poller.revents & Int16(POLLHUP) != 0 && poller.revents & Int16(POLLIN) == 0 {
            throw failure("QEMU closed the console: the domain is no longer running")
        }
        var chunk = [UInt8](repeating: 0, count: 4096)
        let count = Glibc.read(descriptor, &chunk, chunk.count)
        if count > 0 {
            transcript += String(decoding: chunk[..<count], as: UTF8.self)
        } else if count < 0, errno != EAGAIN, errno != EINTR, errno != EIO {
            throw failure("cannot read \(path): \(String(cString: strerror(errno)))")
        }
    }

    private func failure(_ message: String) -> Failure {
        Failure(description: "\(domain) console \(path): \(message)\n--- last console output ---\n\(transcript.suffix(3000))")
    }
}
