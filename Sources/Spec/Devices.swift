import Foundation

/// One entry of `VirtualMachine.spec.gpus`: a PCI device passed through whole, by address or by selector.
public struct GPURequest: Hashable, Sendable, Codable {
    /// A pinned device.
    public var pci: PCIAddress?
    /// Selector: PCI vendor id, 4 lowercase hex digits (`10de`).
    public var vendor: String?
    /// Selector: PCI product id, 4 lowercase hex digits (`1eb8`).
    public var product: String?
    /// How many devices the selector asks for; 1 for a pinned device.
    public var count: Int
    /// Passing through something that is not a display controller must be asked for.
    public var allowNonGPU: Bool

    public init(pci: PCIAddress? = nil, vendor: String? = nil, product: String? = nil, count: Int = 1, allowNonGPU: Bool = false) {
        self.pci = pci
        self.vendor = vendor
        self.product = product
        self.count = count
        self.allowNonGPU = allowNonGPU
    }

    /// `0000:3b:00.0`, or `10de:1eb8 x2` for a selector.
    public var summary: String {
        if let pci { return pci.description }
        return "\(vendor ?? "*"):\(product ?? "*")" + (count > 1 ? " x\(count)" : "")
    }
}

/// One entry of `VirtualMachine.spec.vgpus`: a mediated device (vGPU) of a profile, with a stable UUID.
public struct VGPURequest: Hashable, Sendable, Codable {
    /// The mdev type id (`nvidia-222`); or nil when chosen by `profile`.
    public var type: String?
    /// The mdev type's name (`GRID T4-1B`); or nil when chosen by `type`.
    public var profile: String?
    /// The GPU to carve it from; nil lets vmplan choose.
    public var parent: PCIAddress?
    /// Pinned in the manifest, or derived from the VM's name and the entry's index.
    public var uuid: String
    /// Whether the vGPU drives the VM's display; at most one may.
    public var display: Bool

    public init(type: String? = nil, profile: String? = nil, parent: PCIAddress? = nil, uuid: String, display: Bool = false) {
        self.type = type
        self.profile = profile
        self.parent = parent
        self.uuid = uuid
        self.display = display
    }

    public var summary: String {
        "\(type ?? profile ?? "?")\(parent.map { " on \($0)" } ?? "") uuid \(uuid)\(display ? " (display)" : "")"
    }

    /// The UUID a VM's n-th vGPU gets when the manifest pins none: name-based (RFC 4122 version 5),
    /// so re-plans never churn and another VM never collides.
    public static func derivedUUID(vm: String, index: Int) -> String {
        NameBasedUUID.make(namespace: NameBasedUUID.vmplanNamespace, name: "vgpu/\(vm)/\(index)")
    }

    /// `xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx`, hex in either case; returned lowercase.
    public static func canonicalUUID(_ text: String) -> String? {
        let groups = text.split(separator: "-", omittingEmptySubsequences: false)
        guard groups.map(\.count) == [8, 4, 4, 4, 12], groups.allSatisfy({ $0.allSatisfy(\.isHexDigit) }) else { return nil }
        return text.lowercased()
    }
}

/// RFC 4122 version-5 UUIDs (SHA-1 of a namespace and a name).
enum NameBasedUUID {
    /// vmplan's own namespace: `urn:vmplan:1` hashed into the URL namespace.
    static let vmplanNamespace: [UInt8] = bytes(of: make(namespace: bytes(of: "6ba7b811-9dad-11d1-80b4-00c04fd430c8"), name: "urn:vmplan:1"))

    static func make(namespace: [UInt8], name: String) -> String {
        var digest = SHA1.hash(namespace + Array(name.utf8))
        digest[6] = (digest[6] & 0x0F) | 0x50
        digest[8] = (digest[8] & 0x3F) | 0x80
        let hex = digest.prefix(16).map { String(format: "%02x", $0) }.joined()
        let chars = Array(hex)
        return [0..<8, 8..<12, 12..<16, 16..<20, 20..<32].map { String(chars[$0]) }.joined(separator: "-")
    }

    static func bytes(of uuid: String) -> [UInt8] {
        let hex = Array(uuid.replacingOccurrences(of: "-", with: ""))
        return stride(from: 0, to: hex.count, by: 2).map { UInt8(String(hex[$0..<$0 + 2]), radix: 16) ?? 0 }
    }
}

/// SHA-1, only for name-based UUIDs (not for anything that needs collision resistance).
enum SHA1 {
    static func hash(_ message: [UInt8]) -> [UInt8] {
        var h: [UInt32] = [0x6745_2301, 0xEFCD_AB89, 0x98BA_DCFE, 0x1032_5476, 0xC3D2_E1F0]
        var data = message
        let bitLength = UInt64(message.count) * 8
        data.append(0x80)
        while data.count % 64 != 56 { data.append(0) }
        for shift in stride(from: 56, through: 0, by: -8) { data.append(UInt8(truncatingIfNeeded: bitLength >> UInt64(shift))) }
        var w = [UInt32](repeating: 0, count: 80)
        for chunk in stride(from: 0, to: data.count, by: 64) {
            for i in 0..<16 {
                let b = chunk + i * 4
                w[i] = UInt32(data[b]) << 24 | UInt32(data[b + 1]) << 16 | UInt32(data[b + 2]) << 8 | UInt32(data[b + 3])
            }
            for i in 16..<80 {
                let x = w[i - 3] ^ w[i - 8] ^ w[i - 14] ^ w[i - 16]
                w[i] = x << 1 | x >> 31
            }
            var (a, b, c, d, e) = (h[0], h[1], h[2], h[3], h[4])
            for i in 0..<80 {
                let (f, k): (UInt32, UInt32)
                switch i {
                case 0..<20: (f, k) = ((b & c) | (~b & d), 0x5A82_7999)
                case 20..<40: (f, k) = (b ^ c ^ d, 0x6ED9_EBA1)
                case 40..<60: (f, k) = ((b & c) | (b & d) | (c & d), 0x8F1B_BCDC)
                default: (f, k) = (b ^ c ^ d, 0xCA62_C1D6)
                }
                let temp = (a << 5 | a >> 27) &+ f &+ e &+ k &+ w[i]
                (e, d, c, b, a) = (d, c, b << 30 | b >> 2, a, temp)
            }
            h[0] = h[0] &+ a; h[1] = h[1] &+ b; h[2] = h[2] &+ c; h[3] = h[3] &+ d; h[4] = h[4] &+ e
        }
        return h.flatMap { word in (0..<4).map { UInt8(truncatingIfNeeded: word >> (24 - 8 * UInt32($0))) } }
    }
}
