import Foundation
import Testing
import TestSupport
#if canImport(Glibc)
import Glibc
#endif

/// A libvirtd that accepts connections and never answers (as a stopped one does: the kernel
/// still accepts into the socket's backlog). vmplan must give up with the host's name, and
/// Ctrl-C must end it. No libvirt host is needed: the "host" is a socket this test listens on.
@Suite("A host that never answers")
struct HungHostTests {
    /// A listening unix socket nobody reads from; closed when the test ends.
    final class SilentSocket {
        let path: String
        private let descriptor: Int32

        init() throws {
            path = FileManager.default.temporaryDirectory.appendingPathComponent("vmplan-hung-\(UUID().uuidString.prefix(8)).sock").path
            descriptor = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0)
            var address = sockaddr_un()
            address.sun_family = sa_family_t(AF_UNIX)
            withUnsafeMutableBytes(of: &address.sun_path) { buffer in
                for (index, byte) in path.utf8.enumerated() where index < buffer.count - 1 { buffer[index] = byte }
            }
            let bound = withUnsafePointer(to: &address) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(descriptor, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
            }
            guard descriptor >= 0, bound == 0, listen(descriptor, 16) == 0 else {
                throw POSIXError(.EADDRINUSE)
            }
        }

        deinit {
            close(descriptor)
            unlink(path)
        }
    }

    static func workspace(socket: SilentSocket) throws -> Workspace {
        let workspace = try Workspace()
        try workspace.write("host.yaml", """
            apiVersion: vmplan/v1
            kind: Host
            metadata: {name: stuck}
            spec: {uri: "qemu+unix:///system?socket=\(socket.path)", hypervisor: kvm}
            """)
        return workspace
    }

    @Test func aPlanGivesUpOnAHostThatNeverAnswersAndNamesIt() throws {
        let socket = try SilentSocket()
        let workspace = try Self.workspace(socket: socket)
        defer { workspace.delete() }
        // `timeout` turns a hang into a failed assertion instead of a hung test run.
        let plan = try TestHost.run("timeout", ["60", CLI.binary, "plan", workspace.path, "--connect-timeout", "2"])
        #expect(plan.status == 1, "status \(plan.status): \(plan.stderr)")
        #expect(plan.stderr.contains("host 'stuck' (qemu+unix:///system?socket=\(socket.path)) did not answer within 2s"), "\(plan.stderr)")
        #expect(plan.stderr.contains("nothing was changed"))
    }

    @Test func ctrlCEndsAPlanWaitingOnAHost() throws {
        let socket = try SilentSocket()
        let workspace = try Self.workspace(socket: socket)
        defer { workspace.delete() }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: CLI.binary)
        process.arguments = ["plan", workspace.path, "--connect-timeout", "600"]
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        try process.run()
        Thread.sleep(forTimeInterval: 1)
        process.interrupt()
        let deadline = Date().addingTimeInterval(10)
        while process.isRunning && Date() < deadline { Thread.sleep(forTimeInterval: 0.1) }
        let ended = !process.isRunning
        if !ended { process.terminate() }
        #expect(ended, "vmplan plan was still running 10 s after SIGINT")
    }
}
