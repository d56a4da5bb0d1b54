import Foundation
#if canImport(FoundationXML)
import FoundationXML
#endif

/// Reads an XML document in one pass and calls back with each element's path from the root:
/// `start` at its start tag with its attributes, `end` at its end tag with its own text, untrimmed.
/// An element in a namespace is named `{uri}name`. A document that is not well formed, or that
/// stops before its root element is closed, is rejected: FoundationXML on Linux accepts some
/// truncated documents as parsed.
enum XMLPathReader {
    /// How an element appears in the path, from its name and attributes.
    typealias Naming = (_ name: String, _ attributes: [String: String]) -> String

    /// - Parameter what: what the document is, for the error message ("domain", "pool").
    /// - Parameter naming: by default an element's name; a reader may add an attribute to tell
    ///   apart elements that share a name (node devices' `<capability type=...>`).
    /// - Throws: `DriverError(.operation)` for a document that cannot be read; what `start` or
    ///   `end` throws, unchanged, after which the document is read no further.
    static func read(
        _ xml: String, what: String,
        naming: Naming = { name, _ in name },
        start: (_ path: [String], _ attributes: [String: String]) throws -> Void,
        end: (_ path: [String], _ text: String) throws -> Void
    ) throws {
        try withoutActuallyEscaping(naming) { naming in
            try withoutActuallyEscaping(start) { start in
                try withoutActuallyEscaping(end) { end in
                    try parse(xml, what: what, Delegate(naming: naming, start: start, end: end))
                }
            }
        }
    }

    private static func parse(_ xml: String, what: String, _ delegate: Delegate) throws {
        let parser = XMLParser(data: Data(xml.utf8))
        parser.shouldProcessNamespaces = true
        parser.delegate = delegate
        let parsed = parser.parse()
        if let failure = delegate.failure { throw failure }
        let inside = delegate.path.isEmpty ? "" : " inside <\(delegate.path.joined(separator: "><"))>"
        if !parsed || parser.parserError != nil {
            let code = (parser.parserError as NSError?).map { "parser error \($0.code)" } ?? "parser error"
            throw DriverError(.operation, "cannot parse \(what) XML: it is not well formed or is truncated "
                + "(\(code) at line \(parser.lineNumber), column \(parser.columnNumber)\(inside))")
        }
        guard delegate.rootClosed else {
            throw DriverError(.operation, "cannot parse \(what) XML: it ends\(inside) before its root element is closed; it is empty or truncated")
        }
    }

    private final class Delegate: NSObject, XMLParserDelegate {
        let naming: Naming
        let start: ([String], [String: String]) throws -> Void
        let end: ([String], String) throws -> Void
        private(set) var path: [String] = []
        /// The text of each open element, innermost last.
        private var texts: [String] = []
        private(set) var rootClosed = false
        private(set) var failure: (any Error)?

        init(naming: @escaping Naming, start: @escaping ([String], [String: String]) throws -> Void,
             end: @escaping ([String], String) throws -> Void) {
            self.naming = naming
            self.start = start
            self.end = end
        }

        func parser(_ parser: XMLParser, didStartElement name: String, namespaceURI: String?,
                    qualifiedName: String?, attributes: [String: String] = [:]) {
            guard failure == nil else { return }
            let qualified = namespaceURI.flatMap { $0.isEmpty ? nil : "{\($0)}\(name)" } ?? name
            path.append(naming(qualified, attributes))
            texts.append("")
            call(parser) { try start(path, attributes) }
        }

        func parser(_ parser: XMLParser, foundCharacters string: String) {
            guard !texts.isEmpty else { return }
            texts[texts.count - 1] += string
        }

        func parser(_ parser: XMLParser, didEndElement name: String, namespaceURI: String?, qualifiedName: String?) {
            guard failure == nil, !path.isEmpty else { return }
            let text = texts.removeLast()
            call(parser) { try end(path, text) }
            path.removeLast()
            rootClosed = path.isEmpty
        }

        private func call(_ parser: XMLParser, _ body: () throws -> Void) {
            do {
                try body()
            } catch {
                failure = error
                parser.abortParsing()
            }
        }
    }
}
