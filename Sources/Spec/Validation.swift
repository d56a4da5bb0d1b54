import Yams

/// A key/value pair of a mapping, keeping the key node for "unknown field" locations.
struct Field {
    let key: Node
    let value: Node
}

/// Typed reads of YAML nodes. Each read either returns a value or records a diagnostic
/// at the offending node saying what would be valid, so one pass finds every problem.
struct NodeChecker {
    let document: YAMLDocument
    var log: DiagnosticLog

    static let maximumVcpus = 4096
    static let maximumLabelValueLength = 256
    static let maximumLabelKeyLength = 253
    static let labelKeyRule = "1 to 253 characters: letters, digits, '.', '_', '-' and '/', starting with a letter or digit"

    init(document: YAMLDocument, log: DiagnosticLog) {
        self.document = document
        self.log = log
    }

    mutating func error(_ message: String, at node: Node) {
        log.error(message, at: document.location(of: node))
    }

    /// The fields of a mapping node. Unknown keys and missing required ones are reported;
    /// known keys are returned even when others are wrong, so their values get checked too.
    mutating func fields(of node: Node, what: String, allowed: [String], required: [String]) -> [String: Field]? {
        guard case let .mapping(mapping) = node else {
            error("\(what) must be a mapping with fields \(allowed.joined(separator: ", ")); got \(node.shownInMessage)", at: node)
            return nil
        }
        var result: [String: Field] = [:]
        for (key, value) in mapping {
            guard case let .scalar(scalar) = key else {
                error("field names in \(what) must be plain words; got \(key.shownInMessage)", at: key)
                continue
            }
            let name = scalar.string
            guard allowed.contains(name) else {
                let hint = DidYouMean.suggestion(for: name, among: allowed)
                    .map { "did you mean '\($0)'?" } ?? "valid fields: \(allowed.joined(separator: ", "))"
                error("unknown field '\(name)' in \(what); \(hint)", at: key)
                continue
            }
            result[name] = Field(key: key, value: value)
        }
        for name in required where result[name] == nil {
            error("missing required field '\(name)' in \(what)", at: node)
        }
        return result
    }

    /// A string scalar. Unquoted numbers, booleans and nulls are refused rather than silently
    /// turned into text, because `name: 010` or `tier: yes` rarely mean what they look like.
    mutating func string(_ field: Field, name: String) -> String? {
        let node = field.value
        guard case let .scalar(scalar) = node, !node.isNull else {
            error("\(name) must be a string; got \(node.shownInMessage)", at: node)
            return nil
        }
        if let type = node.yamlTypeName {
            error("\(name) must be a string; got '\(scalar.string)', which YAML reads as \(type); quote it", at: node)
            return nil
        }
        // Such a character never survives libvirt's XML, so the value would differ on every plan.
        if let (index, character) = scalar.string.unicodeScalars.enumerated().first(where: { !NodeChecker.isXMLCharacter($0.element) }) {
            let code = "U+" + String(character.value, radix: 16, uppercase: true).leftPadded(to: 4)
            error("\(name) contains \(code) at character \(index + 1), which XML 1.0 cannot carry "
                + "(a control character or a Unicode non-character); remove it", at: node)
            return nil
        }
        return scalar.string
    }

    /// XML 1.0's Char production without the Unicode non-characters (U+FDD0…U+FDEF, U+xFFFE, U+xFFFF).
    static func isXMLCharacter(_ scalar: Unicode.Scalar) -> Bool {
        let value = scalar.value
        if value < 0x20 { return value == 0x9 || value == 0xA || value == 0xD }
        return !(0xFDD0...0xFDEF).contains(value) && value & 0xFFFE != 0xFFFE
    }

    /// `010` is 8 to YAML 1.1 and 10 to YAML 1.2 and to people: refuse the guess.
    static func leadingZeroHint(_ text: String) -> String? {
        guard text.count > 1, text.first == "0", text.allSatisfy({ $0.isASCII && $0.isNumber }),
              let decimal = Int(text) else { return nil }
        if let octal = Int(text, radix: 8), octal != decimal { return "write \(octal) or \(decimal)" }
        return "write \(decimal)"
    }

