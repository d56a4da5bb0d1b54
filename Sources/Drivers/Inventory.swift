import Spec
/// The PCI devices and mediated devices (vGPUs) of one host, as libvirt's node-device API
/// reports them: what a GPU placement decision is made from.
public struct HostInventory: Sendable, Hashable, Codable {
    /// Every PCI function libvirt knows on the host, sorted by address.
    public var pciDevices: [PCIDevice]
    /// Mediated devices that exist now, sorted by parent address, then UUID.
    public var mediatedDevices: [MediatedDevice]

    public init(pciDevices: [PCIDevice], mediatedDevices: [MediatedDevice]) {
        self.pciDevices = pciDevices.sorted { $0.address < $1.address }
        self.mediatedDevices = mediatedDevices.sorted(by: MediatedDevice.byParentThenUUID)
    }

    /// Builds the inventory from node device XML (`virsh nodedev-dumpxml`). A document may be
    /// one `<device>` or anything holding `<device>` elements, e.g. a test-driver host file;
    /// devices that are neither PCI nor mdev are skipped.
    public init(nodeDeviceXML documents: [String]) throws {
        var pci: [PCIDevice] = []
        var mediated: [NodeDeviceXMLReader.Mediated] = []
        for document in documents {
            for record in try NodeDeviceXMLReader.read(document) {
                switch record {
                case .pci(let device): pci.append(device)
                case .mediated(let device): mediated.append(device)
                }
            }
        }
        // Parents are named, not addressed; the PCI listing resolves the name, and the name's
        // own form is the fallback for a parent that was not listed.
        let addressByName = Dictionary(pci.map { ($0.libvirtName, $0.address) }, uniquingKeysWith: { first, _ in first })
        let devices = mediated.map { record in
            MediatedDevice(
                uuid: record.uuid, typeID: record.typeID,
                parent: record.parentName.flatMap { addressByName[$0] ?? PCIAddress(nodeDeviceName: $0) },
                libvirtName: record.libvirtName
            )
        }
        self.init(pciDevices: pci, mediatedDevices: devices)
    }

    /// Display controllers (PCI class 0x03): GPUs, whether or not they offer mdev types.
    public var gpus: [PCIDevice] { pciDevices.filter(\.isDisplayController) }

    public func device(at address: PCIAddress) -> PCIDevice? {
        pciDevices.first { $0.address == address }
    }

    /// The mediated devices carved out of the PCI device at `address`.
    public func mediatedDevices(on address: PCIAddress) -> [MediatedDevice] {
        mediatedDevices.filter { $0.parent == address }
    }
}

/// One PCI function of the host.
public struct PCIDevice: Sendable, Hashable, Codable {
    public var address: PCIAddress
    /// libvirt's node device name, `pci_0000_3b_00_0`.
    public var libvirtName: String
    /// The 24-bit class code (base class, subclass, programming interface), e.g. `0x030200`.
    public var classCode: UInt32
    /// As libvirt prints it, lowercase with `0x`: `0x10de`.
    public var vendorID: String
    public var vendorName: String?
    public var productID: String
    public var productName: String?
    /// The kernel driver bound now (`nvidia`, `vfio-pci`), nil when none or not reported.
    public var driver: String?
    /// nil when the host has no IOMMU enabled (or libvirt did not say).
    public var iommuGroup: Int?
    /// Every function in the same IOMMU group, this one included: they can only be
    /// passed through together.
    public var iommuGroupMembers: [PCIAddress]
    /// The mediated device types this device offers; empty for most devices.
    public var mdevTypes: [MdevType]

    public init(address: PCIAddress, libvirtName: String, classCode: UInt32, vendorID: String, vendorName: String?,
                productID: String, productName: String?, driver: String?, iommuGroup: Int?,
                iommuGroupMembers: [PCIAddress], mdevTypes: [MdevType]) {
        self.address = address
        self.libvirtName = libvirtName
        self.classCode = classCode
        self.vendorID = vendorID
        self.vendorName = vendorName
        self.productID = productID
        self.productName = productName
        self.driver = driver
        self.iommuGroup = iommuGroup
        self.iommuGroupMembers = iommuGroupMembers
        self.mdevTypes = mdevTypes
    }

    /// PCI base class 0x03: VGA, XGA, 3D controllers (compute GPUs like the T4 are 0x0302).
    public var isDisplayController: Bool { classCode >> 16 == 0x03 }
}

/// A kind of mediated device a parent can create, e.g. NVIDIA's `nvidia-222` (GRID T4-1B).
public struct MdevType: Sendable, Hashable, Codable {
    /// The sysfs type id, what a domain's `<hostdev>` and mdevctl name.
    public var id: String
    /// The vendor's human name; optional in sysfs.
    public var name: String?
    /// The interface the guest sees, usually `vfio-pci`.
    public var deviceAPI: String
    /// How many more of this type the parent can create right now.
    public var availableInstances: Int

    public init(id: String, name: String?, deviceAPI: String, availableInstances: Int) {
        self.id = id
        self.name = name
        self.deviceAPI = deviceAPI
        self.availableInstances = availableInstances
    }
}

/// A mediated device (e.g. one vGPU) that exists on the host now.
public struct MediatedDevice: Sendable, Hashable, Codable {
    /// Lowercase UUID, the handle a domain's `<hostdev type='mdev'>` uses.
    public var uuid: String
    public var typeID: String
    /// The parent's address; nil when the parent is not a PCI device (s390 ccw/ap).
    public var parent: PCIAddress?
    /// libvirt's node device name, `mdev_<uuid>` or `mdev_<uuid>_<parent>` by libvirt version.
    public var libvirtName: String

    public init(uuid: String, typeID: String, parent: PCIAddress?, libvirtName: String) {
        self.uuid = uuid
        self.typeID = typeID
        self.parent = parent
        self.libvirtName = libvirtName
    }

    static func byParentThenUUID(_ lhs: MediatedDevice, _ rhs: MediatedDevice) -> Bool {
        switch (lhs.parent, rhs.parent) {
        case let (left?, right?) where left != right: return left < right
        case (nil, _?): return false
        case (_?, nil): return true
        default: return lhs.uuid < rhs.uuid
        }
    }
}
