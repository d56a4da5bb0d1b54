import Foundation
import Testing
@testable import Spec

@Suite("autostart, graphics and guestAgent")
struct VMEssentialsSpecTests {
    let base = "host: kvm-01\nvcpus: 1\nmemory: 64MiB\n"

    func load(_ spec: String, hypervisor: String = "kvm") throws -> VirtualMachineSpec {
        let text = hostAndVM(spec: spec).replacingOccurrences(of: "hypervisor: kvm", with: "hypervisor: \(hypervisor)")
        return try #require(try ManifestLoader.load(files: [("m.yaml", text)]).virtualMachines.first?.value)
    }

    @Test func autostartFollowsTheStateUnlessTheManifestSaysOtherwise() throws {
        #expect(try load(base).autostart == true)
        #expect(try load(base + "state: stopped").autostart == false)
        #expect(try load(base + "autostart: false").autostart == false)
        #expect(try load(base + "state: stopped\nautostart: true").autostart == true)
        #expect(diagnostics(hostAndVM(spec: base + "autostart: yes please")) == [
            "m.yaml:17:14: error: autostart must be true or false; got 'yes please'",
        ])
    }

    @Test func aRecordFromBeforeAutostartLeavesItOpenAndKeepsItsHash() throws {
        let old = #"{"firmware":"bios","host":"h","labels":{},"lifecycle":{"forceStop":true,"ignoreChanges":[],"protect":false,"restart":"allowed"},"memory":"64MiB","name":"a","state":"running","vcpus":1}"#
        let spec = try JSONDecoder().decode(VirtualMachineSpec.self, from: Data(old.utf8))
        #expect(spec.autostart == nil && spec.graphics == nil && !spec.guestAgent)
        #expect(spec.specHash == VirtualMachineSpec(name: "a", host: "h", vcpus: 1, memory: .mebibytes(64)).specHash)
        var managed = spec
        managed.autostart = true
        managed.graphics = GraphicsSpec(type: .spice, listen: "::1")
        managed.guestAgent = true
        #expect(try JSONDecoder().decode(VirtualMachineSpec.self, from: JSONEncoder().encode(managed)) == managed)
        #expect(managed.specHash != spec.specHash)
    }

    @Test func graphicsDefaultToNoneAndListenOnLoopback() throws {
        #expect(try load(base).graphics == nil)
        #expect(try load(base + "graphics: {type: none}").graphics == nil)
        #expect(try load(base + "graphics: {type: vnc}").graphics == GraphicsSpec(type: .vnc, listen: "127.0.0.1"))
        let spice = try #require(try load(base + "graphics: {type: spice, listen: \"0:0::1\"}").graphics)
        #expect(spice == GraphicsSpec(type: .spice, listen: "::1") && spice.isLoopback)
        let open = try #require(try load(base + "graphics: {type: vnc, listen: 0.0.0.0}").graphics)
        #expect(open.listen == "0.0.0.0" && !open.isLoopback)
    }

    @Test func aDisplayVGPUsOwnConsoleIsTheSameAsNoGraphics() throws {
        let vgpu = base + "vgpus: [{type: nvidia-222, display: true}]\n"
        #expect(try load(vgpu + "graphics: {type: vnc, listen: 127.0.0.1}").graphics == nil)
        #expect(try load(vgpu + "graphics: {type: spice}").graphics == GraphicsSpec(type: .spice))
    }

    @Test func graphicsMistakesAreNamedWithTheirPlace() {
        #expect(diagnostics(hostAndVM(spec: base + "graphics: {type: vnc, listen: localhost}")) == [
            "m.yaml:17:33: error: graphics.listen must be an IP address such as 127.0.0.1 (this host only, the default) or ::1; "
                + "got 'localhost'. An address beyond loopback lets anyone who reaches it see the VM's screen",
        ])
        #expect(diagnostics(hostAndVM(spec: base + "graphics: {type: vnk}")) == [
            "m.yaml:17:20: error: graphics.type must be one of vnc, spice, none; got 'vnk'; did you mean 'vnc'?",
        ])
        #expect(diagnostics(hostAndVM(spec: base + "graphics: {type: none, listen: 127.0.0.1}")) == [
            "m.yaml:17:26: error: graphics.listen goes with type vnc or spice; type none has no display to listen for",
        ])
        #expect(diagnostics(hostAndVM(spec: base + "graphics: {type: vnc, listen: 10.0.0.300}")).first?.contains("got '10.0.0.300'") == true)
        #expect(diagnostics(hostAndVM(spec: base + "graphics: {type: vnc, listen: 127.0.0.1/8}")).first?.contains("must be an IP address") == true)
        #expect(diagnostics(hostAndVM(spec: base + "graphics: {type: vnc, port: 5900}")).first?.contains("unknown field 'port' in graphics") == true)
        #expect(diagnostics(hostAndVM(spec: base + "graphics: vnc")).first?.contains("graphics must be a mapping") == true)
    }

    @Test func guestAgentIsABoolean() throws {
        #expect(try load(base).guestAgent == false)
        #expect(try load(base + "guestAgent: true").guestAgent == true)
        #expect(diagnostics(hostAndVM(spec: base + "guestAgent: qemu")) == [
            "m.yaml:17:15: error: guestAgent must be true or false; got 'qemu'",
        ])
    }

    @Test func graphicsAndTheAgentAreRefusedOnXenButAutostartIsNot() throws {
        let xen = hostAndVM(spec: base + "autostart: true\ngraphics: {type: vnc}\nguestAgent: true").replacingOccurrences(of: "hypervisor: kvm", with: "hypervisor: xen")
        #expect(diagnostics(xen) == [
            "m.yaml:18:13: error: graphics is for VMs on KVM hosts; vmplan's Xen flavour gives a Xen guest its serial or PV console only",
            "m.yaml:19:15: error: guestAgent is for VMs on KVM hosts; vmplan's Xen flavour gives a Xen guest its serial or PV console only",
        ])
        #expect(try load(base + "autostart: false", hypervisor: "xen").autostart == false)
    }

    @Test func listenAddressesAreCanonical() {
        #expect(ListenAddress.canonical("127.0.0.1") == "127.0.0.1")
        #expect(ListenAddress.canonical("0:0:0:0:0:0:0:1") == "::1")
        #expect(ListenAddress.canonical("FE80::1") == "fe80::1")
        #expect(ListenAddress.canonical("127.000.0.1") == nil)
        #expect(ListenAddress.canonical("") == nil)
        #expect(ListenAddress.canonical("::1%lo") == nil)
        #expect(ListenAddress.isLoopback("127.3.4.5") && ListenAddress.isLoopback("::1") && !ListenAddress.isLoopback("::"))
    }
}