    mutating func integer(_ field: Field, name: String, range: ClosedRange<Int>) -> Int? {
        let node = field.value
        if case let .scalar(scalar) = node, scalar.style == .plain, let hint = NodeChecker.leadingZeroHint(scalar.string) {
            error("\(name) '\(scalar.string)' is ambiguous: YAML 1.1 reads a leading zero as octal; \(hint)", at: node)
            return nil
        }
        let expected = "\(name) must be an integer from \(range.lowerBound) to \(range.upperBound)"
        guard case let .scalar(scalar) = node, node.tagName == Tag.Name.int.rawValue,
              let value = Int(scalar.string), range.contains(value) else {
            error("\(expected); got \(node.shownInMessage)", at: node)
            return nil
        }
        return value
    }

    mutating func choice<E: RawRepresentable & CaseIterable>(_ field: Field, name: String, as _: E.Type) -> E?
    where E.RawValue == String {
        let node = field.value
        let valid = E.allCases.map(\.rawValue)
        if case let .scalar(scalar) = node, let value = E(rawValue: scalar.string) { return value }
        let got = node.shownInMessage
        let hint = node.scalarText.map { DidYouMean.hint(for: $0, among: valid) } ?? ""
        error("\(name) must be one of \(valid.joined(separator: ", ")); got \(got)\(hint)", at: node)
        return nil
    }

    mutating func boolean(_ field: Field, name: String) -> Bool? {
        let node = field.value
        guard case let .scalar(scalar) = node, node.tagName == Tag.Name.bool.rawValue,
              let value = ["true": true, "false": false][scalar.string.lowercased()] else {
            error("\(name) must be true or false; got \(node.shownInMessage)", at: node)
            return nil
        }
        return value
    }

    /// A list of names, each one of `valid` (with a did-you-mean), without repeats.
    mutating func words(_ field: Field, name: String, among valid: [String]) -> [String]? {
        guard case let .sequence(sequence) = field.value else {
            error("\(name) must be a list of field names such as [memory, vcpus]; got \(field.value.shownInMessage)", at: field.value)
            return nil
        }
        var words: [String] = []
        var ok = true
        for item in sequence {
            guard let word = string(Field(key: item, value: item), name: "an entry of \(name)") else { ok = false; continue }
            if !valid.contains(word) {
                error("\(name) cannot name '\(word)'; valid: \(valid.joined(separator: ", "))\(DidYouMean.hint(for: word, among: valid))", at: item)
                ok = false
            } else if !words.contains(word) {
                words.append(word)
            }
        }
        return ok ? words : nil
    }

    /// A memory size with a binary unit. Bare numbers are refused: nobody should guess the unit.
    mutating func size(_ field: Field, name: String) -> ByteCount? {
        let node = field.value
        let text = node.scalarText ?? ""
        guard !node.isNull, let size = node.scalarText.flatMap(ByteCount.init(parsing:)), size <= NodeChecker.maximumSize else {
            if NodeChecker.isOverMaximumSize(text) {
                error("\(name) must be at most \(NodeChecker.maximumSize); got '\(text)'", at: node)
                return nil
            }
            let got = node.scalarText == nil || node.isNull ? node.shownInMessage : "'\(text)'"
            let hint = NodeChecker.unitSuggestion(for: text).map { "; did you mean '\($0)'?" } ?? ""
            error("\(name) must be a size with a binary unit such as 512MiB or 8GiB; got \(got)\(hint)", at: node)
            return nil
        }
        if size.bytes == 0 {
            error("\(name) must be greater than zero; got '\(text)'", at: node)
            return nil
        }
        if size.bytes % 1024 != 0 {
            error("\(name) must be a whole number of KiB (libvirt's unit); got '\(text)'", at: node)
            return nil
        }
        return size
    }

