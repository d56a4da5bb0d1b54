import Testing
@testable import Spec

@Suite("Values: sizes, integers, enums, strings, labels, URIs")
struct ValueErrorTests {
    /// Diagnostics for a VM spec placed after a valid host (first spec line is line 14).
    func vmErrors(_ spec: String) -> [String] { diagnostics(hostAndVM(spec: spec)) }

    @Test("memory: 8 is rejected, sizes with binary units are accepted", arguments: [
        ("512MiB", ByteCount.mebibytes(512)), ("8GiB", .gibibytes(8)), ("1.5GiB", .mebibytes(1536)),
        ("1TiB", .gibibytes(1024)), ("4096KiB", .mebibytes(4)),
    ])
    func sizesAccepted(text: String, expected: ByteCount) throws {
        let manifest = try ManifestLoader.load(files: [("m.yaml", hostAndVM(spec: "host: kvm-01\nvcpus: 1\nmemory: \(text)"))])
        #expect(manifest.virtualMachines.first?.value.memory == expected)
    }

    @Test("a bare number is not a size")
    func bareNumber() {
        #expect(vmErrors("host: kvm-01\nvcpus: 1\nmemory: 8") == [
            "m.yaml:16:11: error: memory must be a size with a binary unit such as 512MiB or 8GiB; got '8'",
        ])
    }

    @Test("decimal units get a binary suggestion", arguments: [
        ("8GB", "8GiB"), ("512M", "512MiB"), ("2gib", "2GiB"), ("1 TB", "1TiB"),
    ])
    func decimalUnits(text: String, suggestion: String) {
        #expect(vmErrors("host: kvm-01\nvcpus: 1\nmemory: \(text)") == [
            "m.yaml:16:11: error: memory must be a size with a binary unit such as 512MiB or 8GiB; got '\(text)'; did you mean '\(suggestion)'?",
        ])
    }

    @Test("zero memory, a non-scalar size and sub-KiB sizes")
    func badSizes() {
        #expect(vmErrors("host: kvm-01\nvcpus: 1\nmemory: 0MiB") == [
            "m.yaml:16:11: error: memory must be greater than zero; got '0MiB'",
        ])
        #expect(vmErrors("host: kvm-01\nvcpus: 1\nmemory: [1GiB]") == [
            "m.yaml:16:11: error: memory must be a size with a binary unit such as 512MiB or 8GiB; got a list",
        ])
        #expect(vmErrors("host: kvm-01\nvcpus: 1\nmemory: 0.5KiB") == [
            "m.yaml:16:11: error: memory must be a whole number of KiB (libvirt's unit); got '0.5KiB'",
        ])
    }

    @Test("memory above maxMemory is reported at maxMemory")
    func memoryCeiling() {
        #expect(vmErrors("host: kvm-01\nvcpus: 1\nmemory: 2GiB\nmaxMemory: 1GiB") == [
            "m.yaml:17:14: error: maxMemory must be at least memory (2GiB); got 1GiB",
        ])
    }

    @Test("vcpus must be an integer from 1 to 4096", arguments: ["two", "1.5", "0", "-1", "4097", "'2'", "true"])
    func badVcpus(text: String) {
        let shown = text == "'2'" ? "2" : text
        #expect(vmErrors("host: kvm-01\nvcpus: \(text)\nmemory: 1GiB") == [
            "m.yaml:15:10: error: vcpus must be an integer from 1 to 4096; got '\(shown)'",
        ])
    }

    @Test("vcpus above maxVcpus is reported at maxVcpus; 4096 is allowed")
    func vcpuCeiling() throws {
        #expect(vmErrors("host: kvm-01\nvcpus: 8\nmaxVcpus: 4\nmemory: 1GiB") == [
            "m.yaml:16:13: error: maxVcpus must be at least vcpus (8); got 4",
        ])
        let manifest = try ManifestLoader.load(files: [("m.yaml", hostAndVM(spec: "host: kvm-01\nvcpus: 4096\nmemory: 1GiB"))])
        #expect(manifest.virtualMachines.first?.value.vcpus == 4096)
    }

    @Test("enum values outside the set list the valid values")
    func enums() {
        #expect(vmErrors("host: kvm-01\nvcpus: 1\nmemory: 1GiB\nfirmware: efi\nstate: paused") == [
            "m.yaml:17:13: error: firmware must be one of bios, uefi; got 'efi'; did you mean 'uefi'?",
            "m.yaml:18:10: error: state must be one of running, stopped; got 'paused'",
        ])
        let host = "apiVersion: vmplan/v1\nkind: Host\nmetadata: {name: h}\nspec: {uri: 'qemu:///system', hypervisor: KVM}\n"
        #expect(diagnostics(host) == ["m.yaml:4:43: error: hypervisor must be one of kvm, xen; got 'KVM'; did you mean 'kvm'?"])
    }

    @Test("description must be a string")
    func description() {
        #expect(vmErrors("host: kvm-01\nvcpus: 1\nmemory: 1GiB\ndescription: {a: b}") == [
            "m.yaml:17:16: error: description must be a string; got a mapping",
        ])
        #expect(vmErrors("host: kvm-01\nvcpus: 1\nmemory: 1GiB\ndescription: 42") == [
            "m.yaml:17:16: error: description must be a string; got '42', which YAML reads as an integer; quote it",
        ])
    }

    @Test("labels must be a string to string mapping with valid keys and values")
    func labels() {
        let yaml = """
        apiVersion: vmplan/v1
        kind: Host
        metadata:
          name: kvm-01
          labels:
            tier: {nested: x}
            "a b": web
            ok: "\(String(repeating: "x", count: 257))"
            count: 3
        spec: {uri: "qemu:///system", hypervisor: kvm}
        ---
        apiVersion: vmplan/v1
        kind: Host
        metadata: {name: kvm-02, labels: [a, b]}
        spec: {uri: "qemu:///system", hypervisor: kvm}
        """
        #expect(diagnostics(yaml) == [
            "m.yaml:6:11: error: label 'tier' must be a string; got a mapping",
            "m.yaml:7:5: error: label key 'a b' is invalid: \(NodeChecker.labelKeyRule)",
            "m.yaml:8:9: error: label 'ok' value is invalid: at most 256 characters, no control characters",
            "m.yaml:9:12: error: label 'count' must be a string; got '3', which YAML reads as an integer; quote it",
            "m.yaml:14:34: error: metadata.labels must be a mapping of strings to strings; got a list",
        ])
    }

    @Test("host uri must look like a libvirt URI", arguments: ["localhost", "qemu :///system", "''"])
    func badURI(text: String) {
        let yaml = "apiVersion: vmplan/v1\nkind: Host\nmetadata: {name: h}\nspec:\n  uri: \(text)\n  hypervisor: kvm\n"
        let shown = text == "''" ? "" : text
        #expect(diagnostics(yaml) == [
            "m.yaml:5:8: error: uri must be a libvirt URI such as qemu:///system (non-empty, containing ':', no whitespace or control characters); got '\(shown)'",
        ])
    }
}
