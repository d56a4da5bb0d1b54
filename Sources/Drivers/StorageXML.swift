import Foundation
import Spec

/// Pool and volume XML, written through the escaping `XMLWriter` and read back with `XMLPathReader`.
enum StorageXML {
    static func pool(_ spec: StoragePoolSpec) throws -> String {
        guard ResourceName.isValid(spec.name), StoragePath.isValid(spec.path) else {
            throw DriverError(.invalidInput, "pool '\(spec.name)' at '\(spec.path)' has an invalid name or path")
        }
        var xml = XMLWriter()
        xml.open("pool", [("type", spec.type.rawValue)])
        xml.element("name", text: spec.name)
        if spec.type == .logical {
            // libvirt finds the group by <source><name>; build makes it on the <device>s.
            guard let group = spec.volumeGroup, LogicalPool.isValidVolumeGroup(group), spec.path == "/dev/" + group,
                  spec.devices.allSatisfy(LogicalPool.isValidDevice) else {
                throw DriverError(.invalidInput, "logical pool '\(spec.name)' has an invalid volume group or device")
            }
            xml.open("source")
            for device in spec.devices {
                xml.element("device", [("path", device)])
            }
            xml.element("name", text: group)
            xml.element("format", [("type", "lvm2")])
            xml.close()
        }
        xml.open("target")
        xml.element("path", text: spec.path)
        xml.close()
        xml.close()
        return xml.text
    }

    /// - Parameter format: nil in a logical pool, where a volume is a raw block device (libvirt ignores a format there).
    /// - Parameter backing: path and format of the base, for a qcow2 overlay.
    static func volume(name: String, capacity: ByteCount, format: String?, backing: (path: String, format: String)? = nil) throws -> String {
        // The name becomes a file name in the pool directory: no '/', no leading '.' or '-'.
        guard ResourceName.isValid(name) else {
            throw DriverError(.invalidInput, "'\(name)' is not a valid volume name: \(ResourceName.rule)")
        }
        var xml = XMLWriter()
        xml.open("volume")
        xml.element("name", text: name)
        xml.element("capacity", [("unit", "bytes")], text: String(capacity.bytes))
        xml.open("target")  // libvirt's schema wants it, even empty
        if let format { xml.element("format", [("type", format)]) }
        xml.close()
        if let backing {
            xml.open("backingStore")
            xml.element("path", text: backing.path)
            xml.element("format", [("type", backing.format)])
            xml.close()
        }
        xml.close()
        return xml.text
    }

    struct PoolFacts {
        var type = ""
        var path = ""
        /// A logical pool's volume group.
        var sourceName = ""
    }

    struct VolumeFacts {
        var format = ""
        var capacity = ByteCount(bytes: 0)
        var allocation = ByteCount(bytes: 0)
        var backingPath: String?
    }

    static func readPool(_ xml: String) throws -> PoolFacts {
        var facts = PoolFacts()
        try XMLPathReader.read(xml, what: "pool") { path, attributes in
            if path == ["pool"] { facts.type = attributes["type"] ?? "" }
        } end: { path, text in
            let value = text.trimmingCharacters(in: .whitespacesAndNewlines)
            switch path {
            case ["pool", "target", "path"]: facts.path = value
            case ["pool", "source", "name"]: facts.sourceName = value
            default: break
            }
        }
        return facts
    }

    static func readVolume(_ xml: String) throws -> VolumeFacts {
        var facts = VolumeFacts()
        var unit = "bytes"
        try XMLPathReader.read(xml, what: "volume") { path, attributes in
            switch path {
            case ["volume", "target", "format"]: if let type = attributes["type"] { facts.format = type }
            case ["volume", "capacity"], ["volume", "allocation"]: unit = attributes["unit"] ?? "bytes"
            default: break
            }
        } end: { path, text in
            let value = text.trimmingCharacters(in: .whitespacesAndNewlines)
            switch path {
            case ["volume", "capacity"]: facts.capacity = bytes(value, unit: unit)
            case ["volume", "allocation"]: facts.allocation = bytes(value, unit: unit)
            case ["volume", "backingStore", "path"]: facts.backingPath = value
            default: break
            }
        }
        return facts
    }

    private static func bytes(_ text: String, unit: String) -> ByteCount {
        let value = UInt64(text) ?? 0
        switch unit {
        case "KiB", "K", "k": return .kibibytes(value)
        case "MiB", "M": return .mebibytes(value)
        case "GiB", "G": return .gibibytes(value)
        default: return ByteCount(bytes: value)
        }
    }
}
