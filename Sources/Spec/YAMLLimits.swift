import Foundation
import Yams

/// What one load may make the YAML parser do. A small file must not expand into billions of
/// nodes (an alias bomb), nor a large one into gigabytes of memory; each limit is refused
/// with a located error before the work it guards.
enum YAMLLimits {
    /// Per manifest file; fleets split their manifests long before this.
    static let maximumFileBytes = 4 << 20
    /// All manifest files of one load together.
    static let maximumTotalBytes = 64 << 20
    static let maximumDocumentsPerFile = 10_000
    /// Nodes of one document with every alias expanded.
    static let maximumNodesPerDocument = 100_000

    /// `4MiB`, `5000 bytes`, `47.7MiB`: exact when it is a KiB multiple, else close enough to compare.
    static func shown(_ bytes: Int) -> String {
        if bytes % 1024 == 0 { return ByteCount(bytes: UInt64(bytes)).description }
        return bytes < 1 << 20 ? "\(bytes) bytes" : String(format: "%.1fMiB", Double(bytes) / Double(1 << 20))
    }

    /// The line and column of the first byte that is not UTF-8, or nil when all of `data` is.
    static func firstInvalidUTF8(in data: Data) -> (line: Int, column: Int)? {
        var parser = Unicode.UTF8.ForwardParser()
        var bytes = data.makeIterator()
        var line = 1, column = 1
        while true {
            switch parser.parseScalar(from: &bytes) {
            case let .valid(encoded):
                if Unicode.UTF8.decode(encoded) == "\n" { line += 1; column = 1 } else { column += 1 }
            case .emptyInput:
                return nil
            case .error:
                return (line, column)
            }
        }
    }
}

/// Sizes YAML documents as if their aliases were expanded, without letting Yams expand them:
/// Yams hashes every mapping key whole, so a key that is an alias bomb never finishes.
///
/// Every `*` in the text first becomes a numbered placeholder (`*web` → `\u{E000}7\u{E001}web`).
/// The text then has no aliases and parses in linear time; a plain scalar starting with the
/// placeholder stands where an alias was and weighs what its anchor does. The numbers keep
/// repeated alias keys distinct and say where in the original text each alias was.
struct AliasExpansion {
    /// The document (0-based) whose expansion passes the limit, and where the alias that made it pass is.
    struct Excess {
        var document: Int
        var alias: (line: Int, column: Int)?
    }

    private static let open: Unicode.Scalar = "\u{E000}"
    private static let close: Unicode.Scalar = "\u{E001}"
    private let limit: Int
    /// Where each `*` of the original text is, by its number.
    private let positions: [(line: Int, column: Int)]
    /// Expanded sizes by anchor name. Yams keeps anchors across the documents of a file; so does this.
    private var anchors: [String: Int] = [:]
    private var total = 0
    private var crossing: (line: Int, column: Int)?

    /// Nil when every document stays within `limit`, or when the text has no aliases to expand.
    /// A text that does not parse is left to the real parse, which reports where.
    static func excess(in text: String, limit: Int = YAMLLimits.maximumNodesPerDocument) -> Excess? {
        guard text.contains("*"), text.contains("&") else { return nil }
        var neutral = String.UnicodeScalarView()
        var positions: [(line: Int, column: Int)] = []
        var line = 1, column = 1
        for scalar in text.unicodeScalars {
            if scalar == "*" {
                neutral.append(open)
                neutral.append(contentsOf: String(positions.count).unicodeScalars)
                neutral.append(close)
                positions.append((line, column))
            } else {
                neutral.append(scalar)
            }
            if scalar == "\n" { line += 1; column = 1 } else { column += 1 }
        }
        var counter = AliasExpansion(limit: limit, positions: positions)
        var document = 0
        do {
            let parser = try Parser(yaml: String(neutral))
            while let root = try parser.nextRoot() {
                counter.total = 0
                counter.crossing = nil
                _ = counter.size(of: root)
                if counter.total > limit { return Excess(document: document, alias: counter.crossing) }
                document += 1
            }
        } catch {
            return nil
        }
        return nil
    }

    private init(limit: Int, positions: [(line: Int, column: Int)]) {
        self.limit = limit
        self.positions = positions
    }

    /// The expanded size of `node`, at most `limit + 1`; adds it to the document's total as it goes.
    private mutating func size(of node: Node) -> Int {
        let cap = limit + 1
        var size = 1
        switch node {
        case let .scalar(scalar):
            if scalar.style == .plain, let (number, anchor) = Self.alias(scalar.string) {
                size = anchors[anchor] ?? 1
                let before = total
                total = min(cap, total + size)
                if before <= limit, total > limit, crossing == nil, positions.indices.contains(number) { crossing = positions[number] }
                return size
            }
            total = min(cap, total + 1)
        case let .sequence(sequence):
            total = min(cap, total + 1)
            for item in sequence { size = min(cap, size + self.size(of: item)) }
        case let .mapping(mapping):
            total = min(cap, total + 1)
            for (key, value) in mapping {
                size = min(cap, size + self.size(of: key) + self.size(of: value))
            }
        case .alias:
            total = min(cap, total + 1)
        }
        if let anchor = node.anchor { anchors[anchor.rawValue] = size }
        return size
    }

    /// The number and anchor name of a placeholder. libyaml's anchor names are letters, digits,
    /// `-` and `_`, so the name is those that follow and no anchor name holds a placeholder.
    private static func alias(_ text: String) -> (number: Int, anchor: String)? {
        let scalars = Array(text.unicodeScalars)
        guard scalars.first == open, let end = scalars.firstIndex(of: close),
              let number = Int(String(String.UnicodeScalarView(scalars[1..<end]))) else { return nil }
        let name = scalars[(end + 1)...].prefix { $0.isASCII && ($0.properties.isAlphabetic || ("0"..."9").contains($0) || $0 == "-" || $0 == "_") }
        return (number, String(String.UnicodeScalarView(name)))
    }
}
