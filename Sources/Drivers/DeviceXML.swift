import Spec

/// The `<hostdev>` elements for a VM's GPUs and vGPUs, and the node-device XML of an mdev.
enum DeviceXML {
    /// Only pinned GPUs are written: selectors are resolved against the host's inventory by the planner first.
    static func writeHostdevs(into xml: inout XMLWriter, spec: VirtualMachineSpec) {
        for gpu in spec.gpus {
            guard let address = gpu.pci else { continue }
            xml.open("hostdev", [("mode", "subsystem"), ("type", "pci"), ("managed", "yes")])
            xml.open("source")
            xml.element("address", [
                ("domain", hex(address.domain, 4)), ("bus", hex(address.bus, 2)),
                ("slot", hex(address.slot, 2)), ("function", hex(address.function, 1)),
            ])
            xml.close()
            xml.close()
        }
        for vgpu in spec.vgpus {
            xml.open("hostdev", [("mode", "subsystem"), ("type", "mdev"), ("model", "vfio-pci"), ("display", vgpu.display ? "on" : "off")])
            xml.open("source")
            xml.element("address", [("uuid", vgpu.uuid)])
            xml.close()
            xml.close()
        }
        // A vGPU that drives the display is shown on the VM's graphics (ConsoleXML); the emulated card steps aside.
        if spec.vgpus.contains(where: \.display) {
            xml.open("video")
            xml.element("model", [("type", "none")])
            xml.close()
        }
    }

    /// A persistent mdev: `parent` is the GPU's node device name (`pci_0000_3b_00_0`).
    static func mediatedDevice(uuid: String, type: String, parent: PCIAddress) -> String {
        var xml = XMLWriter()
        xml.open("device")
        // libvirt names the device itself; the schema wants a name all the same.
        xml.element("name", text: "mdev_" + uuid.replacingOccurrences(of: "-", with: "_"))
        xml.element("parent", text: parent.nodeDeviceName)
        xml.open("capability", [("type", "mdev")])
        xml.element("type", [("id", type)])
        xml.element("uuid", text: uuid)
        xml.close()
        xml.close()
        return xml.text
    }

    private static func hex(_ value: some BinaryInteger, _ width: Int) -> String {
        let digits = String(value, radix: 16)
        return "0x" + String(repeating: "0", count: max(0, width - digits.count)) + digits
    }
}
