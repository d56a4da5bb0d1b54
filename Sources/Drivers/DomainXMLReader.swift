import Foundation
import Spec
#if canImport(FoundationXML)
import FoundationXML
#endif

/// Reads a domain's XML back into the resource model. Fields vmplan does not manage are ignored.
struct DomainXMLReader {
    var name = ""
    var domainType = ""
    var description: String?
    var maxMemory = ByteCount(bytes: 0)
    var memory: ByteCount?
    var maxVcpus = 1
    var vcpus: Int?
    var firmware = Firmware.bios
    var owner: OwnershipMarker?
    var labels: [String: String] = [:]

    static func read(_ xml: String) throws -> DomainXMLReader {
        let delegate = Delegate()
        let parser = XMLParser(data: Data(xml.utf8))
        parser.shouldProcessNamespaces = true
        parser.delegate = delegate
        guard parser.parse() else {
            throw DriverError(.operation, "cannot parse domain XML: \(parser.parserError.map { "\($0)" } ?? "unknown error")")
        }
        return delegate.result
    }

    func spec(host: String, running: Bool) -> VirtualMachineSpec {
        let currentMemory = memory ?? maxMemory
        let currentVcpus = vcpus ?? maxVcpus
        return VirtualMachineSpec(
            name: name, host: host,
            vcpus: currentVcpus, maxVcpus: maxVcpus == currentVcpus ? nil : maxVcpus,
            memory: currentMemory, maxMemory: maxMemory == currentMemory ? nil : maxMemory,
            firmware: firmware, state: running ? .running : .stopped,
            description: description, labels: labels
        )
    }

    private final class Delegate: NSObject, XMLParserDelegate {
        var result = DomainXMLReader()
        private var path: [String] = []
        private var text = ""
        private var unit = "KiB"
        private var labelKey: String?
        private var inMarker = false

        func parser(_ parser: XMLParser, didStartElement name: String, namespaceURI: String?,
                    qualifiedName: String?, attributes: [String: String] = [:]) {
            path.append(name)
            text = ""
            if namespaceURI == OwnershipMarker.namespace {
                if name == "resource", path.count == 3, let resource = attributes["name"] {
                    result.owner = OwnershipMarker(resource: resource, specHash: attributes["hash"] ?? "")
                    inMarker = true
                } else if name == "label", inMarker {
                    labelKey = attributes["key"]
                }
                return
            }
            switch path {
            case ["domain"]:
                result.domainType = attributes["type"] ?? ""
            case ["domain", "memory"], ["domain", "currentMemory"]:
                unit = attributes["unit"] ?? "KiB"
            case ["domain", "vcpu"]:
                result.vcpus = attributes["current"].flatMap(Int.init)
            case ["domain", "os"]:
                if attributes["firmware"] == "efi" { result.firmware = .uefi }
            case ["domain", "os", "loader"]:
                if attributes["type"] == "pflash" { result.firmware = .uefi }
            default: break
            }
        }

        func parser(_ parser: XMLParser, foundCharacters string: String) { text += string }

        func parser(_ parser: XMLParser, didEndElement name: String, namespaceURI: String?, qualifiedName: String?) {
            defer { path.removeLast() }
            if namespaceURI == OwnershipMarker.namespace {
                if name == "label", let key = labelKey {
                    result.labels[key] = text
                    labelKey = nil
                } else if name == "resource" {
                    inMarker = false
                }
                return
            }
            let value = text.trimmingCharacters(in: .whitespacesAndNewlines)
            switch path {
            case ["domain", "name"]: result.name = value
            case ["domain", "description"]: result.description = text
            case ["domain", "memory"]: result.maxMemory = Self.size(value, unit: unit)
            case ["domain", "currentMemory"]: result.memory = Self.size(value, unit: unit)
            case ["domain", "vcpu"]: result.maxVcpus = Int(value) ?? 1
            default: break
            }
        }

        private static func size(_ value: String, unit: String) -> ByteCount {
            let amount = UInt64(value) ?? 0
            switch unit {
            case "b", "bytes": return ByteCount(bytes: amount)
            case "M", "MiB": return .mebibytes(amount)
            case "G", "GiB": return .gibibytes(amount)
            default: return .kibibytes(amount)
            }
        }
    }
}
