internal import CLibvirt
import Spec
import Foundation

/// Owns one `virNodeDevicePtr`.
final class LibvirtNodeDevice: @unchecked Sendable {
    private let pointer: virNodeDevicePtr

    init(_ pointer: virNodeDevicePtr) { self.pointer = pointer }

    deinit { virNodeDeviceFree(pointer) }

    /// libvirt's name for the device, `pci_0000_3b_00_0`. Read from the handle, no round trip.
    var name: String {
        virNodeDeviceGetName(pointer).map { String(cString: $0) } ?? ""
    }

    /// The device's XML, or nil when it went away after the listing (an mdev removed,
    /// a device unplugged): the inventory describes what is there when it is read.
    func xmlUnlessGone() throws -> String? {
        let name = self.name  // before the call below: any libvirt call resets the thread's error
        guard let raw = virNodeDeviceGetXMLDesc(pointer, 0) else {
            let error = LibvirtConnection.lastError(.operation, "cannot read the XML of node device \(name)")
            if error.libvirtCode == Int32(VIR_ERR_NO_NODE_DEVICE.rawValue) { return nil }
            throw error
        }
        defer { free(raw) }
        return String(cString: raw)
    }
}
