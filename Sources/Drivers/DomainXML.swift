import Spec

/// The domain XML vmplan writes for a VirtualMachine on a KVM host.
public enum DomainXML {
    /// - Parameters:
    ///   - uuid: the existing domain's UUID when redefining it; nil lets libvirt choose one.
    public static func kvm(for spec: VirtualMachineSpec, capabilities: HostCapabilities, uuid: String? = nil) throws -> String {
        guard ResourceName.isValid(spec.name) else {
            throw DriverError(.invalidInput, "'\(spec.name)' is not a valid domain name: \(ResourceName.rule)")
        }
        var xml = XMLWriter()
        xml.open("domain", [("type", capabilities.preferredDomainType)])
        xml.element("name", text: spec.name)
        if let uuid { xml.element("uuid", text: uuid) }
        if let description = spec.description { xml.element("description", text: description) }
        writeMarker(into: &xml, spec: spec)
        xml.element("memory", [("unit", "KiB")], text: String(spec.effectiveMaxMemory.kibibytes))
        xml.element("currentMemory", [("unit", "KiB")], text: String(spec.memory.kibibytes))
        xml.element("vcpu", [("placement", "static"), ("current", String(spec.vcpus))], text: String(spec.effectiveMaxVcpus))
        xml.open("os", spec.firmware == .uefi ? [("firmware", "efi")] : [])
        xml.element("type", [("arch", capabilities.arch)], text: "hvm")
        // libvirt refuses <os><boot> together with per-disk boot orders.
        if !spec.attachedDisks.contains(where: { $0.boot != nil }) { xml.element("boot", [("dev", "hd")]) }
        xml.close()
        xml.open("features")
        xml.element("acpi")
        xml.element("apic")
        xml.close()
        xml.element("on_poweroff", text: "destroy")
        xml.element("on_reboot", text: "restart")
        xml.element("on_crash", text: "destroy")
        xml.open("devices")
        writeDisks(into: &xml, spec: spec)
        xml.open("serial", [("type", "pty")])
        xml.element("target", [("port", "0")])
        xml.close()
        xml.element("console", [("type", "pty")])
        xml.element("memballoon", [("model", "virtio")])
        xml.close()
        xml.close()
        return xml.text
    }

    private static func writeMarker(into xml: inout XMLWriter, spec: VirtualMachineSpec) {
        xml.open("metadata")
        xml.open("vmplan:resource", [
            ("xmlns:vmplan", OwnershipMarker.namespace), ("name", spec.name), ("hash", spec.specHash),
        ])
        for (key, value) in spec.labels.sorted(by: { $0.key < $1.key }) {
            xml.element("vmplan:label", [("key", key)], text: value)
        }
        xml.close()
        xml.close()
    }
}
