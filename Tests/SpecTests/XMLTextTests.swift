import Foundation
import Testing
@testable import Spec

/// Values that libvirt's domain XML cannot carry as written would differ on every plan:
/// they are normalised (an empty description) or refused at load.
@Suite("Text that must survive domain XML")
struct XMLTextTests {
    func vmErrors(_ spec: String) -> [String] { diagnostics(hostAndVM(spec: spec)) }

    @Test("description: \"\" is no description")
    func emptyDescription() throws {
        let manifest = try ManifestLoader.load(files: [("m.yaml", hostAndVM(spec: "host: kvm-01\nvcpus: 1\nmemory: 1GiB\ndescription: \"\""))])
        #expect(try #require(manifest.virtualMachines.first).value.description == nil)
    }

    @Test("Unicode non-characters are refused in descriptions, with where they are", arguments: [
        ("\\uFFFE", "U+FFFE", 4), ("\\uFFFF", "U+FFFF", 4), ("\\uFDD0", "U+FDD0", 4), ("\\uFDEF", "U+FDEF", 4),
        ("\\U0001FFFE", "U+1FFFE", 4), ("\\U0010FFFF", "U+10FFFF", 4), ("\\e", "U+001B", 4), ("\\0", "U+0000", 4),
    ])
    func nonCharacters(escape: String, code: String, position: Int) {
        #expect(vmErrors("host: kvm-01\nvcpus: 1\nmemory: 1GiB\ndescription: \"abc\(escape)def\"") == [
            "m.yaml:17:16: error: description contains \(code) at character \(position), which XML 1.0 cannot carry (a control character or a Unicode non-character); remove it",
        ])
    }

    @Test("characters next to the non-characters are accepted", arguments: ["\\uFFFD", "\\uFDCF", "\\uFDF0", "\\U0001FFFD", "\\t", "\\n"])
    func neighbours(escape: String) throws {
        let manifest = try ManifestLoader.load(files: [("m.yaml", hostAndVM(spec: "host: kvm-01\nvcpus: 1\nmemory: 1GiB\ndescription: \"a\(escape)\""))])
        #expect(manifest.virtualMachines.count == 1)
    }

    @Test("labels and inline cloud-init text are checked too")
    func labelsAndCloudInit() {
        let text = hostAndVM(spec: "host: kvm-01\nvcpus: 1\nmemory: 1GiB\ncloudInit: {userData: \"#cloud-config\\uFFFF\", pool: p}")
            .replacingOccurrences(of: "name: web-1\n", with: "name: web-1\n  labels: {tier: \"web\\uFDD0\"}\n")
        #expect(diagnostics(text) == [
            "m.yaml:13:18: error: label 'tier' contains U+FDD0 at character 4, which XML 1.0 cannot carry (a control character or a Unicode non-character); remove it",
            "m.yaml:18:25: error: cloudInit.userData contains U+FFFF at character 14, which XML 1.0 cannot carry (a control character or a Unicode non-character); remove it",
            "m.yaml:18:54: error: pool 'p' is not defined by any StoragePool document; known pools: none (declare one with kind: StoragePool)",
        ])
    }
}
