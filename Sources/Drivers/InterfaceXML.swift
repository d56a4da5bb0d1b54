import Foundation
import Spec

/// `<interface>` elements of a domain: one NIC, as written into a definition or sent to attach and detach it.
enum InterfaceXML {
    /// `<interface type='network'|'bridge'>` with the NIC's MAC, source and model. A model read back as
    /// libvirt's default (none in the XML) is left out again.
    static func write(_ nic: NetworkInterface, into xml: inout XMLWriter) {
        switch nic.source {
        case let .network(name):
            xml.open("interface", [("type", "network")])
            xml.element("mac", [("address", nic.mac)])
            xml.element("source", [("network", name)])
        case let .bridge(name):
            xml.open("interface", [("type", "bridge")])
            xml.element("mac", [("address", nic.mac)])
            xml.element("source", [("bridge", name)])
        }
        if nic.model != .libvirtDefault { xml.element("model", [("type", nic.model.rawValue)]) }
        xml.close()
    }

    static func xml(for nic: NetworkInterface) -> String {
        var xml = XMLWriter()
        write(nic, into: &xml)
        return xml.text
    }
}

/// Which NIC changes a running KVM domain takes without a restart. A NIC is known by its MAC: one that
/// comes or goes is hot-plugged or unplugged; one that keeps its MAC but changes its source or model
/// needs a restart (to the guest an unplug and plug would be a new card with the old address).
public enum NICHotplug {
    /// True when the NICs of the two specs differ only by whole NICs added or removed. Their order does not
    /// count: a hot-plugged NIC comes last in the running domain, and the config keeps the manifest's order.
    public static func isLive(from old: VirtualMachineSpec, to new: VirtualMachineSpec) -> Bool {
        let after = byMAC(new.networks ?? [])
        return byMAC(old.networks ?? []).allSatisfy { mac, nic in after[mac].map { $0 == nic } ?? true }
    }

    /// True when both have the same NICs, order aside: what hot-plug leaves behind when the guest took it.
    public static func haveSameInterfaces(_ one: VirtualMachineSpec, _ other: VirtualMachineSpec) -> Bool {
        Set(one.networks ?? []) == Set(other.networks ?? [])
    }

    /// The NICs `old` has that `new` does not (by MAC), and those `new` adds.
    public static func changes(from old: VirtualMachineSpec, to new: VirtualMachineSpec) -> (unplugged: [NetworkInterface], plugged: [NetworkInterface]) {
        let before = old.networks ?? [], after = new.networks ?? []
        let beforeMACs = Set(before.map(\.mac)), afterMACs = Set(after.map(\.mac))
        return (before.filter { !afterMACs.contains($0.mac) }, after.filter { !beforeMACs.contains($0.mac) })
    }

    /// Two NICs with one MAC (a domain edited by hand): the first counts.
    private static func byMAC(_ nics: [NetworkInterface]) -> [String: NetworkInterface] {
        Dictionary(nics.map { ($0.mac, $0) }, uniquingKeysWith: { first, _ in first })
    }
}
