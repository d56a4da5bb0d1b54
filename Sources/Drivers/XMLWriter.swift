/// Builds XML text where every attribute value and text node is escaped.
/// Element and attribute names are vmplan's own constants, never user input.
struct XMLWriter {
    private(set) var text = ""
    private var depth = 0
    private var stack: [String] = []

    mutating func open(_ name: String, _ attributes: [(String, String)] = []) {
        indent()
        text += "<\(name)\(Self.render(attributes))>\n"
        stack.append(name)
        depth += 1
    }

    mutating func close() {
        guard let name = stack.popLast() else { return }
        depth -= 1
        indent()
        text += "</\(name)>\n"
    }

    mutating func element(_ name: String, _ attributes: [(String, String)] = [], text content: String? = nil) {
        indent()
        if let content {
            text += "<\(name)\(Self.render(attributes))>\(Self.escape(content))</\(name)>\n"
        } else {
            text += "<\(name)\(Self.render(attributes))/>\n"
        }
    }

    private mutating func indent() {
        text += String(repeating: "  ", count: depth)
    }

    private static func render(_ attributes: [(String, String)]) -> String {
        attributes.map { " \($0.0)='\(escape($0.1))'" }.joined()
    }

    /// Escapes markup characters; characters XML 1.0 cannot carry at all become U+FFFD.
    static func escape(_ value: String) -> String {
        var out = ""
        out.reserveCapacity(value.utf8.count)
        for scalar in value.unicodeScalars {
            switch scalar {
            case "&": out += "&amp;"
            case "<": out += "&lt;"
            case ">": out += "&gt;"
            case "'": out += "&apos;"
            case "\"": out += "&quot;"
            case "\t", "\n", "\r": out.unicodeScalars.append(scalar)
            default:
                let v = scalar.value
                let legal = v >= 0x20 && v != 0xFFFE && v != 0xFFFF
                out.unicodeScalars.append(legal ? scalar : "\u{FFFD}")
            }
        }
        return out
    }
}
