import Foundation
import Spec

/// Reads a domain's XML back into the resource model. Fields vmplan does not manage are ignored.
struct DomainXMLReader {
    var name = ""
    var domainType = ""
    var description: String?
    var maxMemory = ByteCount(bytes: 0)
    var memory: ByteCount?
    var maxVcpus = 1
    var vcpus: Int?
    var firmware = Firmware.bios
    var owner: OwnershipMarker?
    var labels: [String: String] = [:]
    var gpus: [GPURequest] = []
    var vgpus: [VGPURequest] = []
    /// Disks in document order, with their target names.
    var disks: [DiskXML.Found] = []
    /// Network and bridge interfaces in document order; other interface types are not vmplan's.
    var networks: [NetworkInterface] = []
    var osType: String?
    var osMachine: String?
    var kernel: String?
    var initrd: String?
    var cmdline: String?
    var bootloader: String?
    var cpu: CPUSpec?
    /// The first VNC or SPICE display.
    var graphics: GraphicsSpec?
    /// Whether the domain has the QEMU guest agent's channel, and (live XML only) whether the agent answers on it.
    var guestAgent = false
    var guestAgentConnected = false

    /// Xen domains carry their guest type; a KVM domain has a boot spec when it starts a kernel directly.
    var boot: BootSpec? {
        guard domainType == "xen" else {
            return kernel.map { BootSpec(type: .direct, kernel: $0, initrd: initrd, cmdline: cmdline) }
        }
        let type: BootType = switch (osType, osMachine) {
        case ("xenpvh", _), (_, "xenpvh"): .pvh
        case ("linux", _), ("xen", _), (_, "xenpv"): .pv
        default: .hvm
        }
        let boot = BootSpec(type: type, kernel: kernel, initrd: initrd, cmdline: cmdline, bootloader: bootloader)
        return boot == BootSpec(type: .hvm) ? nil : boot  // plain HVM is what no boot means
    }

    /// A display's listen address when the domain names none: QEMU's own setting decides.
    static let listenFromQEMUConf = "qemu.conf default"

    static func read(_ xml: String) throws -> DomainXMLReader {
        var scan = Scan()
        try XMLPathReader.read(xml, what: "domain") { scan.start($0, $1) } end: { scan.end($0, $1) }
        return scan.result
    }

    /// The marker in vmplan's metadata element as `virDomainGetMetadata` returns it
    /// (`<resource name=… hash=… state=…>`, the namespace left off); nil for another element.
    static func marker(_ element: String) throws -> OwnershipMarker? {
        var marker: OwnershipMarker?
        try XMLPathReader.read(element, what: "vmplan metadata") { path, attributes in
            guard path == ["resource"], let resource = attributes["name"] else { return }
            marker = OwnershipMarker(resource: resource, specHash: attributes["hash"] ?? "", state: attributes["state"])
        } end: { _, _ in }
        return marker
    }

    /// - Parameter autostart: what libvirt says of the domain (it is not in the XML); nil when not asked.
    func spec(host: String, running: Bool, autostart: Bool? = nil) -> VirtualMachineSpec {
        let currentMemory = memory ?? maxMemory
        let currentVcpus = vcpus ?? maxVcpus
        let isXen = domainType == "xen"
        // The console a display vGPU gets without graphics in the manifest reads back as no graphics.
        let displayConsole = vgpus.contains(where: \.display) ? GraphicsSpec(type: .vnc) : nil
        return VirtualMachineSpec(
            name: name, host: host,
            vcpus: currentVcpus, maxVcpus: maxVcpus == currentVcpus ? nil : maxVcpus,
            memory: currentMemory, maxMemory: maxMemory == currentMemory ? nil : maxMemory,
            firmware: firmware, machine: domainType == "xen" ? nil : osMachine.flatMap(MachineType.init(libvirtName:)),
            state: running ? .running : .stopped,
            description: description, labels: labels, gpus: gpus, vgpus: vgpus, boot: boot,
            disks: disks.map(\.disk), networks: networks.isEmpty ? nil : networks,
            cpu: isXen ? nil : cpu, autostart: autostart,
            graphics: isXen || graphics == displayConsole ? nil : graphics, guestAgent: !isXen && guestAgent
        )
    }

