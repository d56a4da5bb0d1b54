/// An amount of memory or storage, always written with a binary unit in manifests
/// (`512MiB`, `8GiB`). Bare numbers are rejected so that nobody guesses the unit.
public struct ByteCount: Hashable, Comparable, Sendable, Codable, CustomStringConvertible {
    public var bytes: UInt64

    public init(bytes: UInt64) { self.bytes = bytes }

    public static func kibibytes(_ n: UInt64) -> ByteCount { ByteCount(bytes: n * 1024) }
    public static func mebibytes(_ n: UInt64) -> ByteCount { ByteCount(bytes: n * 1024 * 1024) }
    public static func gibibytes(_ n: UInt64) -> ByteCount { ByteCount(bytes: n * 1024 * 1024 * 1024) }

    /// Whole KiB, the unit libvirt uses for domain memory.
    public var kibibytes: UInt64 { bytes / 1024 }

    public static func < (lhs: ByteCount, rhs: ByteCount) -> Bool { lhs.bytes < rhs.bytes }

    /// Units accepted in manifests, largest first.
    public static let units: [(suffix: String, factor: UInt64)] = [
        ("TiB", 1 << 40), ("GiB", 1 << 30), ("MiB", 1 << 20), ("KiB", 1 << 10),
    ]

    /// Parses `512MiB`, `8GiB`, `1.5GiB` (a fraction must come out as whole bytes).
    /// Returns nil for anything else, bare numbers included.
    public init?(parsing text: String) {
        let trimmed = text.trimmingCharacters(in: .whitespaces)
        guard let unit = ByteCount.units.first(where: { trimmed.hasSuffix($0.suffix) }) else { return nil }
        let number = trimmed.dropLast(unit.suffix.count).trimmingCharacters(in: .whitespaces)
        guard !number.isEmpty, number.allSatisfy({ $0.isASCII && ($0.isNumber || $0 == ".") }) else { return nil }
        let parts = number.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count <= 2, let whole = UInt64(parts[0]) else { return nil }
        var (bytes, overflow) = whole.multipliedReportingOverflow(by: unit.factor)
        guard !overflow else { return nil }
        if parts.count == 2 {
            let digits = parts[1]
            guard !digits.isEmpty, digits.count <= 6, let frac = UInt64(digits) else { return nil }
            var scale: UInt64 = 1
            for _ in 0..<digits.count { scale *= 10 }
            let (product, over) = frac.multipliedReportingOverflow(by: unit.factor)
            guard !over, product % scale == 0 else { return nil }
            (bytes, overflow) = bytes.addingReportingOverflow(product / scale)
            guard !overflow else { return nil }
        }
        self.bytes = bytes
    }

    /// The shortest exact form: `128MiB`, `8GiB`, `1536KiB`; plain bytes as `NB` when not a KiB multiple.
    public var description: String {
        for unit in ByteCount.units where bytes >= unit.factor && bytes % unit.factor == 0 {
            return "\(bytes / unit.factor)\(unit.suffix)"
        }
        return bytes == 0 ? "0MiB" : "\(bytes)B"
    }

    public init(from decoder: Decoder) throws {
        let container = try decoder.singleValueContainer()
        let text = try container.decode(String.self)
        if let parsed = ByteCount(parsing: text) {
            self = parsed
        } else if text.hasSuffix("B"), let raw = UInt64(text.dropLast()) {
            self.bytes = raw
        } else {
            throw DecodingError.dataCorruptedError(in: container, debugDescription: "not a size: \(text)")
        }
    }

    public func encode(to encoder: Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(description)
    }
}
