import Testing
@testable import Spec

@Suite("boot and the host's flavour")
struct BootTests {
    static func manifest(hypervisor: String, spec: String) -> String {
        hostAndVM(spec: "host: kvm-01\nvcpus: 1\nmemory: 256MiB\n" + spec)
            .replacingOccurrences(of: "hypervisor: kvm", with: "hypervisor: \(hypervisor)")
    }

    @Test func aPVGuestLoads() throws {
        let text = Self.manifest(hypervisor: "xen", spec: "boot: {type: pv, kernel: /var/lib/g/vmlinuz, initrd: /var/lib/g/initrd.gz, cmdline: \"console=hvc0\"}")
        let vm = try #require(try ManifestLoader.load(files: [("m.yaml", text)]).virtualMachines.first?.value)
        #expect(vm.boot == BootSpec(type: .pv, kernel: "/var/lib/g/vmlinuz", initrd: "/var/lib/g/initrd.gz", cmdline: "console=hvc0"))
    }

    @Test func plainHVMIsTheSameAsNoBoot() throws {
        let vm = try #require(try ManifestLoader.load(files: [("m.yaml", Self.manifest(hypervisor: "xen", spec: "boot: {type: hvm}"))]).virtualMachines.first?.value)
        #expect(vm.boot == nil)
    }

    @Test func bootMistakes() {
        #expect(diagnostics(Self.manifest(hypervisor: "xen", spec: "boot: {type: pvh}")) == [
            "m.yaml:17:9: error: boot type pvh needs a kernel (with optional initrd and cmdline)",
        ])
        #expect(diagnostics(Self.manifest(hypervisor: "xen", spec: "boot: {type: pv, kernel: ../vmlinuz}")) == [
            "m.yaml:17:28: error: boot.kernel must be an absolute path on the host, without '..' or control characters",
        ])
        #expect(diagnostics(Self.manifest(hypervisor: "xen", spec: "boot: {type: hvm, kernel: /boot/vmlinuz}")) == [
            "m.yaml:17:9: error: boot type hvm boots from the VM's disks with emulated firmware; kernel and bootloader are for pv and pvh",
        ])
    }

    @Test func uefiAndVGPUsOnXenAndBootOnKVMAreRefusedWithWhy() {
        #expect(diagnostics(Self.manifest(hypervisor: "xen", spec: "firmware: uefi\nvgpus: [{type: nvidia-222}]")) == [
            "m.yaml:17:13: error: firmware: uefi is not available for VMs on Xen host 'kvm-01': vmplan boots Xen guests as pv or pvh (a kernel) or hvm (hvmloader with SeaBIOS); remove firmware or use a KVM host",
            "m.yaml:18:10: error: vgpus are not available on Xen host 'kvm-01': libxl, libvirt's Xen driver, has no mediated devices; pass a whole GPU with gpus instead",
        ])
        #expect(diagnostics(Self.manifest(hypervisor: "kvm", spec: "boot: {type: pv, kernel: /boot/vmlinuz}")) == [
            "m.yaml:17:9: error: boot is for VMs on Xen hosts; host 'kvm-01' is kvm, where VMs boot with firmware (bios or uefi)",
        ])
    }
}