    /// What one pass has read so far.
    private struct Scan {
        private static let markerResource = "{\(OwnershipMarker.namespace)}resource"
        private static let markerLabel = "{\(OwnershipMarker.namespace)}label"

        var result = DomainXMLReader()
        private var unit = "KiB"
        private var labelKey: String?
        private var inMarker = false
        private var hostdev: (type: String, display: Bool)?
        private var disk: DiskXML.Found?
        /// The interface being read: its type, MAC, source name and model so far.
        private var interface: (type: String, mac: String, source: String, model: NICModel)?
        /// Whether the graphics element being read is the one kept.
        private var inGraphics = false

        mutating func start(_ path: [String], _ attributes: [String: String]) {
            let name = path.last ?? ""
            if name == Self.markerResource, path.count == 3, let resource = attributes["name"] {
                result.owner = OwnershipMarker(resource: resource, specHash: attributes["hash"] ?? "", state: attributes["state"])
                inMarker = true
                return
            } else if name == Self.markerLabel, inMarker {
                labelKey = attributes["key"]
                return
            }
            switch path {
            case ["domain"]:
                result.domainType = attributes["type"] ?? ""
            case ["domain", "memory"], ["domain", "currentMemory"]:
                unit = attributes["unit"] ?? "KiB"
            case ["domain", "vcpu"]:
                result.vcpus = attributes["current"].flatMap(Int.init)
            case ["domain", "os"]:
                if attributes["firmware"] == "efi" { result.firmware = .uefi }
            case ["domain", "os", "loader"]:
                if attributes["type"] == "pflash" { result.firmware = .uefi }
            case ["domain", "os", "type"]:
                result.osMachine = attributes["machine"]
            case ["domain", "cpu"]:
                // libvirt's default mode, when the element names none, is custom.
                result.cpu = CPUSpec.Mode(rawValue: attributes["mode"] ?? CPUSpec.Mode.custom.rawValue).map { CPUSpec(mode: $0) }
            case ["domain", "cpu", "topology"]:
                let count = { (key: String) in attributes[key].flatMap(Int.init) ?? 1 }
                result.cpu?.topology = CPUSpec.Topology(sockets: count("sockets") * count("dies") * count("clusters"),
                                                        cores: count("cores"), threads: count("threads"))
            case ["domain", "devices", "hostdev"]:
                hostdev = attributes["mode"] == "subsystem" ? (attributes["type"] ?? "", attributes["display"] == "on") : nil
            case ["domain", "devices", "hostdev", "source", "address"]:
                readHostdevAddress(attributes)
            case ["domain", "devices", "disk"]:
                let device = DiskDevice(rawValue: attributes["device"] ?? "disk") ?? .disk
                disk = DiskXML.Found(disk: DiskSpec(volume: "", pool: "", device: device, readonly: false, format: .raw), target: "")
            case ["domain", "devices", "interface"]:
                let type = attributes["type"] ?? ""
                interface = type == "network" || type == "bridge" ? (type, "", "", .libvirtDefault) : nil
            case ["domain", "devices", "interface", "mac"]:
                interface?.mac = attributes["address"].flatMap(NetworkInterface.canonicalMAC) ?? ""
            case ["domain", "devices", "interface", "source"]:
                if let type = interface?.type { interface?.source = attributes[type] ?? "" }
            case ["domain", "devices", "interface", "model"]:
                interface?.model = NICModel(rawValue: attributes["type"] ?? NICModel.libvirtDefault.rawValue)
            case ["domain", "devices", "graphics"]:
                inGraphics = result.graphics == nil
                if inGraphics, let kind = attributes["type"].flatMap(GraphicsSpec.Kind.init(rawValue:)) {
                    // Without an address QEMU listens where qemu.conf says (vnc_listen, spice_listen).
                    result.graphics = GraphicsSpec(type: kind, listen: attributes["listen"] ?? DomainXMLReader.listenFromQEMUConf)
                } else {
                    inGraphics = false
                }
            case ["domain", "devices", "graphics", "listen"]:
                if inGraphics, attributes["type"] == "address", let address = attributes["address"] { result.graphics?.listen = address }
            case ["domain", "devices", "channel", "target"]:
                if attributes["name"] == ConsoleXML.guestAgentChannel {
                    result.guestAgent = true
                    result.guestAgentConnected = attributes["state"] == "connected"
                }
            default:
                if path.count == 4, path[2] == "disk", disk != nil { readDiskChild(name, attributes) }
            }
        }

