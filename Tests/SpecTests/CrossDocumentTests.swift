import Testing
@testable import Spec

@Suite("Names, duplicates, host references, YAML syntax")
struct CrossDocumentTests {
    @Test("names unsafe for libvirt are rejected", arguments: ["a<b", "x'/>", "-web", "web 1", "ü"])
    func unsafeNames(name: String) {
        let quoted = "\"" + name + "\""
        #expect(diagnostics(hostAndVM(spec: "host: kvm-01\nvcpus: 1\nmemory: 1GiB", name: quoted)) == [
            "m.yaml:12:9: error: metadata.name '\(name)' is not a valid name: \(ResourceName.rule)",
        ])
    }

    @Test("a name YAML reads as a number must be quoted")
    func numericName() {
        #expect(diagnostics(hostAndVM(spec: "host: kvm-01\nvcpus: 1\nmemory: 1GiB", name: "010")) == [
            "m.yaml:12:9: error: metadata.name must be a string; got '010', which YAML reads as an integer; quote it",
        ])
    }

    @Test("a second definition of a name is reported with the first one's location")
    func duplicateNames() {
        let vm = { (name: String) in
            "apiVersion: vmplan/v1\nkind: VirtualMachine\nmetadata:\n  name: \(name)\nspec: {host: kvm-01, vcpus: 1, memory: 1GiB}\n"
        }
        let hosts = hostAndVM(spec: "host: kvm-01\nvcpus: 1\nmemory: 1GiB", name: "web-1")
        #expect(diagnostics([("a.yaml", hosts), ("b.yaml", vm("web-2") + "---\n" + vm("web-1"))]) == [
            "b.yaml:10:9: error: duplicate VirtualMachine name 'web-1'; first defined at a.yaml:12:9",
        ])
    }

    @Test("a host and a VM may share a name")
    func sameNameDifferentKinds() throws {
        let manifest = try ManifestLoader.load(files: [("m.yaml", hostAndVM(spec: "host: kvm-01\nvcpus: 1\nmemory: 1GiB", name: "kvm-01"))])
        #expect(manifest.hosts.map(\.value.name) == ["kvm-01"])
        #expect(manifest.virtualMachines.map(\.value.name) == ["kvm-01"])
    }

    @Test("a VM naming an unknown host lists the known ones")
    func unknownHost() {
        #expect(diagnostics(hostAndVM(spec: "host: kvm-1\nvcpus: 1\nmemory: 1GiB")) == [
            "m.yaml:14:9: error: host 'kvm-1' is not defined by any Host document; known hosts: kvm-01; did you mean 'kvm-01'?",
        ])
        let lonely = "apiVersion: vmplan/v1\nkind: VirtualMachine\nmetadata: {name: v}\nspec: {host: h, vcpus: 1, memory: 1GiB}\n"
        #expect(diagnostics(lonely) == [
            "m.yaml:4:14: error: host 'h' is not defined by any Host document; known hosts: none (declare one with kind: Host)",
        ])
    }

    @Test("a host with other errors still counts as defined")
    func brokenHostStillDefined() {
        let yaml = hostAndVM(spec: "host: kvm-01\nvcpus: 1\nmemory: 1GiB")
            .replacingOccurrences(of: "hypervisor: kvm", with: "hypervisor: esx")
        #expect(diagnostics(yaml) == ["m.yaml:7:15: error: hypervisor must be one of kvm, xen; got 'esx'"])
    }

    @Test("duplicate keys in one mapping are reported at the repeat")
    func duplicateKeys() {
        #expect(diagnostics(hostAndVM(spec: "host: kvm-01\nvcpus: 1\nmemory: 1GiB\nvcpus: 2")) == [
            "m.yaml:17:3: error: duplicate key 'vcpus' in mapping; first defined at m.yaml:15:3",
        ])
    }

    @Test("duplicate keys in a flow mapping are reported at the first occurrence")
    func duplicateFlowKeys() {
        let yaml = "apiVersion: vmplan/v1\nkind: Host\nmetadata: {name: h}\nspec: {uri: 'a:b', hypervisor: kvm, uri: 'c:d'}\n"
        #expect(diagnostics(yaml) == ["m.yaml:4:8: error: duplicate key 'uri' in mapping; each key may appear only once"])
    }

    @Test("YAML syntax errors carry file:line:column")
    func syntaxErrors() {
        let badIndent = "apiVersion: vmplan/v1\nkind: Host\nmetadata:\n  name: h\n   uri: x\n"
        let errors = diagnostics(badIndent, file: "dir/bad.yaml")
        #expect(errors.count == 1)
        #expect(errors.first?.hasPrefix("dir/bad.yaml:5:7: error: invalid YAML: mapping values are not allowed in this context") == true)

        let unclosed = diagnostics("apiVersion: vmplan/v1\nkind: [Host\n")
        #expect(unclosed.count == 1)
        #expect(unclosed.first?.hasPrefix("m.yaml:3:1: error: invalid YAML: did not find expected ',' or ']'") == true)
        #expect(unclosed.first?.contains("while parsing a flow sequence at line 2, column 7") == true)
    }

    @Test("control characters are a YAML reader error with a location")
    func readerError() {
        let errors = diagnostics("apiVersion: vmplan/v1\nkind: Ho\u{01}st\n")
        #expect(errors == ["m.yaml:2:9: error: invalid YAML text: control characters are not allowed"])
    }

    @Test("several errors in two files are reported together, sorted by file, line, column")
    func manyErrors() {
        let first = hostAndVM(spec: "host: kvm-01\nvcpus: two\nmemory: 8")
        let second = "apiVersion: vmplan/v2\nkind: VirtualMachine\nmetadata: {name: \"a<b\"}\nspec: {host: kvm-01, vcpus: 1, memory: 1GiB}\n"
        #expect(diagnostics([("b.yaml", second), ("a.yaml", first)]) == [
            "a.yaml:15:10: error: vcpus must be an integer from 1 to 4096; got 'two'",
            "a.yaml:16:11: error: memory must be a size with a binary unit such as 512MiB or 8GiB; got '8'",
            "b.yaml:1:13: error: unsupported apiVersion 'vmplan/v2'; expected 'vmplan/v1'",
            "b.yaml:3:18: error: metadata.name 'a<b' is not a valid name: \(ResourceName.rule)",
        ])
    }

    @Test("documents before a syntax error are still checked; host references are not")
    func errorsBeforeSyntaxError() {
        let yaml = hostAndVM(spec: "host: nowhere\nvcpus: 0\nmemory: 1GiB") + "---\nkey: [unclosed\n"
        #expect(diagnostics(yaml) == [
            "m.yaml:15:10: error: vcpus must be an integer from 1 to 4096; got '0'",
            "m.yaml:19:1: error: invalid YAML: did not find expected ',' or ']' (while parsing a flow sequence at line 18, column 6)",
        ])
    }
}
