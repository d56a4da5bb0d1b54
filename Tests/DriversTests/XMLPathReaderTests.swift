import Testing
@testable import Drivers

@Suite("XML path reader")
struct XMLPathReaderTests {
    @Test func pathsNamespacesAndOwnText() throws {
        var events: [String] = []
        try XMLPathReader.read("<a x='1'><b> one <c>two</c> three </b><n:d xmlns:n='urn:n'/></a>", what: "test") { path, attributes in
            events.append("start \(path.joined(separator: "/")) \(attributes.sorted { $0.key < $1.key })")
        } end: { path, text in
            events.append("end \(path.joined(separator: "/")) '\(text)'")
        }
        #expect(events == [
            #"start a [(key: "x", value: "1")]"#, "start a/b []", "start a/b/c []", "end a/b/c 'two'", "end a/b ' one  three '",
            "start a/{urn:n}d []", "end a/{urn:n}d ''", "end a ''",
        ])
    }

    @Test func aCallbackErrorStopsTheReadAndIsThrownAsIs() {
        struct Stop: Error {}
        var ends = 0
        #expect(throws: Stop.self) {
            try XMLPathReader.read("<a><b/><c/></a>", what: "test") { _, _ in } end: { _, _ in
                ends += 1
                throw Stop()
            }
        }
        #expect(ends == 1)
    }

    @Test("not well formed or cut short", arguments: ["<a><b></a>", "<a><b/>", "text", "<a/><b/>"])
    func rejects(xml: String) {
        let error = #expect(throws: DriverError.self) { try XMLPathReader.read(xml, what: "test") { _, _ in } end: { _, _ in } }
        #expect(error?.message.hasPrefix("cannot parse test XML: it is not well formed or is truncated (parser error") == true)
    }

    /// What FoundationXML on Linux reports as parsed, and is not a document.
    @Test("empty or stopping before the root closes", arguments: ["", "<a>"])
    func rejectsWhatTheParserAccepts(xml: String) {
        let error = #expect(throws: DriverError.self) { try XMLPathReader.read(xml, what: "test") { _, _ in } end: { _, _ in } }
        #expect(error?.message == "cannot parse test XML: it ends before its root element is closed; it is empty or truncated")
    }
}
