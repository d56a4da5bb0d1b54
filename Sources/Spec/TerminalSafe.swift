extension String {
    /// The text with everything that could move the cursor, end a line or reorder what a terminal
    /// shows written out visibly: `\n`, `\t`, `\u{1B}`, `\u{202E}`. A value from a manifest or a
    /// host can then never draw lines of its own (a fake `- prod-db`, a fake summary) in plan output.
    /// A backslash is doubled, so that `\n` in the output always stands for a newline in the value.
    public var terminalSafe: String {
        guard unicodeScalars.contains(where: { $0 == "\\" || Self.needsEscape($0) }) else { return self }
        var result = ""
        for scalar in unicodeScalars {
            switch scalar {
            case "\n": result += "\\n"
            case "\r": result += "\\r"
            case "\t": result += "\\t"
            case "\\": result += "\\\\"
            case _ where Self.needsEscape(scalar): result += "\\u{\(String(scalar.value, radix: 16, uppercase: true))}"
            default: result.unicodeScalars.append(scalar)
            }
        }
        return result
    }

    /// C0 and C1 controls, DEL, and the bidirectional marks, overrides and isolates.
    private static func needsEscape(_ scalar: Unicode.Scalar) -> Bool {
        switch scalar.value {
        case 0x00...0x1F, 0x7F...0x9F, 0x200E, 0x200F, 0x202A...0x202E, 0x2066...0x2069: true
        default: false
        }
    }
}
