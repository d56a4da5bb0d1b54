import Yams

/// Collects every problem of one load so that they can be reported together.
struct DiagnosticLog {
    private(set) var diagnostics: [Diagnostic] = []

    mutating func error(_ message: String, at location: SourceLocation?) {
        diagnostics.append(Diagnostic(message, at: location))
    }

    mutating func append(_ diagnostic: Diagnostic) { diagnostics.append(diagnostic) }

    var isEmpty: Bool { diagnostics.isEmpty }

    /// Sorted by file, line, column; diagnostics without a location (about the path itself) first.
    /// Ties keep the order in which they were found.
    var sorted: [Diagnostic] {
        diagnostics.enumerated().sorted { lhs, rhs in
            let (l, r) = (lhs.element.location, rhs.element.location)
            switch (l, r) {
            case (nil, nil): return lhs.offset < rhs.offset
            case (nil, _): return true
            case (_, nil): return false
            case let (l?, r?):
                if l.file != r.file { return l.file < r.file }
                if l.line != r.line { return l.line < r.line }
                if l.column != r.column { return l.column < r.column }
                return lhs.offset < rhs.offset
            }
        }.map(\.element)
    }
}

/// One non-empty YAML document and the file it came from, so that any node can be located.
struct YAMLDocument {
    let file: String
    let root: Node
    /// The real manifest directory; files a document names must resolve inside it.
    var manifestRoot: String?

    func location(of node: Node) -> SourceLocation {
        YAMLDocument.location(of: node, in: file)
    }

    static func location(of node: Node, in file: String) -> SourceLocation {
        // Yams marks are already 1-based (libyaml's 0-based mark + 1), columns in Unicode scalars.
        let mark = node.mark
        return SourceLocation(file: file, line: mark?.line ?? 1, column: mark?.column ?? 1)
    }
}

extension Node {
    /// The resolved YAML tag, e.g. `tag:yaml.org,2002:int` for a plain `8`.
    var tagName: String { tag.rawValue }

    var isNull: Bool {
        if case let .scalar(scalar) = self {
            return tagName == Tag.Name.null.rawValue
                || (scalar.string.isEmpty && scalar.style == .plain)
        }
        return false
    }

    /// How a node is shown after "got" in messages.
    var shownInMessage: String {
        switch self {
        case let .scalar(scalar): return isNull ? "an empty value" : "'\(scalar.string)'"
        case .mapping: return "a mapping"
        case .sequence: return "a list"
        case .alias: return "an alias"
        }
    }

    /// The number of nodes, counting an alias's nodes each time it is used; stops past `limit`.
    func nodeCount(upTo limit: Int) -> Int {
        var count = 0
        var pending = [self]
        while let node = pending.popLast(), count <= limit {
            count += 1
            switch node {
            case let .sequence(sequence): pending.append(contentsOf: sequence)
            case let .mapping(mapping): for (key, value) in mapping { pending.append(key); pending.append(value) }
            case .scalar, .alias: break
            }
        }
        return count
    }

    /// What YAML made of an unquoted scalar, for "quote it" hints.
    var yamlTypeName: String? {
        switch tagName {
        case Tag.Name.int.rawValue: return "an integer"
        case Tag.Name.float.rawValue: return "a number"
        case Tag.Name.bool.rawValue: return "a boolean"
        case Tag.Name.null.rawValue: return "null"
        default: return nil
        }
    }
}