    /// Larger than any host vmplan drives, and far below where ByteCount overflows.
    static let maximumSize = ByteCount(bytes: 16 << 40)

    /// A size in a known unit whose number is past `maximumSize` (or past what ByteCount holds).
    static func isOverMaximumSize(_ text: String) -> Bool {
        let trimmed = text.trimmingCharacters(in: .whitespaces)
        guard let unit = ByteCount.units.first(where: { trimmed.hasSuffix($0.suffix) }),
              let number = Double(trimmed.dropLast(unit.suffix.count).trimmingCharacters(in: .whitespaces)),
              number.isFinite, number >= 0 else { return false }
        return number * Double(unit.factor) > Double(maximumSize.bytes)
    }

    /// `8GB`, `8G`, `8gib`, `8 Gi` → `8GiB`. A bare number gets no suggestion on purpose.
    static func unitSuggestion(for text: String) -> String? {
        let trimmed = text.trimmingCharacters(in: .whitespaces)
        let number = String(trimmed.prefix { $0.isASCII && ($0.isNumber || $0 == ".") })
        let unit = trimmed.dropFirst(number.count).trimmingCharacters(in: .whitespaces).lowercased()
        guard !number.isEmpty, let letter = unit.first,
              ["", "b", "i", "ib"].contains(String(unit.dropFirst())) else { return nil }
        let prefixes: [Character: String] = ["k": "KiB", "m": "MiB", "g": "GiB", "t": "TiB"]
        guard let suffix = prefixes[letter] else { return nil }
        let suggestion = number + suffix
        return ByteCount(parsing: suggestion) == nil ? nil : suggestion
    }

    /// `metadata.labels` (or a label selector): a string→string mapping with conservative keys.
    mutating func labels(_ field: Field, name: String = "metadata.labels") -> [String: String]? {
        guard case let .mapping(mapping) = field.value else {
            error("\(name) must be a mapping of strings to strings; got \(field.value.shownInMessage)", at: field.value)
            return nil
        }
        var labels: [String: String] = [:]
        var valid = true
        for (key, value) in mapping {
            guard let name = string(Field(key: key, value: key), name: "a label key") else { valid = false; continue }
            if !NodeChecker.isValidLabelKey(name) {
                error("label key '\(name)' is invalid: \(NodeChecker.labelKeyRule)", at: key)
                valid = false
            }
            guard let text = string(Field(key: key, value: value), name: "label '\(name)'") else { valid = false; continue }
            if text.unicodeScalars.count > NodeChecker.maximumLabelValueLength
                || text.unicodeScalars.contains(where: { $0.properties.generalCategory == .control }) {
                error("label '\(name)' value is invalid: at most \(NodeChecker.maximumLabelValueLength) characters, no control characters", at: value)
                valid = false
            }
            labels[name] = text
        }
        return valid ? labels : nil
    }

    static func isValidLabelKey(_ key: String) -> Bool {
        let scalars = key.unicodeScalars
        guard let first = scalars.first, scalars.count <= maximumLabelKeyLength else { return false }
        func alphanumeric(_ s: Unicode.Scalar) -> Bool {
            ("a"..."z").contains(s) || ("A"..."Z").contains(s) || ("0"..."9").contains(s)
        }
        return alphanumeric(first) && scalars.allSatisfy { alphanumeric($0) || "._-/".unicodeScalars.contains($0) }
    }

    /// A libvirt connection URI such as `qemu:///system` or `qemu+ssh://root@kvm-01/system`.
    static func isPlausibleURI(_ uri: String) -> Bool {
        !uri.isEmpty && uri.contains(":")
            && !uri.unicodeScalars.contains { $0.properties.isWhitespace || $0.properties.generalCategory == .control }
    }
}

extension String {
    func leftPadded(to width: Int) -> String { String(repeating: "0", count: max(0, width - count)) + self }
}

extension Node {
    var scalarText: String? {
        if case let .scalar(scalar) = self { return scalar.string }
        return nil
    }
}
