import Foundation
import Testing
import TestSupport

/// GPU and vGPU planning through the real CLI against libvirt's test driver, loaded with a host
/// definition of our own (two T4s with vGPU profiles, an A100, a GPU sharing its IOMMU group with
/// an audio function, a NIC). libvirt's node-device code answers; nothing is faked in vmplan.
@Suite("GPU and vGPU planning against libvirt's test driver")
struct GPUPlanTests {
    static let fixture = ValidationTests.repository.appendingPathComponent("Tests/DriversTests/Fixtures/gpu-host.xml").path

    static func workspace(hypervisor: String = "kvm", _ vms: String...) throws -> Workspace {
        let workspace = try Workspace()
        try workspace.write("host.yaml", """
            apiVersion: vmplan/v1
            kind: Host
            metadata: {name: gpu-01}
            spec: {uri: "test://\(fixture)", hypervisor: \(hypervisor)}
            """)
        try workspace.write("vms.yaml", vms.joined(separator: "\n---\n"))
        return workspace
    }

    static func vm(_ name: String, _ devices: String) -> String {
        """
        apiVersion: vmplan/v1
        kind: VirtualMachine
        metadata: {name: \(name)}
        spec:
          host: gpu-01
          vcpus: 2
          memory: 1GiB
          state: stopped
        \(devices.split(separator: "\n").map { "  " + $0 }.joined(separator: "\n"))
        """
    }

    static func plan(_ workspace: Workspace, _ extra: String...) throws -> TestHost.Output {
        try TestHost.run(CLI.binary, ["plan", workspace.path] + extra)
    }

    @Test func selectorsAndProfilesResolveToConcreteDevices() throws {
        let workspace = try Self.workspace(
            Self.vm("train", "gpus: [{vendor: \"10de\", product: \"1eb8\", count: 2}]"),
            Self.vm("desk", "vgpus: [{type: nvidia-222, display: true}, {profile: \"GRID T4-16Q\"}]"))
        defer { workspace.delete() }
        let result = try Self.plan(workspace)
        #expect(result.status == 0, "\(result.stderr)")
        #expect(result.stdout.contains("+ gpus      = 0000:3b:00.0, 0000:af:00.0"), "\(result.stdout)")
        // nvidia-222 comes from the first T4 with room; GRID T4-16Q only fits on the second.
        #expect(result.stdout.contains("(nvidia-222 on 0000:3b:00.0, host gpu-01)"))
        #expect(result.stdout.contains("(nvidia-230 on 0000:af:00.0, host gpu-01)"))
        #expect(result.stdout.contains("Plan: 4 to add, 0 to change, 0 to destroy."))

        // The derived vGPU UUIDs are stable: the same plan twice names the same devices.
        let again = try Self.plan(workspace)
        let mdevLines = { (text: String) in text.split(separator: "\n").filter { $0.contains("+ mdev ") } }
        #expect(mdevLines(result.stdout) == mdevLines(again.stdout))
        #expect(mdevLines(result.stdout).count == 2)
    }

    @Test func anExistingMdevWithThePinnedUUIDIsUsedNotCreated() throws {
        let workspace = try Self.workspace(Self.vm("reuse", "vgpus: [{type: nvidia-222, uuid: 4b20d080-1b54-4048-85b3-a6a62d165c01}]"))
        defer { workspace.delete() }
        let result = try Self.plan(workspace)
        #expect(result.status == 0, "\(result.stderr)")
        #expect(!result.stdout.contains("+ mdev"))
        #expect(result.stdout.contains("+ vgpus     = 4b20d080-1b54-4048-85b3-a6a62d165c01"))
    }

    @Test func aDeviceRequestedByTwoVMsFailsThePlan() throws {
        let workspace = try Self.workspace(Self.vm("a", "gpus: [{pci: \"0000:17:00.0\"}]"), Self.vm("b", "gpus: [{pci: \"0000:17:00.0\"}]"))
        defer { workspace.delete() }
        let result = try Self.plan(workspace)
        #expect(result.status == 1)
        #expect(result.stderr.contains("vms.yaml:11:1: error: PCI device 0000:17:00.0 on host 'gpu-01' is requested by both 'a' and 'b'; a device can be passed to one VM only"), "\(result.stderr)")
    }

    @Test func anIOMMUGroupMustBePassedWhole() throws {
        let alone = try Self.workspace(Self.vm("gamer", "gpus: [{pci: \"0000:65:00.0\"}]"))
        defer { alone.delete() }
        let result = try Self.plan(alone)
        #expect(result.status == 1)
        #expect(result.stderr.contains("PCI device 0000:65:00.0 of 'gamer' shares IOMMU group 40 on host 'gpu-01' with 0000:65:00.1 (Advanced Micro Devices, Inc. [AMD/ATI] Ellesmere HDMI Audio"), "\(result.stderr)")
        #expect(result.stderr.contains("VFIO passes a whole group: add it to gpus (with allowNonGPU: true)"))

        let whole = try Self.workspace(Self.vm("gamer", "gpus: [{pci: \"0000:65:00.0\"}, {pci: \"0000:65:00.1\", allowNonGPU: true}]"))
        defer { whole.delete() }
        #expect(try Self.plan(whole).status == 0)
    }

