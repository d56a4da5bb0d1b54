import Foundation
import Testing
@testable import Spec

@Suite("cpu")
struct CPUSpecTests {
    let base = "host: kvm-01\nvcpus: 2\nmaxVcpus: 4\nmemory: 512MiB\n"

    @Test func modesAndATopologyLoad() throws {
        let spec = base + "cpu:\n  mode: host-passthrough\n  topology: {sockets: 1, cores: 2, threads: 2}"
        let manifest = try ManifestLoader.load(files: [("m.yaml", hostAndVM(spec: spec))])
        let cpu = try #require(manifest.virtualMachines.first?.value.cpu)
        #expect(cpu == CPUSpec(mode: .hostPassthrough, topology: CPUSpec.Topology(sockets: 1, cores: 2, threads: 2)))
        #expect(cpu.summary == "host-passthrough, 1 socket x 2 cores x 2 threads")
        let custom = try ManifestLoader.load(files: [("m.yaml", hostAndVM(spec: base + "cpu: {mode: custom, model: Skylake-Server}"))])
        #expect(custom.virtualMachines.first?.value.cpu == CPUSpec(mode: .custom, model: "Skylake-Server"))
    }

    @Test func everyMistakeIsNamedWithItsPlace() {
        #expect(diagnostics(hostAndVM(spec: base + "cpu:\n  mode: host-passthrough\n  topology: {sockets: 1, cores: 2, threads: 1}")) == [
            "m.yaml:20:15: error: cpu.topology gives 1 x 2 x 1 = 2 vCPUs, but the VM has 4 (maxVcpus, or vcpus without it); they must be equal",
        ])
        #expect(diagnostics(hostAndVM(spec: base + "cpu: {mode: custom}")) == [
            "m.yaml:18:8: error: cpu.mode custom needs a model, such as Skylake-Server (virsh cpu-models x86_64 lists them)",
        ])
        #expect(diagnostics(hostAndVM(spec: base + "cpu: {mode: host-model, model: qemu64}")) == [
            "m.yaml:18:27: error: cpu.model goes with mode: custom; host-model takes its model from the host",
        ])
        #expect(diagnostics(hostAndVM(spec: base + "cpu: {mode: passthrough}")).first?.contains("cpu.mode must be one of host-passthrough, host-model, custom; got 'passthrough'") == true)
        #expect(diagnostics(hostAndVM(spec: base + "cpu: {mode: custom, model: \"bad model<\"}")).first?.contains("cpu.model must be a CPU model name") == true)
    }
}