        /// One pass reads the disks too: observing a thousand domains parses each XML once.
        private mutating func readDiskChild(_ name: String, _ attributes: [String: String]) {
            switch name {
            case "driver": disk?.disk.format = VolumeFormat(rawValue: attributes["type"] ?? "") ?? .raw
            case "source":
                if let volume = attributes["volume"] {
                    disk?.disk.volume = volume
                    disk?.disk.pool = attributes["pool"] ?? ""
                } else if let file = attributes["file"] ?? attributes["dev"] {
                    disk?.disk.volume = file
                }
            case "target":
                disk?.target = attributes["dev"] ?? ""
                disk?.disk.bus = DiskBus(rawValue: attributes["bus"] ?? "") ?? .sata
            case "boot": disk?.disk.boot = attributes["order"].flatMap { Int($0) }
            case "readonly": disk?.disk.readonly = true
            case "shareable": disk?.disk.shareable = true
            default: break
            }
        }

        mutating func end(_ path: [String], _ text: String) {
            if path.last == Self.markerLabel, let key = labelKey {
                result.labels[key] = text
                labelKey = nil
                return
            } else if path.last == Self.markerResource {
                inMarker = false
                return
            }
            let value = text.trimmingCharacters(in: .whitespacesAndNewlines)
            switch path {
            case ["domain", "name"]: result.name = value
            case ["domain", "description"]: result.description = text
            case ["domain", "memory"]: result.maxMemory = Self.size(value, unit: unit)
            case ["domain", "currentMemory"]: result.memory = Self.size(value, unit: unit)
            case ["domain", "vcpu"]: result.maxVcpus = Int(value) ?? 1
            case ["domain", "os", "type"]: result.osType = value
            case ["domain", "cpu", "model"] where result.cpu?.mode == .custom: result.cpu?.model = value
            case ["domain", "os", "kernel"]: result.kernel = value
            case ["domain", "os", "initrd"]: result.initrd = value
            case ["domain", "os", "cmdline"]: result.cmdline = text
            case ["domain", "bootloader"]: result.bootloader = value
            case ["domain", "devices", "disk"]:
                if let disk { result.disks.append(disk) }
                disk = nil
            case ["domain", "devices", "interface"]:
                if let interface {
                    let source: NetworkInterface.Source = interface.type == "bridge" ? .bridge(interface.source) : .network(interface.source)
                    result.networks.append(NetworkInterface(source: source, model: interface.model, mac: interface.mac))
                }
                interface = nil
            default: break
            }
        }

        private mutating func readHostdevAddress(_ attributes: [String: String]) {
            guard let hostdev else { return }
            if hostdev.type == "pci" {
                func number(_ key: String) -> UInt? {
                    guard let text = attributes[key] else { return nil }
                    return text.hasPrefix("0x") ? UInt(text.dropFirst(2), radix: 16) : UInt(text)
                }
                if let domain = number("domain"), let bus = number("bus"), let slot = number("slot"), let function = number("function"),
                   let address = PCIAddress(domain: UInt16(truncatingIfNeeded: domain), bus: UInt8(truncatingIfNeeded: bus),
                                            slot: UInt8(truncatingIfNeeded: slot), function: UInt8(truncatingIfNeeded: function)) {
                    result.gpus.append(GPURequest(pci: address, allowNonGPU: true))
                }
            } else if hostdev.type == "mdev", let uuid = attributes["uuid"] {
                result.vgpus.append(VGPURequest(uuid: uuid.lowercased(), display: hostdev.display))
            }
        }

        private static func size(_ value: String, unit: String) -> ByteCount {
            let amount = UInt64(value) ?? 0
            switch unit {
            case "b", "bytes": return ByteCount(bytes: amount)
            case "M", "MiB": return .mebibytes(amount)
            case "G", "GiB": return .gibibytes(amount)
            default: return .kibibytes(amount)
            }
        }
    }
}
