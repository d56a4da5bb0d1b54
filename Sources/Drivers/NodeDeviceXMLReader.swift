import Spec
import Foundation

/// Reads libvirt node device XML (`virNodeDeviceGetXMLDesc`) into PCI devices and mediated
/// devices. Every `<device>` element in the document is read, at any depth.
enum NodeDeviceXMLReader {
    enum Record {
        case pci(PCIDevice)
        case mediated(Mediated)
    }

    /// A mediated device before its parent's name is resolved to an address.
    struct Mediated {
        var uuid: String
        var typeID: String
        var parentName: String?
        var libvirtName: String
    }

    static func read(_ xml: String) throws -> [Record] {
        var scan = Scan()
        // A `<capability>` is named by its type (`capability:pci`): they nest, and only the type tells them apart.
        try XMLPathReader.read(xml, what: "node device", naming: { name, attributes in
            name == "capability" ? "capability:\(attributes["type"] ?? "")" : name
        }) { try scan.start($0, $1) } end: { try scan.end($0, $1) }
        return scan.records
    }

    /// libvirt writes the PCI address elements in decimal and the group's `<address>`
    /// attributes as `0x` hex; both forms are read.
    static func number(_ text: String) -> UInt? {
        let text = text.trimmingCharacters(in: .whitespacesAndNewlines)
        if text.hasPrefix("0x") || text.hasPrefix("0X") {
            return UInt(text.dropFirst(2), radix: 16)
        }
        return UInt(text, radix: 10)
    }

    /// What one `<device>` has shown so far.
    private struct Device {
        var name = ""
        var parent: String?
        var driver: String?
        var isPCI = false
        var isMediated = false
        var classCode: UInt32 = 0
        var domain: UInt?, bus: UInt?, slot: UInt?, function: UInt?
        var vendorID = "", vendorName: String?
        var productID = "", productName: String?
        var iommuGroup: Int?
        var iommuGroupMembers: [PCIAddress] = []
        var mdevTypes: [MdevType] = []
        var mdevTypeID = ""
        var uuid = ""
    }

    /// What one pass has read so far.
    private struct Scan {
        var records: [Record] = []
        private var device: Device?
        private var mdevType: MdevType?

        private static let pci = ["device", "capability:pci"]
        private static let mdevTypes = pci + ["capability:mdev_types", "type"]

        /// Element names from the outermost `<device>` down; nil outside any `<device>`.
        private static func devicePath(_ path: [String]) -> [String]? {
            path.firstIndex(of: "device").map { Array(path[$0...]) }
        }

        mutating func start(_ path: [String], _ attributes: [String: String]) throws {
            guard let path = Self.devicePath(path) else { return }
            if path == ["device"] { device = Device() }
            switch path {
            case Self.pci:
                device?.isPCI = true
            case Self.pci + ["vendor"]:
                device?.vendorID = attributes["id"]?.lowercased() ?? ""
            case Self.pci + ["product"]:
                device?.productID = attributes["id"]?.lowercased() ?? ""
            case Self.pci + ["iommuGroup"], ["device", "capability:mdev", "iommuGroup"]:
                device?.iommuGroup = attributes["number"].flatMap(NodeDeviceXMLReader.number).flatMap(Int.init(exactly:))
            case Self.pci + ["iommuGroup", "address"]:
                guard let member = Self.address(attributes) else {
                    throw failure("an IOMMU group member has no valid address: \(attributes)")
                }
                device?.iommuGroupMembers.append(member)
            case Self.mdevTypes:
                mdevType = MdevType(id: attributes["id"] ?? "", name: nil, deviceAPI: "", availableInstances: 0)
            case ["device", "capability:mdev"]:
                device?.isMediated = true
            case ["device", "capability:mdev", "type"]:
                device?.mdevTypeID = attributes["id"] ?? ""
            default: break
            }
        }

