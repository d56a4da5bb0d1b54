import Foundation
import Spec
#if canImport(FoundationXML)
import FoundationXML
#endif

/// Pool and volume XML, written through the escaping `XMLWriter` and read back with a SAX parser.
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
        try parse(xml, what: "pool") { path, attributes, text in
            switch path {
            case ["pool"] where attributes != nil: facts.type = attributes?["type"] ?? ""
            case ["pool", "target", "path"] where attributes == nil: facts.path = text
            case ["pool", "source", "name"] where attributes == nil: facts.sourceName = text
            default: break
            }
        }
        return facts
    }

    static func readVolume(_ xml: String) throws -> VolumeFacts {
        var facts = VolumeFacts()
        var unit = "bytes"
        try parse(xml, what: "volume") { path, attributes, text in
            switch path {
            case ["volume", "target", "format"]: if let type = attributes?["type"] { facts.format = type }
            case ["volume", "capacity"], ["volume", "allocation"]:
                if let attributes {
                    unit = attributes["unit"] ?? "bytes"
                } else {
                    let size = bytes(text, unit: unit)
                    if path.last == "capacity" { facts.capacity = size } else { facts.allocation = size }
                }
            case ["volume", "backingStore", "path"] where attributes == nil: facts.backingPath = text
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

    /// Calls `visit` at each start tag (with attributes) and end tag (attributes nil, with the text).
    static func parse(_ xml: String, what: String, _ visit: ([String], [String: String]?, String) -> Void) throws {
        try withoutActuallyEscaping(visit) { visit in
            let delegate = Delegate(visit)
            try run(delegate, xml, what)
        }
    }

    private static func run(_ delegate: Delegate, _ xml: String, _ what: String) throws {
        let parser = XMLParser(data: Data(xml.utf8))
        parser.delegate = delegate
        guard parser.parse() else {
            throw DriverError(.operation, "cannot parse \(what) XML: \(parser.parserError.map { "\($0)" } ?? "unknown error")")
        }
    }

    private final class Delegate: NSObject, XMLParserDelegate {
        let visit: ([String], [String: String]?, String) -> Void
        var path: [String] = []
        var text = ""

        init(_ visit: @escaping ([String], [String: String]?, String) -> Void) { self.visit = visit }

        func parser(_ parser: XMLParser, didStartElement name: String, namespaceURI: String?,
                    qualifiedName: String?, attributes: [String: String] = [:]) {
            path.append(name)
            text = ""
            visit(path, attributes, "")
        }

        func parser(_ parser: XMLParser, foundCharacters string: String) { text += string }

        func parser(_ parser: XMLParser, didEndElement name: String, namespaceURI: String?, qualifiedName: String?) {
            visit(path, nil, text.trimmingCharacters(in: .whitespacesAndNewlines))
            path.removeLast()
        }
    }
}
