import Foundation
#if canImport(FoundationXML)
import FoundationXML
#endif
import Spec

/// One part of a domain that a VirtualMachine manifest cannot say, and what becomes of it.
public struct UnexpressedPart: Sendable, Hashable {
    public enum Fate: String, Sendable, Hashable, CaseIterable {
        /// vmplan carries it over when it redefines the domain (a device it does not manage), or never touches it.
        case kept
        /// Gone, or back to libvirt's default, the next time vmplan redefines the domain (a change to a field).
        case lostOnRedefine = "lost-on-redefine"
        /// Importing would be unsafe: the domain is refused.
        case refused
    }

    public var fate: Fate
    /// `clock (offset=utc; timer, timer)`, `disk hdc: a cdrom drive without a medium`.
    public var what: String

    public init(_ fate: Fate, _ what: String) {
        self.fate = fate
        self.what = what
    }
}

/// Lists what of a domain's inactive XML vmplan's schema cannot express. vmplan regenerates the
/// whole definition outside `<devices>` when it redefines a domain, and inside it keeps only
/// the devices it does not manage (`UnmanagedDevices`), so each element is sorted by that.
/// Values libvirt assigns (UUID, PCI addresses, aliases, controllers, the emulator) are not listed.
enum DomainAudit {
    /// Top-level elements vmplan writes from the manifest (or libvirt fills in on every define).
    private static let expressedTopLevel: Set<String> = ["name", "uuid", "description", "memory", "currentMemory", "vcpu", "devices",
                                                         "genid"]
    /// Devices vmplan does not manage: kept as they are when it redefines the domain.
    private static func isKeptDevice(_ name: String) -> Bool { !UnmanagedDevices.managed.contains(name) && name != "interface" }
    /// Children of a disk that vmplan's `{volume, bus, device, boot, readonly}` covers, or libvirt assigns.
    private static let expressedDiskChildren: Set<String> = ["driver", "source", "target", "boot", "readonly", "shareable", "address",
                                                             "alias", "backingStore"]

    static func audit(_ xml: String, reader: DomainXMLReader, flavour: HypervisorKind) throws -> [UnexpressedPart] {
        let document: XMLDocument
        do {
            document = try XMLDocument(xmlString: xml, options: [])
        } catch {
            throw DriverError(.operation, "cannot read the XML of domain \(reader.name): \(error)")
        }
        guard let root = document.rootElement() else { return [] }
        var parts: [UnexpressedPart] = []
        for element in root.childElements {
            let name = element.name ?? ""
            switch name {
            case _ where expressedTopLevel.contains(name) && name != "vcpu" && name != "devices":
                continue
            case "vcpu":
                let extra = element.attributeNames.filter { $0 != "placement" && $0 != "current" }
                if !extra.isEmpty || (element.attribute("placement") ?? "static") != "static" {
                    parts.append(UnexpressedPart(.lostOnRedefine, describe(element)))
                }
            case "metadata":
                for child in element.childElements where child.uri != OwnershipMarker.namespace {
                    parts.append(UnexpressedPart(.lostOnRedefine, "metadata " + describe(child)))
                }
            case "os": parts += auditOS(element, reader: reader, flavour: flavour)
            case "features":
                let written: Set<String> = reader.boot?.type == .pv || reader.boot?.type == .pvh ? []
                    : flavour == .xen ? ["acpi", "apic", "pae"] : ["acpi", "apic"]
                for child in element.childElements where !written.contains(child.name ?? "") {
                    parts.append(UnexpressedPart(.lostOnRedefine, "features " + describe(child)))
                }
            case "cpu": parts += auditCPU(element, flavour: flavour)
            case "on_poweroff", "on_reboot", "on_crash":
                let written = name == "on_reboot" ? "restart" : "destroy"
                if element.stringValue?.trimmingCharacters(in: .whitespacesAndNewlines) != written {
                    parts.append(UnexpressedPart(.lostOnRedefine, "\(name) \(element.stringValue ?? "") (vmplan writes \(written))"))
                }
            case "seclabel" where element.attribute("type") == "dynamic" && element.childElements.isEmpty:
                continue
            case "bootloader" where flavour == .xen:
                continue
            case "devices": parts += auditDevices(element, reader: reader, flavour: flavour)
            default:
                parts.append(UnexpressedPart(.lostOnRedefine, describe(element)))
            }
        }
        return parts
    }

