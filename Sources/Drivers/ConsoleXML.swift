import Spec

/// How people and tools reach a KVM guest: the serial console (always), a display (`graphics`), and
/// the QEMU guest agent's channel (`guestAgent`).
enum ConsoleXML {
    /// The virtio-serial port name qemu-guest-agent opens in the guest.
    static let guestAgentChannel = "org.qemu.guest_agent.0"

    /// A pty serial port with the console on it: `virsh console` works on every KVM (and Xen HVM) VM vmplan defines.
    static func writeSerialConsole(into xml: inout XMLWriter) {
        xml.open("serial", [("type", "pty")])
        xml.element("target", [("port", "0")])
        xml.close()
        xml.open("console", [("type", "pty")])
        xml.element("target", [("type", "serial"), ("port", "0")])
        xml.close()
    }

    /// The display the manifest asks for; a display vGPU without one gets VNC on loopback, which it needs
    /// to be seen at all. The port is chosen by libvirt (autoport).
    static func writeGraphics(into xml: inout XMLWriter, spec: VirtualMachineSpec) {
        guard let graphics = spec.graphics ?? (spec.vgpus.contains(where: \.display) ? GraphicsSpec(type: .vnc) : nil) else { return }
        xml.open("graphics", [("type", graphics.type.rawValue), ("autoport", "yes")])
        xml.element("listen", [("type", "address"), ("address", graphics.listen)])
        xml.close()
    }

    /// A unix socket on the host (libvirt picks its path) to the agent's virtio-serial port in the guest.
    static func writeGuestAgent(into xml: inout XMLWriter, spec: VirtualMachineSpec) {
        guard spec.guestAgent else { return }
        xml.open("channel", [("type", "unix")])
        xml.element("target", [("type", "virtio"), ("name", guestAgentChannel)])
        xml.close()
    }
}
