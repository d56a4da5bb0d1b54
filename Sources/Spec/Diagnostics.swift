/// One problem found in a manifest, with where it is and what would be valid.
public struct Diagnostic: Hashable, Sendable, CustomStringConvertible {
    public var location: SourceLocation?
    public var message: String

    /// Control characters in the message (a name or value quoted from a manifest) are escaped
    /// visibly, so that a manifest cannot drive the terminal that shows its errors.
    public init(_ message: String, at location: SourceLocation?) {
        self.message = Diagnostic.escapingControls(message)
        self.location = location.map { SourceLocation(file: Diagnostic.escapingControls($0.file), line: $0.line, column: $0.column) }
    }

    /// C0 and C1 controls (ESC included) and bidirectional overrides become `\u{1B}` and the like.
    public static func escapingControls(_ text: String) -> String {
        guard text.unicodeScalars.contains(where: isUnsafeInTerminal) else { return text }
        var out = ""
        for scalar in text.unicodeScalars {
            if isUnsafeInTerminal(scalar) {
                out += "\\u{\(String(scalar.value, radix: 16, uppercase: true))}"
            } else {
                out.unicodeScalars.append(scalar)
            }
        }
        return out
    }

    private static func isUnsafeInTerminal(_ scalar: Unicode.Scalar) -> Bool {
        scalar.properties.generalCategory == .control
            || (0x202A...0x202E).contains(scalar.value) || (0x2066...0x2069).contains(scalar.value)
    }

    public var description: String { rendered(as: "error") }

    /// `file:line:column: warning: …` and the like.
    public func rendered(as severity: String) -> String {
        guard let location else { return "\(severity): \(message)" }
        return "\(location): \(severity): \(message)"
    }
}

/// All problems of one load, reported together.
public struct ManifestError: Error, Sendable, CustomStringConvertible {
    public var diagnostics: [Diagnostic]

    public init(_ diagnostics: [Diagnostic]) { self.diagnostics = diagnostics }

    public var description: String {
        let lines = diagnostics.map(\.description)
        let count = diagnostics.count
        return (lines + ["\(count) error\(count == 1 ? "" : "s") in manifests; nothing was changed."])
            .joined(separator: "\n")
    }
}
