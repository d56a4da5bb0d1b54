import Spec

/// `<disk>` elements of a domain: written from `DiskSpec`s, read back from domain XML.
enum DiskXML {
    /// A disk as found in domain XML, with the target libvirt gave it.
    struct Found: Hashable {
        var disk: DiskSpec
        var target: String
    }

    /// Target names in list order: `vda, vdb, …` for virtio, `sda, sdb, …` shared by SATA and SCSI.
    static func targets(for disks: [DiskSpec], avoiding taken: Set<String> = []) -> [String] {
        var used = taken
        return disks.map { disk in
            let prefix = disk.bus == .virtio ? "vd" : "sd"
            let name = (0..<702).lazy.map { prefix + letters($0) }.first { !used.contains($0) } ?? prefix + "zz"
            used.insert(name)
            return name
        }
    }

    /// `a … z, aa, ab …` as the kernel names disks.
    private static func letters(_ index: Int) -> String {
        let alphabet = Array("abcdefghijklmnopqrstuvwxyz")
        return index < 26 ? String(alphabet[index]) : String(alphabet[index / 26 - 1]) + String(alphabet[index % 26])
    }

    static func write(_ disk: DiskSpec, target: String, into xml: inout XMLWriter) {
        xml.open("disk", [("type", "volume"), ("device", disk.device.rawValue)])
        xml.element("driver", [("name", "qemu"), ("type", disk.format.rawValue)])
        xml.element("source", [("pool", disk.pool), ("volume", disk.volume)])
        xml.element("target", [("dev", target), ("bus", disk.bus.rawValue)])
        if let boot = disk.boot { xml.element("boot", [("order", String(boot))]) }
        if disk.readonly || disk.device == .cdrom { xml.element("readonly") }
        if disk.shareable { xml.element("shareable") }
        xml.close()
    }

    static func xml(for disk: DiskSpec, target: String) -> String {
        var xml = XMLWriter()
        write(disk, target: target, into: &xml)
        return xml.text
    }

    /// Reads every `<disk>` of a domain. Disks that are not pool volumes keep their file path as
    /// the volume name and an empty pool, so that they show up in a diff instead of vanishing.
    static func read(_ domainXML: String) throws -> [Found] {
        try DomainXMLReader.read(domainXML).disks
    }
}

extension DomainXML {
    /// The VM's disks, the cloud-init seed last, and a virtio-scsi controller when a disk needs one.
    static func writeDisks(into xml: inout XMLWriter, spec: VirtualMachineSpec) {
        let disks = spec.attachedDisks
        for (disk, target) in zip(disks, DiskXML.targets(for: disks)) {
            DiskXML.write(disk, target: target, into: &xml)
        }
        if disks.contains(where: { $0.bus == .scsi }) {
            xml.element("controller", [("type", "scsi"), ("index", "0"), ("model", "virtio-scsi")])
        }
    }
}

/// Which disk changes a running KVM domain takes without a restart.
public enum DiskHotplug {
    /// Disks on virtio or SCSI, as plain disks, can be attached and detached live; a cdrom or a
    /// SATA disk cannot (QEMU's AHCI has no hotplug).
    public static func isHotpluggable(_ disk: DiskSpec) -> Bool {
        disk.device == .disk && (disk.bus == .virtio || disk.bus == .scsi)
    }

    /// True when every disk that appears or disappears between the two specs is hot-pluggable.
    public static func isLive(from old: VirtualMachineSpec, to new: VirtualMachineSpec) -> Bool {
        let before = old.attachedDisks, after = new.attachedDisks
        let changed = before.filter { !after.contains($0) } + after.filter { !before.contains($0) }
        return changed.allSatisfy(isHotpluggable)
    }
}
