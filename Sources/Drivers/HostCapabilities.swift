import Foundation
#if canImport(FoundationXML)
import FoundationXML
#endif

/// What a libvirt host can run, read once per connection from `virConnectGetCapabilities`.
public struct HostCapabilities: Sendable, Hashable {
    /// The host's CPU architecture, e.g. `x86_64`.
    public var arch: String
    /// Domain types offered for hvm guests of the host architecture, e.g. `["qemu", "kvm"]`.
    public var hvmDomainTypes: Set<String>

    /// `kvm` when the host offers hardware acceleration, `qemu` (TCG) otherwise.
    public var preferredDomainType: String {
        hvmDomainTypes.contains("kvm") ? "kvm" : "qemu"
    }

    public init(arch: String, hvmDomainTypes: Set<String>) {
        self.arch = arch
        self.hvmDomainTypes = hvmDomainTypes
    }

    public init(parsing xml: String) throws {
        let reader = CapabilitiesReader()
        let parser = XMLParser(data: Data(xml.utf8))
        parser.delegate = reader
        guard parser.parse(), let arch = reader.hostArch else {
            throw DriverError(.operation, "cannot read the host's capabilities XML")
        }
        self.arch = arch
        self.hvmDomainTypes = reader.domainTypes[arch] ?? []
    }
}

private final class CapabilitiesReader: NSObject, XMLParserDelegate {
    var hostArch: String?
    var domainTypes: [String: Set<String>] = [:]
    private var path: [String] = []
    private var text = ""
    private var guestOSType = ""
    private var guestArch: String?

    func parser(_ parser: XMLParser, didStartElement name: String, namespaceURI: String?,
                qualifiedName: String?, attributes: [String: String] = [:]) {
        path.append(name)
        text = ""
        switch path {
        case ["capabilities", "guest"]:
            guestOSType = ""
            guestArch = nil
        case ["capabilities", "guest", "arch"]:
            guestArch = attributes["name"]
        case ["capabilities", "guest", "arch", "domain"]:
            if guestOSType == "hvm", let guestArch, let type = attributes["type"] {
                domainTypes[guestArch, default: []].insert(type)
            }
        default: break
        }
    }

    func parser(_ parser: XMLParser, foundCharacters string: String) { text += string }

    func parser(_ parser: XMLParser, didEndElement name: String, namespaceURI: String?, qualifiedName: String?) {
        switch path {
        case ["capabilities", "host", "cpu", "arch"]: hostArch = text.trimmingCharacters(in: .whitespacesAndNewlines)
        case ["capabilities", "guest", "os_type"]: guestOSType = text.trimmingCharacters(in: .whitespacesAndNewlines)
        default: break
        }
        path.removeLast()
    }
}
