import Foundation
import Spec
extension LibvirtDriver {
    /// The host's PCI devices, the mdev types they offer, and the mediated devices that
    /// exist, read fresh from libvirt's node-device API on every call.
    public func inventory() async throws -> HostInventory {
        try await blocking { [connection] in
            let documents = try connection.gpuRelevantNodeDevices().compactMap { try $0.xmlUnlessGone() }
            return try HostInventory(nodeDeviceXML: documents)
        }
    }

    /// libxl has no mediated devices. mdevctl is known only for a local QEMU host
    /// (`qemu:///system`), where the binary can be looked for. Only libvirt's QEMU driver
    /// migrates domains (not a `test:///` host that calls itself kvm).
    public var features: DriverFeatures {
        let mdevctl: Bool? = flavour == .kvm && uri.hasPrefix("qemu:///")
            ? ["/usr/sbin/mdevctl", "/usr/bin/mdevctl", "/sbin/mdevctl"].contains(where: FileManager.default.isExecutableFile(atPath:))
            : nil
        var rules: ChangeRules = flavour == .xen ? .xen : .kvm
        rules.migration = rules.migration && (uri.hasPrefix("qemu:") || uri.hasPrefix("qemu+"))
        return DriverFeatures(changeRules: rules, mediatedDevices: flavour == .kvm, mdevctl: mdevctl)
    }

    public func createMediatedDevice(uuid: String, type: String, parent: PCIAddress) async throws {
        let xml = DeviceXML.mediatedDevice(uuid: uuid, type: type, parent: parent)
        try await blocking { [connection, hostName] in
            let device: LibvirtNodeDevice
            do {
                device = try connection.defineNodeDevice(xml: xml)
            } catch let error as DriverError where error.message.contains("mdevctl") {
                throw DriverError(.operation, "\(error.message). libvirt keeps persistent mediated devices with mdevctl, "
                    + "which host \(hostName) does not have: install it there (Debian: apt install mdevctl)", libvirtCode: error.libvirtCode)
            }
            try device.setAutostart(true)
            try device.create()
        }
    }

    public func removeMediatedDevice(libvirtName: String) async throws {
        try await blocking { [connection] in
            let device = try connection.nodeDevice(named: libvirtName)
            try device.destroyIfActive()
            try device.undefine()
        }
    }
}
