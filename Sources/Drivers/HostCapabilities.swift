import Foundation

/// What a libvirt host can run, read once per connection from `virConnectGetCapabilities`.
public struct HostCapabilities: Sendable, Hashable {
    /// The host's CPU architecture, e.g. `x86_64`.
    public var arch: String
    /// Domain types offered for hvm guests of the host architecture, e.g. `["qemu", "kvm"]`.
    public var hvmDomainTypes: Set<String>
    /// The host's own UUID (`<host><uuid>`, from SMBIOS or libvirtd's `host_uuid`): what tells two
    /// URIs of one host apart from two hosts. nil where the driver reports none (`test:///`).
    public var hostUUID: String?

    /// `kvm` when the host offers hardware acceleration, `qemu` (TCG) otherwise.
    public var preferredDomainType: String {
        hvmDomainTypes.contains("kvm") ? "kvm" : "qemu"
    }

    public init(arch: String, hvmDomainTypes: Set<String>, hostUUID: String? = nil) {
        self.arch = arch
        self.hvmDomainTypes = hvmDomainTypes
        self.hostUUID = hostUUID
    }

    public init(parsing xml: String) throws {
        var hostArch: String?
        var hostUUID: String?
        var domainTypes: [String: Set<String>] = [:]
        var guestOSType = ""
        var guestArch: String?
        try XMLPathReader.read(xml, what: "host capabilities") { path, attributes in
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
        } end: { path, text in
            switch path {
            case ["capabilities", "host", "cpu", "arch"]: hostArch = text.trimmingCharacters(in: .whitespacesAndNewlines)
            case ["capabilities", "host", "uuid"]: hostUUID = text.trimmingCharacters(in: .whitespacesAndNewlines).lowercased()
            case ["capabilities", "guest", "os_type"]: guestOSType = text.trimmingCharacters(in: .whitespacesAndNewlines)
            default: break
            }
        }
        guard let hostArch else {
            throw DriverError(.operation, "cannot read the host's capabilities XML: it has no <host><cpu><arch>")
        }
        self.arch = hostArch
        self.hvmDomainTypes = domainTypes[hostArch] ?? []
        self.hostUUID = hostUUID.flatMap { $0.isEmpty ? nil : $0 }
    }
}