/// Turns text into YAML documents, converting Yams errors into located diagnostics.
enum YAMLReader {
    /// Documents before a syntax error are kept; the error ends the file (libyaml cannot resume).
    /// A file over one of `YAMLLimits` ends at the document that passes it, like a syntax error.
    static func documents(file: String, text: String, root manifestRoot: String? = nil, log: inout DiagnosticLog) -> [YAMLDocument] {
        var documents: [YAMLDocument] = []
        let start = SourceLocation(file: file, line: 1, column: 1)
        guard text.utf8.count <= YAMLLimits.maximumFileBytes else {
            log.error("manifest file is \(YAMLLimits.shown(text.utf8.count)), over the limit of \(YAMLLimits.shown(YAMLLimits.maximumFileBytes)) per file; split it into several files", at: start)
            return []
        }
        let excess = AliasExpansion.excess(in: text)
        do {
            let parser = try Parser(yaml: text)
            var index = 0
            while excess.map({ index < $0.document }) ?? true, let root = try parser.nextRoot() {
                defer { index += 1 }
                let location = YAMLDocument.location(of: root, in: file)
                guard index < YAMLLimits.maximumDocumentsPerFile else {
                    log.error("more than \(YAMLLimits.maximumDocumentsPerFile) YAML documents in one file; split it into several files", at: location)
                    return documents
                }
                guard root.nodeCount(upTo: YAMLLimits.maximumNodesPerDocument) <= YAMLLimits.maximumNodesPerDocument else {
                    log.error("this YAML document has more than \(YAMLLimits.maximumNodesPerDocument) nodes; split it into several documents", at: location)
                    return documents
                }
                if root.isNull { continue }  // `---` with nothing after it
                documents.append(YAMLDocument(file: file, root: root, manifestRoot: manifestRoot))
            }
            if let excess {
                let location = excess.alias.map { SourceLocation(file: file, line: $0.line, column: $0.column) } ?? start
                log.error("aliases expand this YAML document to more than \(YAMLLimits.maximumNodesPerDocument) nodes; "
                    + "write the values out or use fewer aliases", at: location)
            }
        } catch let error as YamlError {
            log.append(diagnostic(for: error, file: file, text: text))
        } catch {
            log.error("cannot parse YAML: \(error)", at: SourceLocation(file: file, line: 1, column: 1))
        }
        return documents
    }

    static func diagnostic(for error: YamlError, file: String, text: String) -> Diagnostic {
        func at(_ mark: Mark) -> SourceLocation {
            SourceLocation(file: file, line: mark.line, column: mark.column)
        }
        switch error {
        case let .scanner(context, problem, mark, _),
             let .parser(context, problem, mark, _),
             let .composer(context, problem, mark, _):
            var message = "invalid YAML: \(problem)"
            if let context {
                message += " (\(context.text) at line \(context.mark.line), column \(context.mark.column))"
            }
            return Diagnostic(message, at: at(mark))
        case let .reader(problem, offset, _, _):
            let (line, column) = position(ofCharacterOffset: offset ?? 0, in: text)
            return Diagnostic("invalid YAML text: \(problem)", at: SourceLocation(file: file, line: line, column: column))
        case let .duplicatedKeysInMapping(duplicates, context):
            return duplicateKeyDiagnostic(keys: duplicates, first: context.mark, file: file, text: text)
        default:
            return Diagnostic("invalid YAML: \(error)", at: SourceLocation(file: file, line: 1, column: 1))
        }
    }

    private static func position(ofCharacterOffset offset: Int, in text: String) -> (line: Int, column: Int) {
        var line = 1, column = 1
        for character in text.prefix(offset) {
            if character == "\n" || character == "\r\n" { line += 1; column = 1 } else { column += 1 }
        }
        return (line, column)
    }

    /// Yams only reports where the first of the duplicated keys is. For block mappings we look
    /// for the repeat at the same indentation, since that is the line the user has to change.
    private static func duplicateKeyDiagnostic(keys: [String], first: Mark, file: String, text: String) -> Diagnostic {
        let key = keys.first ?? "?"
        let firstLocation = SourceLocation(file: file, line: first.line, column: first.column)
        let lines = text.split(separator: "\n", omittingEmptySubsequences: false).map {
            $0.hasSuffix("\r") ? $0.dropLast() : $0
        }
        let indent = first.column - 1
        var index = first.line  // 0-based index of the line after the first occurrence
        while index < lines.count {
            let line = Array(lines[index].unicodeScalars)
            let leading = line.prefix { $0 == " " }.count
            let rest = String(String.UnicodeScalarView(line.dropFirst(leading)))
            index += 1
            if rest.isEmpty || rest.hasPrefix("#") { continue }
            if leading < indent || rest.hasPrefix("---") { break }  // left the mapping
            guard leading == indent else { continue }
            for spelling in [key, "\"\(key)\"", "'\(key)'"] where rest.hasPrefix(spelling) {
                let after = rest.dropFirst(spelling.count).drop { $0 == " " }
                if after.hasPrefix(":") {
                    return Diagnostic(
                        "duplicate key '\(key)' in mapping; first defined at \(firstLocation)",
                        at: SourceLocation(file: file, line: index, column: leading + 1))
                }
            }
        }
        let list = keys.map { "'\($0)'" }.joined(separator: ", ")
        return Diagnostic("duplicate key \(list) in mapping; each key may appear only once", at: firstLocation)
    }
}
