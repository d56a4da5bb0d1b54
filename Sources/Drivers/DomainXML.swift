import Spec

/// The domain XML vmplan writes for a VirtualMachine, per hypervisor flavour.
public enum DomainXML {
    /// - Parameter owner: the id of the state the marker names.
    public static func make(for spec: VirtualMachineSpec, flavour: HypervisorKind, capabilities: HostCapabilities, uuid: String? = nil,
                            owner: String? = nil) throws -> String {
        switch flavour {
        case .kvm: try kvm(for: spec, capabilities: capabilities, uuid: uuid, owner: owner)
        case .xen: try xen(for: spec, capabilities: capabilities, uuid: uuid, owner: owner)
        }
    }

    /// QEMU/KVM: `type='kvm'` where the host offers it, TCG otherwise.
    public static func kvm(for spec: VirtualMachineSpec, capabilities: HostCapabilities, uuid: String? = nil, owner: String? = nil) throws -> String {
        var xml = try openDomain(type: capabilities.preferredDomainType, spec: spec, uuid: uuid, owner: owner)
        xml.open("os", spec.firmware == .uefi ? [("firmware", "efi")] : [])
        xml.element("type", [("arch", capabilities.arch)] + (spec.machine.map { [("machine", $0.rawValue)] } ?? []), text: "hvm")
        if let boot = spec.boot {
            // Direct kernel boot: QEMU loads these files itself; no boot device is tried.
            guard boot.type == .direct, let kernel = boot.kernel else {
                throw DriverError(.invalidInput, "KVM guests boot with their firmware or a kernel started directly; boot type \(boot.type.rawValue) is Xen's")
            }
            try writeKernel(kernel, initrd: boot.initrd, cmdline: boot.cmdline, into: &xml)
        } else if !spec.attachedDisks.contains(where: { $0.boot != nil }) {
            // libvirt refuses <os><boot> together with per-disk boot orders.
            xml.element("boot", [("dev", "hd")])
        }
        xml.close()
        xml.open("features")
        xml.element("acpi")
        xml.element("apic")
        xml.close()
        if let cpu = spec.cpu { writeCPU(cpu, into: &xml) }
        writeLifecycleEvents(into: &xml)
        xml.open("devices")
        writeDisks(into: &xml, spec: spec)
        writeInterfaces(into: &xml, spec: spec)
        ConsoleXML.writeSerialConsole(into: &xml)
        ConsoleXML.writeGuestAgent(into: &xml, spec: spec)
        ConsoleXML.writeGraphics(into: &xml, spec: spec)
        DeviceXML.writeHostdevs(into: &xml, spec: spec)
        xml.element("memballoon", [("model", "virtio")])
        xml.close()
        xml.close()
        return xml.text
    }

    /// libxl: PV and PVH guests start a kernel (or a bootloader), HVM guests get hvmloader.
    public static func xen(for spec: VirtualMachineSpec, capabilities: HostCapabilities, uuid: String? = nil, owner: String? = nil) throws -> String {
        guard spec.firmware == .bios, spec.vgpus.isEmpty, spec.networks == nil, spec.graphics == nil, !spec.guestAgent else {
            throw DriverError(.invalidInput, "Xen guests take neither firmware: uefi, vgpus, networks, graphics nor guestAgent")
        }
        let boot = spec.boot ?? BootSpec(type: .hvm)
        if let bootloader = boot.bootloader, !BootSpec.isSafeHostPath(bootloader) {
            throw DriverError(.invalidInput, "'\(bootloader)' is not a safe absolute path for boot")
        }
        var xml = try openDomain(type: "xen", spec: spec, uuid: uuid, owner: owner)
        if let bootloader = boot.bootloader { xml.element("bootloader", text: bootloader) }
        xml.open("os")
        switch boot.type {
        case .pv: xml.element("type", [("arch", capabilities.arch), ("machine", "xenpv")], text: "linux")
        case .pvh: xml.element("type", [("arch", capabilities.arch), ("machine", "xenpvh")], text: "xenpvh")
        case .hvm: xml.element("type", [("arch", capabilities.arch), ("machine", "xenfv")], text: "hvm")
        case .direct: throw DriverError(.invalidInput, "Xen guests boot as pv, pvh or hvm; a kernel started directly by QEMU is for KVM hosts")
        }
        if let kernel = boot.kernel { try writeKernel(kernel, initrd: boot.initrd, cmdline: boot.cmdline, into: &xml) }
        if boot.type == .hvm { xml.element("boot", [("dev", "hd")]) }
        xml.close()
        if boot.type == .hvm {
            xml.open("features")
            xml.element("acpi")
            xml.element("apic")
            xml.element("pae")
            xml.close()
        }
        writeLifecycleEvents(into: &xml)
        xml.open("devices")
        if boot.type == .hvm {
            ConsoleXML.writeSerialConsole(into: &xml)
        } else {
            xml.open("console", [("type", "pty")])
            xml.element("target", [("type", "xen"), ("port", "0")])
            xml.close()
        }
        DeviceXML.writeHostdevs(into: &xml, spec: spec)
        xml.close()
        xml.close()
        return xml.text
    }

