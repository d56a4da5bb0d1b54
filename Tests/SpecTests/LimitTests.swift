import Foundation
import Testing
@testable import Spec

/// Resource limits of one load: alias expansion, file size, document count, string sizes,
/// numbers that cannot be held, and what error messages may echo.
@Suite("Limits")
struct LimitTests {
    /// Ten levels of ten aliases each: 10^10 nodes from a few hundred bytes.
    static var bombAnchors: String {
        var text = "l0: &l0 [x, x, x, x, x, x, x, x, x, x]\n"
        for level in 1...9 {
            text += "l\(level): &l\(level) [" + Array(repeating: "*l\(level - 1)", count: 10).joined(separator: ", ") + "]\n"
        }
        return text
    }

    @Test("an alias bomb used as a mapping key is refused at the alias that passes the limit, not expanded")
    func aliasBombKey() {
        let started = Date()
        let text = "apiVersion: vmplan/v1\nkind: Host\nmetadata: {name: h}\nspec:\n  uri: 'qemu:///system'\n  hypervisor: kvm\n"
            + "---\n" + Self.bombAnchors + "? *l9\n: boom\n"
        #expect(diagnostics(text) == [
            "m.yaml:12:45: error: aliases expand this YAML document to more than 100000 nodes; write the values out or use fewer aliases",
        ])
        // Only a guard against a hang: the refusal itself takes milliseconds.
        #expect(Date().timeIntervalSince(started) < 10)
    }

    @Test("thousands of alias keys over a long list are refused, not hashed quadratically")
    func manyAliasKeys() {
        let list = "base: &base [" + Array(repeating: "1", count: 3000).joined(separator: ", ") + "]\n"
        let keys = (0..<3000).map { "? [*base, \($0)]\n: \($0)\n" }.joined()
        let found = diagnostics(list + keys)
        #expect(found.count == 1)
        #expect(found.first?.hasPrefix("m.yaml:") == true)
        #expect(found.first?.contains("aliases expand this YAML document to more than 100000 nodes") == true)
    }

    @Test("the same alias as thousands of keys is refused, not hashed quadratically")
    func repeatedAliasKeys() {
        let list = "base: &base [" + Array(repeating: "1", count: 3000).joined(separator: ", ") + "]\n"
        let keys = (0..<3000).map { "*base : \($0)\n" }.joined()
        #expect(diagnostics(list + keys) == [
            "m.yaml:34:1: error: aliases expand this YAML document to more than 100000 nodes; write the values out or use fewer aliases",
        ])
    }

    @Test("aliases within the limit still work")
    func aliasesWithinLimit() {
        let host = "apiVersion: vmplan/v1\nkind: Host\nmetadata: {name: &n h}\nspec: {uri: 'qemu:///system', hypervisor: kvm, deviceChecks: *n}\n"
        #expect(diagnostics(host) == ["m.yaml:3:18: error: deviceChecks must be one of enforce, warn; got 'h'"])
    }

    @Test("a document of more than 100000 nodes is refused even without aliases")
    func tooManyNodes() {
        let text = "items: [" + Array(repeating: "1", count: 100_001).joined(separator: ",") + "]\n"
        #expect(diagnostics(text) == ["m.yaml:1:1: error: this YAML document has more than 100000 nodes; split it into several documents"])
    }

    @Test("more than 10000 documents in one file are refused at the first one past the limit")
    func tooManyDocuments() {
        let text = String(repeating: "--- ~\n", count: 10_001)
        #expect(diagnostics(text) == ["m.yaml:10001:5: error: more than 10000 YAML documents in one file; split it into several files"])
    }

    @Test("a manifest file over 4MiB is refused before it is read; other files are still checked")
    func fileTooLarge() throws {
        let dir = try makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try write("# " + String(repeating: "x", count: 5 << 20) + "\n", to: dir + "/big.yaml")
        try write("kind: Host\n", to: dir + "/small.yaml")
        let found = diagnostics(loading: dir)
        #expect(found.first == "\(dir)/big.yaml:1:1: error: manifest file is 5.0MiB, over the limit of 4MiB per file; split it into several files")
        #expect(found.dropFirst().allSatisfy { $0.hasPrefix("\(dir)/small.yaml:1:1: error: missing required field") })
        #expect(found.count == 4)
        // Texts given directly (from a git commit) have the same limit.
        #expect(diagnostics(String(repeating: "#\n", count: 3 << 20)) == [
            "m.yaml:1:1: error: manifest file is 6MiB, over the limit of 4MiB per file; split it into several files",
        ])
    }

    @Test("a file that is not UTF-8 is reported at its first bad byte")
    func invalidUTF8Located() throws {
        let dir = try makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let bytes = Array("apiVersion: vmplan/v1\nkind: Host\nmetadata: {name: ".utf8) + [0xC3, 0x28] + Array("}\n".utf8)
        #expect(FileManager.default.createFile(atPath: dir + "/a.yaml", contents: Data(bytes)))
        #expect(diagnostics(loading: dir) == [
            "\(dir)/a.yaml:3:18: error: file is not valid UTF-8 text: the first invalid byte is here; save the file as UTF-8",
        ])
    }

    @Test("terminal escapes in names and values are shown escaped, never raw")
    func controlsEscaped() {
        let host = "apiVersion: vmplan/v1\nkind: Host\nmetadata: {name: \"h\\u009B31m\\u0085x\"}\nspec: {uri: 'qemu:///system', hypervisor: \"kvm\\e]0;pwned\\a\"}\n"
        let found = diagnostics(host)
        #expect(!found.isEmpty)
        for line in found {
            #expect(!line.unicodeScalars.contains { $0.properties.generalCategory == .control }, "\(line)")
        }
        #expect(found.contains { $0.contains("'h\\u{9B}31m\\u{85}x' is not a valid name") })
        #expect(found.contains { $0.contains("got 'kvm\\u{1B}]0;pwned\\u{7}'") })
    }

    @Test("a leading zero on an integer is ambiguous and refused", arguments: [
        ("010", "vcpus '010' is ambiguous: YAML 1.1 reads a leading zero as octal; write 8 or 10"),
        ("09", "vcpus '09' is ambiguous: YAML 1.1 reads a leading zero as octal; write 9"),
    ])
    func leadingZero(text: String, message: String) {
        #expect(vmErrors("host: kvm-01\nvcpus: \(text)\nmemory: 1GiB") == ["m.yaml:15:10: error: \(message)"])
    }

    @Test("vcpus beyond what the machine type can hold are refused where they are written")
    func vcpusPerMachine() throws {
        #expect(vmErrors("host: kvm-01\nvcpus: 256\nmachine: pc\nmemory: 1GiB") == [
            "m.yaml:15:10: error: vcpus must be at most 255 with machine: pc; got 256; machine: q35 allows up to 288",
        ])
        #expect(vmErrors("host: kvm-01\nvcpus: 8\nmaxVcpus: 300\nmachine: q35\nmemory: 1GiB") == [
            "m.yaml:16:13: error: maxVcpus must be at most 288 with machine: q35; got 300",
        ])
        #expect(vmErrors("host: kvm-01\nvcpus: 4097\nmemory: 1GiB") == [
            "m.yaml:15:10: error: vcpus must be an integer from 1 to 4096; got '4097'",
        ])
        let manifest = try ManifestLoader.load(files: [("m.yaml", hostAndVM(spec: "host: kvm-01\nvcpus: 288\nmachine: q35\nmemory: 1GiB"))])
        #expect(manifest.virtualMachines.first?.value.vcpus == 288)
    }

    @Test("sizes past 16TiB, or past what can be held, are refused with the limit", arguments: [
        "17TiB", "16385GiB", "99999999999999999999TiB", "18446744073709551615KiB",
    ])
    func sizeTooLarge(text: String) {
        #expect(vmErrors("host: kvm-01\nvcpus: 1\nmemory: \(text)") == [
            "m.yaml:16:11: error: memory must be at most 16TiB; got '\(text)'",
        ])
    }

    @Test("16TiB itself is allowed; a unit that does not exist is not a size")
    func sizeAtLimit() throws {
        let manifest = try ManifestLoader.load(files: [("m.yaml", hostAndVM(spec: "host: kvm-01\nvcpus: 1\nmemory: 16TiB"))])
        #expect(manifest.virtualMachines.first?.value.memory == ByteCount(bytes: 16 << 40))
        #expect(vmErrors("host: kvm-01\nvcpus: 1\nmemory: 16EiB") == [
            "m.yaml:16:11: error: memory must be a size with a binary unit such as 512MiB or 8GiB; got '16EiB'",
        ])
    }

    @Test("a description over 64KiB is refused at load, not at apply")
    func descriptionTooLong() {
        let long = String(repeating: "a", count: (64 << 10) + 1)
        #expect(vmErrors("host: kvm-01\nvcpus: 1\nmemory: 1GiB\ndescription: \(long)") == [
            "m.yaml:17:16: error: description is 65537 bytes, over the limit of 64KiB; keep long notes in the repository",
        ])
    }

    @Test("inline cloud-init data has the same 1MiB limit as a cloud-init file")
    func inlineCloudInitTooLong() {
        let long = String(repeating: "a", count: (1 << 20) + 1024)
        let found = vmErrors("host: kvm-01\nvcpus: 1\nmemory: 1GiB\ncloudInit: {userData: \(long)}")
        #expect(found.contains("m.yaml:17:25: error: cloudInit.userData is 1025KiB, over the limit of 1MiB for cloud-init data"), "\(found)")
    }

    func vmErrors(_ spec: String) -> [String] { diagnostics(hostAndVM(spec: spec)) }
}
