import Yams

/// `boot` and what only one hypervisor flavour can do, checked against the VM's Host.
extension DocumentDecoder {
    static let bootFields = ["type", "kernel", "initrd", "cmdline", "bootloader"]

    /// `boot: {type, kernel, initrd, cmdline, bootloader}`; without `type` it is a KVM direct kernel boot.
    /// Where `type`, `kernel` and `initrd` are written is kept for the checks against the VM's Host.
    static func decodeBoot(_ node: Node, checker: inout NodeChecker, decoded: inout DecodedDocument) -> BootSpec? {
        guard let fields = checker.fields(of: node, what: "boot", allowed: bootFields, required: []) else { return nil }
        for key in ["type", "kernel", "initrd"] {
            if let field = fields[key] { decoded.fieldLocations["boot.\(key)"] = checker.document.location(of: field.value) }
        }
        var type = BootType.direct
        if let field = fields["type"] {
            guard let chosen = checker.choice(field, name: "boot.type", as: BootType.self) else { return nil }
            type = chosen
        }
        var boot = BootSpec(type: type)
        var valid = true
        // Kernel and initrd are files the host reads for the guest: normalised, so the Host's
        // storageRoots can be checked. A bootloader is a program in dom0, such as /usr/lib/xen-4.17/bin/pygrub.
        for key in ["kernel", "initrd"] {
            guard let field = fields[key] else { continue }
            let path = checker.path(field, name: "boot.\(key)")
            if path == nil { valid = false }
            if key == "kernel" { boot.kernel = path } else { boot.initrd = path }
        }
        if let field = fields["bootloader"] {
            if let text = checker.string(field, name: "boot.bootloader"), BootSpec.isSafeHostPath(text) {
                boot.bootloader = text
            } else {
                checker.error("boot.bootloader must be an absolute path on the host, without '..' or control characters", at: field.value)
                valid = false
            }
        }
        if let field = fields["cmdline"] {
            if let text = checker.string(field, name: "boot.cmdline"), text.count <= 1024,
               !text.unicodeScalars.contains(where: { $0.properties.generalCategory == .control }) {
                boot.cmdline = text
            } else {
                checker.error("boot.cmdline must be a line of text of at most 1024 characters", at: field.value)
                valid = false
            }
        }
        switch type {
        case .pv where boot.kernel == nil && boot.bootloader == nil && fields["kernel"] == nil && fields["bootloader"] == nil:
            checker.error("boot type pv needs a kernel (with optional initrd and cmdline) or a bootloader such as pygrub", at: node)
            valid = false
        case .pvh where fields["kernel"] == nil:
            checker.error("boot type pvh needs a kernel (with optional initrd and cmdline)", at: node)
            valid = false
        case .direct where fields["kernel"] == nil:
            checker.error("boot needs a kernel to start directly (with optional initrd and cmdline), "
                + "or a type for Xen hosts (pv, pvh or hvm)", at: node)
            valid = false
        case .hvm where fields["kernel"] != nil || fields["bootloader"] != nil:
            checker.error("boot type hvm boots from the VM's disks with emulated firmware; kernel and bootloader are for pv and pvh", at: node)
            valid = false
        default: break
        }
        if type == .pvh || type == .direct, let field = fields["bootloader"] {
            checker.error("boot type \(type.rawValue) takes a kernel, not a bootloader; bootloader is for Xen pv guests", at: field.value)
            valid = false
        }
        return valid ? boot : nil
    }
}