    /// What every flavour writes first: identity, vmplan's marker, memory and vCPUs.
    /// - Parameter uuid: the existing domain's UUID when redefining it; nil lets libvirt choose one.
    private static func openDomain(type: String, spec: VirtualMachineSpec, uuid: String?, owner: String?) throws -> XMLWriter {
        guard ResourceName.isValid(spec.name) else {
            throw DriverError(.invalidInput, "'\(spec.name)' is not a valid domain name: \(ResourceName.rule)")
        }
        var xml = XMLWriter()
        xml.open("domain", [("type", type)])
        xml.element("name", text: spec.name)
        if let uuid { xml.element("uuid", text: uuid) }
        if let description = spec.description { xml.element("description", text: description) }
        writeMarker(into: &xml, spec: spec, owner: owner)
        xml.element("memory", [("unit", "KiB")], text: String(spec.effectiveMaxMemory.kibibytes))
        xml.element("currentMemory", [("unit", "KiB")], text: String(spec.memory.kibibytes))
        xml.element("vcpu", [("placement", "static"), ("current", String(spec.vcpus))], text: String(spec.effectiveMaxVcpus))
        return xml
    }

    /// `<kernel>`, `<initrd>` and `<cmdline>` of `<os>`: files on the host that the hypervisor loads for the guest.
    private static func writeKernel(_ kernel: String, initrd: String?, cmdline: String?, into xml: inout XMLWriter) throws {
        for path in [kernel, initrd].compactMap({ $0 }) where !BootSpec.isSafeHostPath(path) {
            throw DriverError(.invalidInput, "'\(path)' is not a safe absolute path for boot")
        }
        xml.element("kernel", text: kernel)
        if let initrd { xml.element("initrd", text: initrd) }
        if let cmdline { xml.element("cmdline", text: cmdline) }
    }

    /// The NICs in manifest order (`InterfaceXML`).
    static func writeInterfaces(into xml: inout XMLWriter, spec: VirtualMachineSpec) {
        for nic in spec.networks ?? [] { InterfaceXML.write(nic, into: &xml) }
    }

    private static func writeCPU(_ cpu: CPUSpec, into xml: inout XMLWriter) {
        xml.open("cpu", [("mode", cpu.mode.rawValue)] + (cpu.mode == .custom ? [("match", "exact")] : []))
        if cpu.mode == .custom, let model = cpu.model { xml.element("model", [("fallback", "forbid")], text: model) }
        if let topology = cpu.topology {
            xml.element("topology", [("sockets", String(topology.sockets)), ("cores", String(topology.cores)), ("threads", String(topology.threads))])
        }
        xml.close()
    }

    /// A guest that powers off or crashes stays off; a reboot restarts it. vmplan decides the rest.
    private static func writeLifecycleEvents(into xml: inout XMLWriter) {
        xml.element("on_poweroff", text: "destroy")
        xml.element("on_reboot", text: "restart")
        xml.element("on_crash", text: "destroy")
    }

    private static func writeMarker(into xml: inout XMLWriter, spec: VirtualMachineSpec, owner: String?) {
        xml.open("metadata")
        writeMarkerElement(into: &xml, spec: spec, owner: owner)
        xml.close()
    }

    /// The marker alone, for `virDomainSetMetadata` (an import): libvirt puts the element and its
    /// children in vmplan's namespace itself, and refuses an element that declares it.
    static func marker(for spec: VirtualMachineSpec, owner: String) -> String {
        var xml = XMLWriter()
        writeMarkerElement(into: &xml, spec: spec, owner: owner, prefix: "")
        return xml.text
    }

    private static func writeMarkerElement(into xml: inout XMLWriter, spec: VirtualMachineSpec, owner: String?, prefix: String = "vmplan:") {
        let attributes = (prefix.isEmpty ? [] : [("xmlns:vmplan", OwnershipMarker.namespace)]) + [
            ("name", spec.name), ("hash", spec.specHash),
        ] + (owner.map { [("state", $0)] } ?? [])
        // Without labels the element is empty: no stray line break becomes its text.
        guard !spec.labels.isEmpty else { return xml.element(prefix + "resource", attributes) }
        xml.open(prefix + "resource", attributes)
        for (key, value) in spec.labels.sorted(by: { $0.key < $1.key }) {
            xml.element(prefix + "label", [("key", key)], text: value)
        }
        xml.close()
    }
}
