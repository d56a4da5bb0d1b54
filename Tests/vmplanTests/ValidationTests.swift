import Foundation
import Testing
import TestSupport

@Suite("vmplan validate")
struct ValidationTests {
    static let repository = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    @Test func theShippedDemoIsValid() throws {
        let result = try CLI.run("validate", Self.repository.appendingPathComponent("manifests/demo").path)
        #expect(result.status == 0, "\(result.stderr)")
        #expect(result.stdout.contains("Valid: 1 host, 2 virtual machines, 1 storage pool, 1 volume, 1 network."))
    }

    @Test(arguments: ["a<b", "x'/>"])
    func unsafeNamesAreRejectedBeforeAnyHostIsContacted(_ name: String) throws {
        let workspace = try Workspace()
        defer { workspace.delete() }
        try workspace.write("bad.yaml", """
            apiVersion: vmplan/v1
            kind: VirtualMachine
            metadata:
              name: "\(name)"
            spec: {host: local, vcpus: 1, memory: 64MiB}
            """)
        let validate = try CLI.run("validate", workspace.path)
        #expect(validate.status == 1)
        #expect(validate.stderr.contains("bad.yaml:4:9: error: metadata.name '\(name)' is not a valid name"))
        // apply stops at the same place: nothing reaches libvirt, no state is written.
        let apply = try CLI.run("apply", workspace.path, "--auto-approve")
        #expect(apply.status == 1)
        #expect(apply.stderr.contains("is not a valid name"))
        #expect(!FileManager.default.fileExists(atPath: workspace.statePath))
        if TestHost.shouldRun() {
            #expect(try TestHost.domainState(name) == nil)
        }
    }

    @Test func everyErrorOfARunIsReportedTogether() throws {
        let workspace = try Workspace()
        defer { workspace.delete() }
        try workspace.write("vms.yaml", """
            apiVersion: vmplan/v1
            kind: VirtualMachine
            metadata: {name: one}
            spec: {host: local, vcpus: 1, memory: 8}
            ---
            apiVersion: vmplan/v1
            kind: VirtualMachine
            metadata: {name: two}
            spec: {host: locl, vcpu: 1, memory: 64MiB}
            """)
        let result = try CLI.run("validate", workspace.path)
        #expect(result.status == 1)
        #expect(result.stderr.contains("vms.yaml:4:39: error: memory must be a size with a binary unit such as 512MiB or 8GiB; got '8'"))
        #expect(result.stderr.contains("vms.yaml:9:7: error: missing required field 'vcpus' in VirtualMachine spec"))
        #expect(result.stderr.contains("vms.yaml:9:14: error: host 'locl' is not defined by any Host document; known hosts: local; did you mean 'local'?"))
        #expect(result.stderr.contains("vms.yaml:9:20: error: unknown field 'vcpu' in VirtualMachine spec; did you mean 'vcpus'?"))
        #expect(result.stderr.contains("4 errors in manifests; nothing was changed."))
    }
}
