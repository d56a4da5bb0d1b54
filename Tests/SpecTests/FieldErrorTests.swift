import Testing
@testable import Spec

@Suite("Unknown and missing fields, apiVersion, kind")
struct FieldErrorTests {
    @Test("a valid host and VM load from memory")
    func validInline() throws {
        let manifest = try ManifestLoader.load(files: [("m.yaml", hostAndVM(spec: "host: kvm-01\nvcpus: 2\nmemory: 512MiB"))])
        #expect(manifest.virtualMachines.first?.value.memory == .mebibytes(512))
        #expect(manifest.virtualMachines.first?.location.description == "m.yaml:9:1")
        #expect(manifest.hosts.first?.location.description == "m.yaml:1:1")
    }

    @Test("unknown spec field with a close match suggests it")
    func unknownSpecFieldSuggestion() {
        #expect(diagnostics(hostAndVM(spec: "host: kvm-01\nvcpu: 2\nvcpus: 2\nmemory: 512MiB")) == [
            "m.yaml:15:3: error: unknown field 'vcpu' in VirtualMachine spec; did you mean 'vcpus'?",
        ])
    }

    @Test("unknown spec field far from any lists the valid fields")
    func unknownSpecFieldList() {
        #expect(diagnostics(hostAndVM(spec: "host: kvm-01\nvcpus: 2\nmemory: 512MiB\ncolour: red")) == [
            "m.yaml:17:3: error: unknown field 'colour' in VirtualMachine spec; valid fields: "
                + "host, vcpus, maxVcpus, memory, maxMemory, firmware, machine, cpu, state, autostart, description, lifecycle, gpus, vgpus, boot, disks, cloudInit, networks, graphics, guestAgent, import",
        ])
    }

    @Test("unknown fields at the top level and in metadata")
    func unknownTopAndMetadata() {
        let yaml = """
        apiVersion: vmplan/v1
        kind: Host
        metadata:
          name: kvm-01
          lables: {a: b}
        spec:
          uri: qemu:///system
          hypervisor: kvm
        status: ok
        """
        #expect(diagnostics(yaml) == [
            "m.yaml:5:3: error: unknown field 'lables' in metadata; did you mean 'labels'?",
            "m.yaml:9:1: error: unknown field 'status' in document; valid fields: apiVersion, kind, metadata, spec",
        ])
    }

    @Test("a Host spec with VM fields names the Host fields")
    func vmFieldInHost() {
        let yaml = """
        apiVersion: vmplan/v1
        kind: Host
        metadata: {name: kvm-01}
        spec: {uri: "qemu:///system", hypervisor: kvm, vcpus: 2}
        """
        #expect(diagnostics(yaml) == [
            "m.yaml:4:48: error: unknown field 'vcpus' in Host spec; valid fields: uri, hypervisor, deviceChecks, storageRoots, acceleration",
        ])
    }

    @Test("missing required fields are reported at the mapping that lacks them")
    func missingRequired() {
        let yaml = """
        kind: VirtualMachine
        metadata:
          labels: {tier: web}
        spec:
          vcpus: 1
        """
        #expect(diagnostics(yaml) == [
            "m.yaml:1:1: error: missing required field 'apiVersion' in document",
            "m.yaml:3:3: error: missing required field 'name' in metadata",
            "m.yaml:5:3: error: missing required field 'host' in VirtualMachine spec",
            "m.yaml:5:3: error: missing required field 'memory' in VirtualMachine spec",
        ])
    }

    @Test("a Host without uri and hypervisor, and a document without spec")
    func missingHostFields() {
        let yaml = """
        apiVersion: vmplan/v1
        kind: Host
        metadata: {name: kvm-01}
        spec: {}
        ---
        apiVersion: vmplan/v1
        kind: Host
        metadata: {name: kvm-02}
        """
        #expect(diagnostics(yaml) == [
            "m.yaml:4:7: error: missing required field 'uri' in Host spec",
            "m.yaml:4:7: error: missing required field 'hypervisor' in Host spec",
            "m.yaml:6:1: error: missing required field 'spec' in document",
        ])
    }

    @Test("wrong apiVersion")
    func wrongAPIVersion() {
        let yaml = hostAndVM(spec: "host: kvm-01\nvcpus: 1\nmemory: 1GiB")
            .replacingOccurrences(of: "apiVersion: vmplan/v1\nkind: Host", with: "apiVersion: v1\nkind: Host")
        #expect(diagnostics(yaml) == ["m.yaml:1:13: error: unsupported apiVersion 'v1'; expected 'vmplan/v1'"])
    }

    @Test("unknown kind with and without a suggestion")
    func unknownKind() {
        let yaml = """
        apiVersion: vmplan/v1
        kind: Hots
        metadata: {name: a}
        spec: {}
        ---
        apiVersion: vmplan/v1
        kind: Subnet
        metadata: {name: b}
        spec: {}
        """
        #expect(diagnostics(yaml) == [
            "m.yaml:2:7: error: unknown kind 'Hots'; valid kinds: Host, VirtualMachine, StoragePool, Volume, Network, DriftPolicy; did you mean 'Host'?",
            "m.yaml:7:7: error: unknown kind 'Subnet'; valid kinds: Host, VirtualMachine, StoragePool, Volume, Network, DriftPolicy",
        ])
    }

    @Test("a document that is not a mapping")
    func notAMapping() {
        #expect(diagnostics("- apiVersion: vmplan/v1\n- kind: Host\n") == [
            "m.yaml:1:1: error: a manifest document must be a mapping with fields apiVersion, kind, metadata, spec; got a list",
        ])
    }

    @Test("empty documents and comment-only files are skipped")
    func emptyDocuments() throws {
        let host = "apiVersion: vmplan/v1\nkind: Host\nmetadata: {name: h}\nspec: {uri: 'qemu:///system', hypervisor: kvm}\n"
        let manifest = try ManifestLoader.load(files: [
            ("a.yaml", "# nothing yet\n"),
            ("b.yaml", "---\n---\n" + host + "---\n"),
        ])
        #expect(manifest.hosts.map(\.value.name) == ["h"])
        #expect(manifest.hosts.first?.location.description == "b.yaml:3:1")
    }
}