        mutating func end(_ path: [String], _ text: String) throws {
            guard let path = Self.devicePath(path) else { return }
            let value = text.trimmingCharacters(in: .whitespacesAndNewlines)
            switch path {
            case ["device"]:
                try finishDevice()
            case ["device", "name"]: device?.name = value
            case ["device", "parent"]: device?.parent = value.isEmpty ? nil : value
            case ["device", "driver", "name"]: device?.driver = value.isEmpty ? nil : value
            case Self.pci + ["class"]:
                guard let code = NodeDeviceXMLReader.number(value), code <= 0xffffff else {
                    throw failure("invalid PCI class \(value)")
                }
                device?.classCode = UInt32(code)
            case Self.pci + ["domain"]: device?.domain = NodeDeviceXMLReader.number(value)
            case Self.pci + ["bus"]: device?.bus = NodeDeviceXMLReader.number(value)
            case Self.pci + ["slot"]: device?.slot = NodeDeviceXMLReader.number(value)
            case Self.pci + ["function"]: device?.function = NodeDeviceXMLReader.number(value)
            case Self.pci + ["vendor"]: device?.vendorName = value.isEmpty ? nil : value
            case Self.pci + ["product"]: device?.productName = value.isEmpty ? nil : value
            case Self.mdevTypes + ["name"]: mdevType?.name = value.isEmpty ? nil : value
            case Self.mdevTypes + ["deviceAPI"]: mdevType?.deviceAPI = value
            // A count that cannot be read claims no room rather than guessing some.
            case Self.mdevTypes + ["availableInstances"]: mdevType?.availableInstances = Int(value) ?? 0
            case Self.mdevTypes:
                if let mdevType { device?.mdevTypes.append(mdevType) }
                mdevType = nil
            case ["device", "capability:mdev", "uuid"]: device?.uuid = value.lowercased()
            default: break
            }
        }

        private mutating func finishDevice() throws {
            guard let device else { return }
            self.device = nil
            if device.isPCI {
                guard let domain = device.domain.flatMap(UInt16.init(exactly:)),
                      let bus = device.bus.flatMap(UInt8.init(exactly:)),
                      let slot = device.slot.flatMap(UInt8.init(exactly:)),
                      let function = device.function.flatMap(UInt8.init(exactly:)),
                      let address = PCIAddress(domain: domain, bus: bus, slot: slot, function: function)
                else {
                    throw failure("the PCI capability has no valid address", device: device.name)
                }
                records.append(.pci(PCIDevice(
                    address: address, libvirtName: device.name, classCode: device.classCode,
                    vendorID: device.vendorID, vendorName: device.vendorName,
                    productID: device.productID, productName: device.productName,
                    driver: device.driver, iommuGroup: device.iommuGroup,
                    iommuGroupMembers: device.iommuGroupMembers.sorted(), mdevTypes: device.mdevTypes
                )))
            } else if device.isMediated {
                guard !device.uuid.isEmpty, !device.mdevTypeID.isEmpty else {
                    throw failure("the mdev capability has no uuid or type", device: device.name)
                }
                records.append(.mediated(Mediated(
                    uuid: device.uuid, typeID: device.mdevTypeID, parentName: device.parent, libvirtName: device.name
                )))
            }
        }

        private func failure(_ message: String, device name: String? = nil) -> DriverError {
            let name = name ?? device?.name ?? ""
            return DriverError(.operation, "node device \(name.isEmpty ? "(unnamed)" : name): \(message)")
        }

        private static func address(_ attributes: [String: String]) -> PCIAddress? {
            guard let domain = attributes["domain"].flatMap(NodeDeviceXMLReader.number).flatMap(UInt16.init(exactly:)),
                  let bus = attributes["bus"].flatMap(NodeDeviceXMLReader.number).flatMap(UInt8.init(exactly:)),
                  let slot = attributes["slot"].flatMap(NodeDeviceXMLReader.number).flatMap(UInt8.init(exactly:)),
                  let function = attributes["function"].flatMap(NodeDeviceXMLReader.number).flatMap(UInt8.init(exactly:))
            else { return nil }
            return PCIAddress(domain: domain, bus: bus, slot: slot, function: function)
        }
    }
}