    @Test func anUnsatisfiableSelectorNamesWhoHasTheDevices() throws {
        let workspace = try Self.workspace(
            Self.vm("a", "gpus: [{pci: \"0000:3b:00.0\"}]"),
            Self.vm("b", "gpus: [{vendor: \"10de\", product: \"1eb8\", count: 2}]"))
        defer { workspace.delete() }
        let result = try Self.plan(workspace)
        #expect(result.status == 1)
        #expect(result.stderr.contains("gpus selector 10de:1eb8 x2 of 'b' cannot be satisfied on host 'gpu-01': 2 devices match, 1 free (0000:3b:00.0 is used by a)"), "\(result.stderr)")
    }

    @Test func anExhaustedProfileFailsThePlan() throws {
        let workspace = try Self.workspace(
            Self.vm("a", "vgpus: [{type: nvidia-230}]"),
            Self.vm("b", "vgpus: [{type: nvidia-230}]"))
        defer { workspace.delete() }
        let result = try Self.plan(workspace)
        #expect(result.status == 1)
        #expect(result.stderr.contains("mdev type nvidia-230 is exhausted on host 'gpu-01' (0000:3b:00.0: 0 free, 0000:af:00.0: 0 free); 'b' needs one more"), "\(result.stderr)")
    }

    @Test func twoDisplayVGPUsOnOneVMAreRefused() throws {
        let workspace = try Self.workspace(Self.vm("a", "vgpus: [{type: nvidia-222, display: true}, {type: nvidia-222, display: true}]"))
        defer { workspace.delete() }
        let result = try Self.plan(workspace)
        #expect(result.status == 1)
        #expect(result.stderr.contains("vms.yaml:9:10: error: at most one vGPU of a VM can drive its display; 2 have display: true"), "\(result.stderr)")
    }

    @Test func aNonGPUDeviceNeedsAllowNonGPU() throws {
        let workspace = try Self.workspace(Self.vm("router", "gpus: [{pci: \"0000:18:00.0\"}]"))
        defer { workspace.delete() }
        let result = try Self.plan(workspace)
        #expect(result.status == 1)
        #expect(result.stderr.contains("PCI device 0000:18:00.0 on host 'gpu-01' is not a display controller (Intel Corporation Ethernet Controller X710 for 10GbE SFP+, class 0x020000); add allowNonGPU: true"), "\(result.stderr)")
        try workspace.write("vms.yaml", Self.vm("router", "gpus: [{pci: \"0000:18:00.0\", allowNonGPU: true}]"))
        #expect(try Self.plan(workspace).status == 0)
    }

    @Test func vGPUsOnAXenHostAreRefusedWithTheReason() throws {
        let workspace = try Self.workspace(hypervisor: "xen", Self.vm("a", "vgpus: [{type: nvidia-222}]"))
        defer { workspace.delete() }
        let result = try Self.plan(workspace)
        #expect(result.status == 1)
        #expect(result.stderr.contains("vms.yaml:9:10: error: vgpus are not available on Xen host 'gpu-01': libxl, libvirt's Xen driver, has no mediated devices"), "\(result.stderr)")
    }

    @Test func anUnknownDeviceFailsUnlessTheHostOnlyWarns() throws {
        let workspace = try Self.workspace(Self.vm("a", "gpus: [{pci: \"0000:99:00.0\"}]"))
        defer { workspace.delete() }
        let strict = try Self.plan(workspace)
        #expect(strict.status == 1)
        #expect(strict.stderr.contains("host 'gpu-01' has no PCI device 0000:99:00.0"))
        try workspace.write("host.yaml", """
            apiVersion: vmplan/v1
            kind: Host
            metadata: {name: gpu-01}
            spec: {uri: "test://\(Self.fixture)", hypervisor: kvm, deviceChecks: warn}
            """)
        let relaxed = try Self.plan(workspace)
        #expect(relaxed.status == 0, "\(relaxed.stderr)")
        #expect(relaxed.stdout.contains("warning: host 'gpu-01' has no PCI device 0000:99:00.0"))
    }

    @Test func inventoryShowsGPUsProfilesAndMdevs() throws {
        let workspace = try Self.workspace()
        defer { workspace.delete() }
        let text = try CLI.run("inventory", workspace.path)
        #expect(text.status == 0, "\(text.stderr)")
        #expect(text.stdout.contains("0000:65:00.0  Advanced Micro Devices, Inc. [AMD/ATI] Ellesmere"))
        #expect(text.stdout.contains("40 (with 0000:65:00.1)"))
        #expect(text.stdout.contains("0000:af:00.0  nvidia-230  GRID T4-16Q  vfio-pci  1"))
        #expect(text.stdout.contains("4b20d080-1b54-4048-85b3-a6a62d165c01  nvidia-222  0000:3b:00.0  -        not vmplan"))
        #expect(!text.stdout.contains("0000:18:00.0"), "a NIC is not a GPU")

        let json = try CLI.run("inventory", workspace.path, "--json", "--host", "gpu-01")
        let hosts = try #require(try JSONSerialization.jsonObject(with: Data(json.stdout.utf8)) as? [[String: Any]])
        #expect((hosts.first?["gpus"] as? [Any])?.count == 4)
        let unknown = try CLI.run("inventory", workspace.path, "--host", "gpu-1")
        #expect(unknown.status == 1)
        #expect(unknown.stderr.contains("no Host named 'gpu-1'") && unknown.stderr.contains("did you mean 'gpu-01'?"))
    }
}
