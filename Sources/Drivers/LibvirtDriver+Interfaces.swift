import Foundation
import Spec

extension LibvirtDriver {
    /// How long an unplugged NIC may take to leave the running domain. QEMU needs the guest to release
    /// it (ACPI or PCIe hot-plug); Linux's pciehp alone waits 5 seconds after the attention button.
    static let interfaceReleaseTimeout: Duration = .seconds(15)

    /// Unplugs the NICs a running KVM domain has that `spec` does not list, and plugs in those it lists
    /// that the domain lacks (by MAC), live and in its config, before the config is redefined. A NIC
    /// that keeps its MAC but changes source or model waits for the restart the plan chose.
    static func hotplugInterfaces(_ domain: LibvirtDomain, desired spec: VirtualMachineSpec, progress: ProgressHandler?) throws {
        guard spec.networks != nil else { return }  // the domain's NICs are someone else's
        let live = try DomainXMLReader.read(domain.xml(inactive: false)).spec(host: "", running: true)
        let config = try DomainXMLReader.read(domain.xml(inactive: true)).networks
        let (unplugged, plugged) = NICHotplug.changes(from: live, to: spec)
        for nic in unplugged {
            progress?("\(spec.name): unplugging NIC \(nic.summary) live")
            let inConfig = config.contains { $0.mac == nic.mac }
            let deadline = ContinuousClock.now.advanced(by: interfaceReleaseTimeout)
            try domain.changeDevice(xml: InterfaceXML.xml(for: nic), attach: false, config: inConfig, what: "NIC \(nic.mac)")
            if try !waitForRelease(of: nic.mac, from: domain, until: deadline) {
                progress?("\(spec.name): the guest has not released NIC \(nic.mac) within \(interfaceReleaseTimeout.formattedSeconds); "
                    + "it goes when the guest acknowledges the unplug, or at the next boot (plans show networks waiting for a restart)")
            }
        }
        for nic in plugged {
            progress?("\(spec.name): hot-plugging NIC \(nic.summary) live")
            let inConfig = config.contains { $0.mac == nic.mac }
            try domain.changeDevice(xml: InterfaceXML.xml(for: nic), attach: true, config: !inConfig, what: "NIC \(nic.mac)")
        }
    }

    /// libvirt's detach returns once QEMU was asked (after waiting a few seconds for the guest): polls the
    /// live XML until the NIC is gone. False when it is still there at the deadline.
    private static func waitForRelease(of mac: String, from domain: LibvirtDomain, until deadline: ContinuousClock.Instant) throws -> Bool {
        while true {
            let present = try DomainXMLReader.read(domain.xml(inactive: false)).networks.contains { $0.mac == mac }
            if !present { return true }
            if ContinuousClock.now >= deadline { return false }
            Thread.sleep(forTimeInterval: 0.25)
        }
    }
}
