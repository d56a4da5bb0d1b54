import Foundation
import TestSupport

/// Runs the built `vmplan` executable, as a user would.
enum CLI {
    static let binary: String = {
        if let explicit = ProcessInfo.processInfo.environment["VMPLAN_BINARY"] { return explicit }
        let candidates = [
            URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent(),
            Bundle.main.bundleURL.deletingLastPathComponent(),
            Bundle.main.bundleURL,
        ].map { $0.appendingPathComponent("vmplan").path }
        return candidates.first { FileManager.default.isExecutableFile(atPath: $0) } ?? candidates[0]
    }()

    @discardableResult
    static func run(_ arguments: String..., input: String? = nil) throws -> TestHost.Output {
        try run(arguments, input: input)
    }

    @discardableResult
    static func run(_ arguments: [String], input: String? = nil) throws -> TestHost.Output {
        try TestHost.run(binary, arguments, input: input)
    }
}

/// A temporary manifest directory with its own state database.
struct Workspace {
    let directory: URL
    var statePath: String { directory.appendingPathComponent(".vmplan/state.db").path }
    var path: String { directory.path }

    init() throws {
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("vmplan-cli-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        try write("host.yaml", """
            apiVersion: vmplan/v1
            kind: Host
            metadata: {name: local}
            spec: {uri: "\(TestHost.uri)", hypervisor: kvm}
            """)
    }

    func write(_ file: String, _ text: String) throws {
        try text.write(to: directory.appendingPathComponent(file), atomically: true, encoding: .utf8)
    }

    func remove(_ file: String) throws {
        try FileManager.default.removeItem(at: directory.appendingPathComponent(file))
    }

    func delete() {
        try? FileManager.default.removeItem(at: directory)
    }

    static func vm(_ name: String, vcpus: Int = 1, maxVcpus: Int? = nil, memory: String = "64MiB", maxMemory: String? = nil,
                   state: String = "running", host: String = "local", lifecycle: String? = nil, description: String? = nil) -> String {
        var lines = [
            "apiVersion: vmplan/v1", "kind: VirtualMachine", "metadata: {name: \(name)}", "spec:",
            "  host: \(host)", "  vcpus: \(vcpus)", "  memory: \(memory)", "  state: \(state)",
        ]
        if let maxVcpus { lines.append("  maxVcpus: \(maxVcpus)") }
        if let maxMemory { lines.append("  maxMemory: \(maxMemory)") }
        if let lifecycle { lines.append("  lifecycle: \(lifecycle)") }
        if let description { lines.append("  description: \"\(description)\"") }
        return lines.joined(separator: "\n")
    }
}