extension ManifestLoader {
    /// What a VM asks for must be something its host's hypervisor can do.
    static func checkHypervisorFit(_ documents: [DecodedDocument], log: inout DiagnosticLog) {
        var hosts: [String: HostSpec] = [:]
        for document in documents where document.kind == .host {
            if let host = document.host { hosts[host.value.name] = host.value }
        }
        for document in documents where document.kind == .virtualMachine {
            guard let vm = document.virtualMachine?.value, let host = hosts[vm.host] else { continue }
            // A written boot that reads as none was `type: hvm`, which is Xen's.
            if let boot = vm.boot ?? document.location(of: .boot).map({ _ in BootSpec(type: .hvm) }) {
                checkBoot(boot, of: document, on: host, log: &log)
            }
            switch host.hypervisor {
            case .xen:
                if vm.firmware == .uefi, let location = document.location(of: .firmware) {
                    log.error("firmware: uefi is not available for VMs on Xen host '\(vm.host)': vmplan boots Xen guests as pv or pvh "
                        + "(a kernel) or hvm (hvmloader with SeaBIOS); remove firmware or use a KVM host", at: location)
                }
                if vm.cpu != nil, let location = document.location(of: .cpu) {
                    log.error("cpu is for VMs on KVM hosts; vmplan's Xen flavour leaves the CPU to libxl", at: location)
                }
                for field in [VMField.graphics, .guestAgent] {
                    guard let location = document.location(of: field) else { continue }
                    log.error("\(field.rawValue) is for VMs on KVM hosts; vmplan's Xen flavour gives a Xen guest its serial or PV console only", at: location)
                }
                if vm.machine != nil, let location = document.location(of: .machine) {
                    log.error("machine is a QEMU machine type for VMs on KVM hosts; on Xen host '\(vm.host)' use boot.type (pv, pvh or hvm)", at: location)
                }
                if let location = document.location(of: .networks) {
                    log.error("networks on Xen host '\(vm.host)' is not supported by vmplan's Xen flavour yet: on the Xen host it is tested "
                        + "against, libxl's vif-bridge hotplug script timed out (stalling libvirtd meanwhile) and a second vif failed to attach, "
                        + "so bridge vifs are not proven; remove networks (NICs added by hand are kept) or use a KVM host", at: location)
                }
                for field in [VMField.disks, .cloudInit] {
                    guard let location = document.location(of: field) else { continue }
                    log.error("\(field.rawValue) on Xen host '\(vm.host)' is not supported by vmplan's Xen flavour yet; "
                        + "boot pv or pvh guests from a kernel and initrd in dom0 instead", at: location)
                }
                if !vm.vgpus.isEmpty, let location = document.location(of: .vgpus) {
                    log.error("vgpus are not available on Xen host '\(vm.host)': libxl, libvirt's Xen driver, has no mediated devices; "
                        + "pass a whole GPU with gpus instead", at: location)
                }
            case .kvm:
                break  // boot is checked above; the rest is what KVM can do
            }
        }
    }

    /// A boot type the host's flavour runs, with kernel and initrd where the host's pools and images may be.
    private static func checkBoot(_ boot: BootSpec, of document: DecodedDocument, on host: HostSpec, log: inout DiagnosticLog) {
        guard BootType.allowed(on: host.hypervisor).contains(boot.type) else {
            let location = document.fieldLocations["boot.type"] ?? document.location(of: .boot)
            switch host.hypervisor {
            case .kvm:
                log.error("boot type \(boot.type.rawValue) is for VMs on Xen hosts; on KVM host '\(host.name)' leave type out: "
                    + "boot: {kernel, initrd, cmdline} starts a kernel directly, without it the VM boots with its firmware", at: location)
            case .xen:
                log.error("boot on Xen host '\(host.name)' needs a type: pv, pvh or hvm; a boot without type (a kernel QEMU starts directly) "
                    + "is for KVM hosts", at: location)
            }
            return
        }
        for (key, path) in [("kernel", boot.kernel), ("initrd", boot.initrd)] {
            guard let path, let refusal = HostPaths.refusal(of: path, roots: host.storageRoots, host: host.name) else { continue }
            log.error("boot.\(key) \(refusal)", at: document.fieldLocations["boot.\(key)"] ?? document.location(of: .boot))
        }
    }
}
