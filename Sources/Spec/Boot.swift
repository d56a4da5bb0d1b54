/// How a guest boots: one of Xen's three guest types, or a kernel QEMU/KVM loads directly.
public enum BootType: String, Sendable, Codable, CaseIterable {
    /// Paravirtualised: a kernel (or a bootloader such as pygrub) started directly by Xen.
    case pv
    /// PVH: a kernel started in a lightweight HVM container; no emulated devices.
    case pvh
    /// Fully virtualised with emulated firmware (hvmloader + SeaBIOS), booting from disk.
    case hvm
    /// KVM: QEMU loads a kernel (and initrd) from the host and starts it, without a bootloader.
    /// What a `boot` without `type` means.
    case direct

    /// The types a VM on a host of this flavour may use.
    public static func allowed(on hypervisor: HypervisorKind) -> [BootType] {
        switch hypervisor {
        case .kvm: [.direct]
        case .xen: [.pv, .pvh, .hvm]
        }
    }
}

/// `VirtualMachine.spec.boot`: how a Xen guest boots, or the kernel a KVM guest starts directly.
/// Paths are on the host (dom0 for Xen).
public struct BootSpec: Hashable, Sendable, Codable {
    public var type: BootType
    public var kernel: String?
    public var initrd: String?
    public var cmdline: String?
    public var bootloader: String?

    public init(type: BootType, kernel: String? = nil, initrd: String? = nil, cmdline: String? = nil, bootloader: String? = nil) {
        self.type = type
        self.kernel = kernel
        self.initrd = initrd
        self.cmdline = cmdline
        self.bootloader = bootloader
    }

    /// `pv kernel=/boot/vmlinuz initrd=… cmdline="console=hvc0"`, for plans.
    public var summary: String {
        var parts = [type.rawValue]
        if let kernel { parts.append("kernel=\(kernel)") }
        if let initrd { parts.append("initrd=\(initrd)") }
        if let cmdline { parts.append("cmdline=\"\(cmdline)\"") }
        if let bootloader { parts.append("bootloader=\(bootloader)") }
        return parts.joined(separator: " ")
    }

    /// An absolute path without `..`, control characters or a leading `-`: it reaches libxl and, for
    /// bootloaders, a command line on the host.
    public static func isSafeHostPath(_ path: String) -> Bool {
        path.hasPrefix("/") && path.count <= 1024
            && !path.split(separator: "/").contains("..")
            && !path.unicodeScalars.contains { $0.properties.generalCategory == .control }
    }
}
