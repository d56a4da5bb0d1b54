/// One problem found in a manifest, with where it is and what would be valid.
public struct Diagnostic: Hashable, Sendable, CustomStringConvertible {
    public var location: SourceLocation?
    public var message: String

    /// Control characters in the message (a name or value quoted from a manifest) are written
    /// out visibly (`String.terminalSafe`), so that a manifest cannot drive the terminal that
    /// shows its errors.
    public init(_ message: String, at location: SourceLocation?) {
        self.message = message.terminalSafe
        self.location = location.map { SourceLocation(file: $0.file.terminalSafe, line: $0.line, column: $0.column) }
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
