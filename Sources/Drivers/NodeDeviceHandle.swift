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

extension LibvirtNodeDevice {
    /// Starts a defined device (creates the mdev in sysfs).
    func create() throws {
        let name = self.name
        guard virNodeDeviceCreate(pointer, 0) == 0 else {
            throw LibvirtConnection.lastError(.operation, "cannot start mediated device \(name)")
        }
    }

    func setAutostart(_ on: Bool) throws {
        let name = self.name
        guard virNodeDeviceSetAutostart(pointer, on ? 1 : 0) == 0 else {
            throw LibvirtConnection.lastError(.operation, "cannot set autostart on mediated device \(name)")
        }
    }

    /// Stops an active device; an inactive one is left as it is.
    func destroyIfActive() throws {
        let name = self.name
        guard virNodeDeviceIsActive(pointer) == 1 else { return }
        guard virNodeDeviceDestroy(pointer) == 0 else {
            throw LibvirtConnection.lastError(.operation, "cannot stop mediated device \(name)")
        }
    }

    func undefine() throws {
        let name = self.name
        guard virNodeDeviceUndefine(pointer, 0) == 0 else {
            throw LibvirtConnection.lastError(.operation, "cannot undefine mediated device \(name)")
        }
    }
}

extension LibvirtConnection {
    /// Defines a persistent node device (libvirt 7.3 or newer; mdevs need mdevctl on the host).
    func defineNodeDevice(xml: String) throws -> LibvirtNodeDevice {
        guard let device = virNodeDeviceDefineXML(pointer, xml, 0) else {
            throw LibvirtConnection.lastError(.operation, "libvirt refused the mediated device definition")
        }
        return LibvirtNodeDevice(device)
    }

    func nodeDevice(named name: String) throws -> LibvirtNodeDevice {
        guard let device = virNodeDeviceLookupByName(pointer, name) else {
            throw LibvirtConnection.lastError(.notFound, "node device \(name) on \(uri)")
        }
        return LibvirtNodeDevice(device)
    }
}
