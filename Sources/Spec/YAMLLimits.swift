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
/// Every `*` in the text becomes a private-use character first (one character for one, so marks
/// stay where they were). The text then has no aliases, parses in linear time, and a plain
/// scalar starting with that character stands where an alias was; it weighs what its anchor does.
struct AliasExpansion {
    /// The document (0-based) whose expansion passes `limit`, and the alias that made it pass.
    struct Excess {
        var document: Int
        var alias: Mark?
    }

    private static let aliasMarker: Unicode.Scalar = "\u{E000}"
    private let limit: Int
    /// Expanded sizes by anchor name. Yams keeps anchors across the documents of a file; so does this.
    private var anchors: [String: Int] = [:]
    private var total = 0
    private var crossing: Mark?

    private init(limit: Int) { self.limit = limit }

    /// Nil when every document stays within `limit`, or when the text has no aliases to expand.
    /// A text that does not parse is left to the real parse, which reports where.
    static func excess(in text: String, limit: Int = YAMLLimits.maximumNodesPerDocument) -> Excess? {
        guard text.contains("*"), text.contains("&") else { return nil }
        var neutral = String.UnicodeScalarView()
        for scalar in text.unicodeScalars { neutral.append(scalar == "*" ? aliasMarker : scalar) }
        var counter = AliasExpansion(limit: limit)
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

    /// The expanded size of `node`, at most `limit + 1`; adds it to the document's total as it goes.
    private mutating func size(of node: Node) -> Int {
        let cap = limit + 1
        var size = 1
        switch node {
        case let .scalar(scalar):
            if scalar.style == .plain, scalar.string.unicodeScalars.first == Self.aliasMarker {
                size = anchors[Self.anchorName(scalar.string)] ?? 1
                let before = total
                total = min(cap, total + size)
                if before <= limit, total > limit, crossing == nil { crossing = node.mark }
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

    /// The anchor an alias names: the characters after `*` up to a space or a flow indicator.
    private static func anchorName(_ text: String) -> String {
        let name = text.unicodeScalars.dropFirst().prefix { !" \t,[]{}".unicodeScalars.contains($0) }
        return String(String.UnicodeScalarView(name))
    }
}
