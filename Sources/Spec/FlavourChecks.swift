import Yams

/// `boot` and what only one hypervisor flavour can do, checked against the VM's Host.
extension DocumentDecoder {
    static let bootFields = ["type", "kernel", "initrd", "cmdline", "bootloader"]

    static func decodeBoot(_ node: Node, checker: inout NodeChecker) -> BootSpec? {
        guard let fields = checker.fields(of: node, what: "boot", allowed: bootFields, required: ["type"]) else { return nil }
        guard let type = fields["type"].flatMap({ checker.choice($0, name: "boot.type", as: BootType.self) }) else { return nil }
        var boot = BootSpec(type: type)
        var valid = true
        func path(_ key: String) -> String? {
            guard let field = fields[key] else { return nil }
            guard let text = checker.string(field, name: "boot.\(key)"), BootSpec.isSafeHostPath(text) else {
                checker.error("boot.\(key) must be an absolute path on the host, without '..' or control characters", at: field.value)
                valid = false
                return nil
            }
            return text
        }
        boot.kernel = path("kernel")
        boot.initrd = path("initrd")
        boot.bootloader = path("bootloader")
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
        case .hvm where fields["kernel"] != nil || fields["bootloader"] != nil:
            checker.error("boot type hvm boots from the VM's disks with emulated firmware; kernel and bootloader are for pv and pvh", at: node)
            valid = false
        default: break
        }
        if type == .pvh, fields["bootloader"] != nil {
            checker.error("boot type pvh takes a kernel, not a bootloader", at: node)
            valid = false
        }
        return valid ? boot : nil
    }
}

extension ManifestLoader {
    /// What a VM asks for must be something its host's hypervisor can do.
    static func checkHypervisorFit(_ documents: [DecodedDocument], log: inout DiagnosticLog) {
        var kinds: [String: HypervisorKind] = [:]
        for document in documents where document.kind == .host {
            if let host = document.host { kinds[host.value.name] = host.value.hypervisor }
        }
        for document in documents where document.kind == .virtualMachine {
            guard let vm = document.virtualMachine?.value, let kind = kinds[vm.host] else { continue }
            switch kind {
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
                if vm.boot != nil, let location = document.location(of: .boot) {
                    log.error("boot is for VMs on Xen hosts; host '\(vm.host)' is kvm, where VMs boot with firmware (bios or uefi)", at: location)
                }
            }
        }
    }
}
