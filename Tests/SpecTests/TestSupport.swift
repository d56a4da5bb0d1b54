import Foundation
@testable import Spec

/// Loads in-memory files and returns the diagnostics as printed (`file:line:column: error: ...`),
/// or an empty list when loading succeeded.
func diagnostics(_ files: [(path: String, text: String)]) -> [String] {
    diagnostics { try ManifestLoader.load(files: files) }
}

/// The same for a file or directory loaded from disk.
func diagnostics(loading path: String) -> [String] {
    diagnostics { try ManifestLoader.load(path: path) }
}

private func diagnostics(of load: () throws -> Manifest) -> [String] {
    do {
        _ = try load()
        return []
    } catch let error as ManifestError {
        return error.diagnostics.map(\.description)
    } catch {
        return ["unexpected error type: \(error)"]
    }
}

/// A Host `h` in four lines, its hypervisor at 4:43.
let hostDocument = "apiVersion: vmplan/v1\nkind: Host\nmetadata: {name: h}\nspec: {uri: 'qemu:///system', hypervisor: kvm}\n"

func diagnostics(_ text: String, file: String = "m.yaml") -> [String] {
    diagnostics([(file, text)])
}

/// A Host `kvm-01` (lines 1-7), `---` (line 8) and a VirtualMachine whose `spec:` is on line 13,
/// so the first spec line is line 14, keys at column 3.
func hostAndVM(spec: String, name: String = "web-1") -> String {
    let indented = spec.split(separator: "\n", omittingEmptySubsequences: false)
        .map { $0.isEmpty ? "" : "  " + $0 }.joined(separator: "\n")
    return """
    apiVersion: vmplan/v1
    kind: Host
    metadata:
      name: kvm-01
    spec:
      uri: qemu:///system
      hypervisor: kvm
    ---
    apiVersion: vmplan/v1
    kind: VirtualMachine
    metadata:
      name: \(name)
    spec:
    \(indented)

    """
}

/// A fresh temporary directory, removed by the caller with `removeTemporaryDirectory`.
func makeTemporaryDirectory() throws -> String {
    let path = FileManager.default.temporaryDirectory
        .appendingPathComponent("vmplan-spec-tests-\(UUID().uuidString)").path
    try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    return path
}

func write(_ text: String, to path: String) throws {
    let directory = (path as NSString).deletingLastPathComponent
    try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
    try text.write(toFile: path, atomically: true, encoding: .utf8)
}

let fixturesPath = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
    .appendingPathComponent("Fixtures").path