    private static func auditOS(_ os: XMLElement, reader: DomainXMLReader, flavour: HypervisorKind) -> [UnexpressedPart] {
        var parts: [UnexpressedPart] = []
        let uefi = os.attribute("firmware") == "efi"
        for child in os.childElements {
            let name = child.name ?? ""
            switch name {
            case "type":
                guard flavour == .kvm, let machine = child.attribute("machine") else { continue }
                if let family = MachineType(libvirtName: machine) {
                    if family.rawValue != machine {
                        parts.append(UnexpressedPart(.lostOnRedefine, "os machine \(machine): a redefine writes machine: \(family.rawValue), "
                            + "and libvirt picks its newest \(family.rawValue) version"))
                    }
                } else {
                    parts.append(UnexpressedPart(.lostOnRedefine, "os machine \(machine): not pc or q35; a redefine leaves the machine to libvirt (pc)"))
                }
            case "boot":
                let disksHaveOrder = reader.disks.contains { $0.disk.boot != nil }
                if child.attribute("dev") != "hd" || disksHaveOrder {
                    parts.append(UnexpressedPart(.lostOnRedefine, "os " + describe(child) + " (vmplan boots from the first disk, or by disk boot order)"))
                }
            case "loader" where reader.firmware == .uefi, "nvram" where reader.firmware == .uefi:
                // firmware='efi' lets libvirt choose these; an explicit loader is chosen again at a redefine.
                if !uefi || child.attribute("secure") == "yes" {
                    parts.append(UnexpressedPart(.lostOnRedefine, "os " + describe(child) + " (a redefine asks for firmware='efi' and libvirt chooses the files)"))
                }
            case "firmware" where uefi:
                parts.append(UnexpressedPart(.lostOnRedefine, "os " + describe(child)))
            case "kernel" where flavour == .xen, "initrd" where flavour == .xen, "cmdline" where flavour == .xen:
                continue
            default:
                parts.append(UnexpressedPart(.lostOnRedefine, "os " + describe(child)))
            }
        }
        return parts
    }

    private static func auditCPU(_ cpu: XMLElement, flavour: HypervisorKind) -> [UnexpressedPart] {
        guard flavour == .kvm else { return [UnexpressedPart(.lostOnRedefine, describe(cpu))] }
        var parts: [UnexpressedPart] = []
        for child in cpu.childElements {
            switch child.name ?? "" {
            case "model" where (cpu.attribute("mode") ?? "custom") == "custom":
                continue
            case "topology":
                if let dies = child.attribute("dies"), dies != "1" { parts.append(UnexpressedPart(.lostOnRedefine, "cpu " + describe(child))) }
                if let clusters = child.attribute("clusters"), clusters != "1" { parts.append(UnexpressedPart(.lostOnRedefine, "cpu " + describe(child))) }
            default:
                parts.append(UnexpressedPart(.lostOnRedefine, "cpu " + describe(child)))
            }
        }
        return parts
    }

    private static func auditDevices(_ devices: XMLElement, reader: DomainXMLReader, flavour: HypervisorKind) -> [UnexpressedPart] {
        var parts: [UnexpressedPart] = []
        let managingNICs = flavour == .kvm && DomainTranslation.expressibleNetworks(reader) != nil
        for device in devices.childElements {
            let name = device.name ?? ""
            switch name {
            case "emulator", "controller":
                continue  // libvirt's
            case "disk": parts += auditDisk(device)
            case "interface":
                let type = device.attribute("type") ?? ""
                guard managingNICs, UnmanagedDevices.managedInterfaceTypes.contains(type) else {
                    parts.append(UnexpressedPart(.kept, describe(device)))
                    continue
                }
                let written: Set<String> = ["mac", "source", "model", "address", "alias", "target"]
                for child in device.childElements where !written.contains(child.name ?? "") {
                    parts.append(UnexpressedPart(.lostOnRedefine, "interface \(type) " + describe(child)))
                }
            case "serial", "console":
                let target = device.childElements.first { $0.name == "target" }
                let pty = device.attribute("type") == "pty"
                if !pty || device.childElements.contains(where: { !["target", "alias", "address", "log"].contains($0.name ?? "") })
                    || (target?.attribute("type").map { !["isa-serial", "serial", "xen"].contains($0) } ?? false) {
                    parts.append(UnexpressedPart(.lostOnRedefine, describe(device) + " (vmplan writes a pty serial console)"))
                }
            case "input":
                let ps2 = device.attribute("bus") == "ps2" && ["mouse", "keyboard"].contains(device.attribute("type") ?? "")
                if !ps2 && !(flavour == .xen) { parts.append(UnexpressedPart(.lostOnRedefine, describe(device))) }
            case "memballoon":
                // libxl adds its own balloon to every guest.
                if flavour == .xen && device.attribute("model") == "xen" { continue }
                if device.attribute("model") != "virtio" || device.childElements.contains(where: { !["address", "alias"].contains($0.name ?? "") }) {
                    parts.append(UnexpressedPart(.lostOnRedefine, describe(device) + " (vmplan writes a virtio balloon)"))
                }
            case "hostdev":
                let type = device.attribute("type") ?? ""
                if device.attribute("mode") != "subsystem" || !["pci", "mdev"].contains(type) {
                    parts.append(UnexpressedPart(.refused, describe(device) + ": only PCI devices (gpus) and mediated devices (vgpus) "
                        + "can be passed through by vmplan, and a redefine would drop this one"))
                } else {
                    let extra = device.childElements.filter { !["source", "address", "alias"].contains($0.name ?? "") }
                    for child in extra { parts.append(UnexpressedPart(.lostOnRedefine, "hostdev \(type) " + describe(child))) }
                }
            case "graphics" where reader.graphics != nil, "audio" where reader.graphics != nil:
                // The manifest's `graphics`, which always names its address.
                if name == "graphics", let graphics = reader.graphics, graphics.listen == DomainXMLReader.listenFromQEMUConf {
                    parts.append(UnexpressedPart(.refused, "graphics \(graphics.type.rawValue) without a listen address: QEMU listens where "
                        + "qemu.conf's \(graphics.type.rawValue)_listen says, and vmplan writes the address; give it one "
                        + "(virsh edit: <listen type='address' address='127.0.0.1'/>) and import again"))
                }
                continue
            case "channel" where device.childElements.contains { $0.name == "target" && $0.attribute("name") == ConsoleXML.guestAgentChannel }:
                continue  // `guestAgent: true`
            default:
                if isKeptDevice(name) { parts.append(UnexpressedPart(.kept, describe(device))) }
            }
        }
        return parts
    }

