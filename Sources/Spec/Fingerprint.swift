import Foundation

/// FNV-1a 64: a stable fingerprint that detects change. It is not a security boundary.
public enum Fingerprint {
    /// 16 lowercase hex digits, zero-padded.
    public static func fnv1a64<Bytes: Sequence>(_ bytes: Bytes) -> String where Bytes.Element == UInt8 {
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        for byte in bytes {
            hash ^= UInt64(byte)
            hash = hash &* 0x0000_0100_0000_01b3
        }
        let hex = String(hash, radix: 16)
        return String(repeating: "0", count: 16 - hex.count) + hex
    }

    /// The fingerprint of a value's canonical JSON: equal values, equal fingerprints.
    public static func of<Value: Encodable>(_ value: Value) -> String {
        fnv1a64((try? CanonicalJSON.encode(value)) ?? Data())
    }
}

/// JSON with sorted keys, so that equal values are equal text (recorded specs, hashes).
/// `pretty` indents it for people, still in key order (`--json` output).
public enum CanonicalJSON {
    public static func encode<Value: Encodable>(_ value: Value, pretty: Bool = false) throws -> Data {
        let encoder = JSONEncoder()
        encoder.outputFormatting = pretty ? [.prettyPrinted, .sortedKeys] : [.sortedKeys]
        return try encoder.encode(value)
    }

    public static func string<Value: Encodable>(_ value: Value, pretty: Bool = false) throws -> String {
        String(decoding: try encode(value, pretty: pretty), as: UTF8.self)
    }
}
