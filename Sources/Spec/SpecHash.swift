import Foundation

extension VirtualMachineSpec {
    /// A stable fingerprint of the spec: FNV-1a 64 over its canonical JSON (sorted keys).
    /// It detects change; it is not a security boundary.
    public var specHash: String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        let data = (try? encoder.encode(self)) ?? Data()
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        for byte in data {
            hash ^= UInt64(byte)
            hash = hash &* 0x0000_0100_0000_01b3
        }
        let hex = String(hash, radix: 16)
        return String(repeating: "0", count: 16 - hex.count) + hex
    }
}