    private static func auditDisk(_ disk: XMLElement) -> [UnexpressedPart] {
        let target = disk.childElements.first { $0.name == "target" }
        let label = "disk \(target?.attribute("dev") ?? "?")"
        let type = disk.attribute("type") ?? "file"
        let device = disk.attribute("device") ?? "disk"
        let source = disk.childElements.first { $0.name == "source" }
        var parts: [UnexpressedPart] = []
        guard ["file", "block", "volume"].contains(type) else {
            return [UnexpressedPart(.refused, "\(label): a \(type) disk; vmplan's disks are pool volumes")]
        }
        guard DiskDevice(rawValue: device) != nil else {
            return [UnexpressedPart(.refused, "\(label): a \(device) device; vmplan's disks are disks or cdroms")]
        }
        guard let source, source.attribute("file") ?? source.attribute("dev") ?? source.attribute("volume") != nil else {
            return [UnexpressedPart(.refused, "\(label): a \(device) drive without a medium; vmplan cannot express an empty drive "
                + "(remove it: virsh detach-disk DOMAIN \(target?.attribute("dev") ?? "TARGET") --config)")]
        }
        if let bus = target?.attribute("bus"), DiskBus(rawValue: bus) == nil {
            parts.append(UnexpressedPart(.refused, "\(label): bus \(bus); vmplan's disks are on \(DiskBus.allCases.map(\.rawValue).joined(separator: ", "))"))
        }
        if let driver = disk.childElements.first(where: { $0.name == "driver" }) {
            if let format = driver.attribute("type"), VolumeFormat(rawValue: format) == nil {
                parts.append(UnexpressedPart(.refused, "\(label): format \(format); vmplan's volumes are qcow2 or raw"))
            }
            let extra = driver.attributeNames.filter { $0 != "name" && $0 != "type" }.sorted()
            if !extra.isEmpty {
                parts.append(UnexpressedPart(.lostOnRedefine, "\(label) driver " + extra.map { "\($0)=\(driver.attribute($0) ?? "")" }.joined(separator: " ")))
            }
        }
        for child in disk.childElements where !expressedDiskChildren.contains(child.name ?? "") {
            parts.append(UnexpressedPart(child.name == "encryption" ? .refused : .lostOnRedefine, "\(label) " + describe(child)))
        }
        return parts
    }

    /// `clock (offset=utc; timer rtc, timer pit)`: the name, its attributes and its children's names (and
    /// their `name` or `type`), short.
    static func describe(_ element: XMLElement) -> String {
        let attributes = element.attributeNames.sorted().map { "\($0)=\(element.attribute($0) ?? "")" }
        let children = element.childElements.compactMap { child in
            child.name.map { $0 + ((child.attribute("name") ?? child.attribute("type")).map { " " + $0 } ?? "") }
        }
        let text = children.isEmpty ? element.stringValue?.trimmingCharacters(in: .whitespacesAndNewlines) ?? "" : ""
        var inside = attributes.joined(separator: " ")
        if !children.isEmpty { inside += (inside.isEmpty ? "" : "; ") + children.joined(separator: ", ") }
        if !text.isEmpty { inside += (inside.isEmpty ? "" : "; ") + text }
        let shown = (element.name ?? "?") + (inside.isEmpty ? "" : " (\(inside))")
        return shown.count > 160 ? String(shown.prefix(157)) + "..." : shown
    }
}

extension XMLElement {
    var childElements: [XMLElement] { (children ?? []).compactMap { $0 as? XMLElement } }
    var attributeNames: [String] { (attributes ?? []).compactMap(\.name) }
    func attribute(_ name: String) -> String? { attribute(forName: name)?.stringValue }
}
