import Testing
@testable import Spec

@Suite("boot, acceleration and the host's flavour")
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
            "m.yaml:17:28: error: boot.kernel must be \(StoragePath.rule); got '../vmlinuz'",
        ])
        #expect(diagnostics(Self.manifest(hypervisor: "xen", spec: "boot: {type: pv, bootloader: \"-x\"}")) == [
            "m.yaml:17:32: error: boot.bootloader must be an absolute path on the host, without '..' or control characters",
        ])
        #expect(diagnostics(Self.manifest(hypervisor: "xen", spec: "boot: {type: hvm, kernel: /boot/vmlinuz}")) == [
            "m.yaml:17:9: error: boot type hvm boots from the VM's disks with emulated firmware; kernel and bootloader are for pv and pvh",
        ])
    }

    @Test func uefiAndVGPUsOnXenAreRefusedWithWhy() {
        #expect(diagnostics(Self.manifest(hypervisor: "xen", spec: "firmware: uefi\nvgpus: [{type: nvidia-222}]")) == [
            "m.yaml:17:13: error: firmware: uefi is not available for VMs on Xen host 'kvm-01': vmplan boots Xen guests as pv or pvh (a kernel) or hvm (hvmloader with SeaBIOS); remove firmware or use a KVM host",
            "m.yaml:18:10: error: vgpus are not available on Xen host 'kvm-01': libxl, libvirt's Xen driver, has no mediated devices; pass a whole GPU with gpus instead",
        ])
    }

    static let guestFiles = "kernel: /var/lib/g/vmlinuz, initrd: /var/lib/g/initrd.gz"

    @Test func aKVMGuestStartsAKernelDirectly() throws {
        let text = Self.manifest(hypervisor: "kvm", spec: "boot: {\(Self.guestFiles), cmdline: \"console=ttyS0 quiet\"}")
        let vm = try #require(try ManifestLoader.load(files: [("m.yaml", text)]).virtualMachines.first?.value)
        #expect(vm.boot == BootSpec(type: .direct, kernel: "/var/lib/g/vmlinuz", initrd: "/var/lib/g/initrd.gz", cmdline: "console=ttyS0 quiet"))
        #expect(vm.boot?.summary == "direct kernel=/var/lib/g/vmlinuz initrd=/var/lib/g/initrd.gz cmdline=\"console=ttyS0 quiet\"")
        let explicit = Self.manifest(hypervisor: "kvm", spec: "boot: {type: direct, kernel: /var/lib/g/vmlinuz}")
        #expect(try ManifestLoader.load(files: [("m.yaml", explicit)]).virtualMachines.first?.value.boot == BootSpec(type: .direct, kernel: "/var/lib/g/vmlinuz"))
    }

    @Test func directBootMistakes() {
        #expect(diagnostics(Self.manifest(hypervisor: "kvm", spec: "boot: {initrd: /var/lib/g/initrd.gz}")) == [
            "m.yaml:17:9: error: boot needs a kernel to start directly (with optional initrd and cmdline), or a type for Xen hosts (pv, pvh or hvm)",
        ])
        #expect(diagnostics(Self.manifest(hypervisor: "kvm", spec: "boot: {kernel: vmlinuz}")) == [
            "m.yaml:17:18: error: boot.kernel must be \(StoragePath.rule); got 'vmlinuz'",
        ])
        #expect(diagnostics(Self.manifest(hypervisor: "kvm", spec: "boot: {kernel: /var/lib/g/vmlinuz, bootloader: /usr/bin/pygrub}")) == [
            "m.yaml:17:50: error: boot type direct takes a kernel, not a bootloader; bootloader is for Xen pv guests",
        ])
        #expect(diagnostics(Self.manifest(hypervisor: "kvm", spec: "boot: {kernel: /var/lib/g/vmlinuz, cmdline: \"a\\nb\"}")) == [
            "m.yaml:17:47: error: boot.cmdline must be a line of text of at most 1024 characters",
        ])
    }

    @Test func kernelAndInitrdAreFilesTheHostReadsSoTheHostPathRulesHold() {
        #expect(diagnostics(Self.manifest(hypervisor: "kvm", spec: "boot: {kernel: /boot/vmlinuz, initrd: /etc/shadow}")) == [
            "m.yaml:17:18: error: boot.kernel '/boot/vmlinuz' is in the system directory /boot; no pool or image may be under "
                + HostPaths.systemDirectories.joined(separator: ", ") + "; use a directory such as /var/lib/libvirt/images or /srv/vmplan",
            "m.yaml:17:41: error: boot.initrd '/etc/shadow' is in the system directory /etc; no pool or image may be under "
                + HostPaths.systemDirectories.joined(separator: ", ") + "; use a directory such as /var/lib/libvirt/images or /srv/vmplan",
        ])
        // Line 7 becomes two lines, so the boot line is 18.
        let rooted = Self.manifest(hypervisor: "kvm\n  storageRoots: [/srv/vmplan]", spec: "boot: {\(Self.guestFiles)}")
        #expect(diagnostics(rooted) == [
            "m.yaml:18:18: error: boot.kernel '/var/lib/g/vmlinuz' is outside the storageRoots of host 'kvm-01': /srv/vmplan; "
                + "move it under one of them or add its directory to the Host's storageRoots",
            "m.yaml:18:46: error: boot.initrd '/var/lib/g/initrd.gz' is outside the storageRoots of host 'kvm-01': /srv/vmplan; "
                + "move it under one of them or add its directory to the Host's storageRoots",
        ])
        // The same rules hold for a Xen guest's kernel; a bootloader is a program in dom0.
        #expect(diagnostics(Self.manifest(hypervisor: "xen", spec: "boot: {type: pvh, kernel: /boot/vmlinuz}")) == [
            "m.yaml:17:29: error: boot.kernel '/boot/vmlinuz' is in the system directory /boot; no pool or image may be under "
                + HostPaths.systemDirectories.joined(separator: ", ") + "; use a directory such as /var/lib/libvirt/images or /srv/vmplan",
        ])
        #expect(diagnostics(Self.manifest(hypervisor: "xen", spec: "boot: {type: pv, bootloader: /usr/lib/xen-4.17/bin/pygrub}")).isEmpty)
    }

    @Test func eachFlavourRefusesTheOthersBootTypes() {
        #expect(diagnostics(Self.manifest(hypervisor: "kvm", spec: "boot: {type: pv, kernel: /var/lib/g/vmlinuz}")) == [
            "m.yaml:17:16: error: boot type pv is for VMs on Xen hosts; on KVM host 'kvm-01' leave type out: "
                + "boot: {kernel, initrd, cmdline} starts a kernel directly, without it the VM boots with its firmware",
        ])
        #expect(diagnostics(Self.manifest(hypervisor: "kvm", spec: "boot: {type: hvm}")) == [
            "m.yaml:17:16: error: boot type hvm is for VMs on Xen hosts; on KVM host 'kvm-01' leave type out: "
                + "boot: {kernel, initrd, cmdline} starts a kernel directly, without it the VM boots with its firmware",
        ])
        #expect(diagnostics(Self.manifest(hypervisor: "xen", spec: "boot: {\(Self.guestFiles)}")) == [
            "m.yaml:17:9: error: boot on Xen host 'kvm-01' needs a type: pv, pvh or hvm; a boot without type (a kernel QEMU starts directly) is for KVM hosts",
        ])
        #expect(diagnostics(Self.manifest(hypervisor: "kvm", spec: "boot: {type: pvm, kernel: /var/lib/g/vmlinuz}")).first?
            .hasPrefix("m.yaml:17:16: error: boot.type must be one of pv, pvh, hvm, direct") == true)
    }

    @Test func aKVMHostMayAskForEmulation() throws {
        let tcg = Self.manifest(hypervisor: "kvm\n  acceleration: tcg", spec: "")
        #expect(try ManifestLoader.load(files: [("m.yaml", tcg)]).hosts.first?.value.acceleration == .tcg)
        #expect(try ManifestLoader.load(files: [("m.yaml", Self.manifest(hypervisor: "kvm", spec: ""))]).hosts.first?.value.acceleration == .kvm)
        #expect(diagnostics(Self.manifest(hypervisor: "kvm\n  acceleration: hvf", spec: "")).first?
            .hasPrefix("m.yaml:8:17: error: acceleration must be one of kvm, tcg") == true)
        #expect(diagnostics(Self.manifest(hypervisor: "xen\n  acceleration: tcg", spec: "")) == [
            "m.yaml:8:17: error: acceleration is for KVM hosts (QEMU's kvm or tcg); a Xen host runs its guests with Xen",
        ])
    }
}
