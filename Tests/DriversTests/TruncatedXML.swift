import Testing
import Drivers

extension String {
    /// The document cut short just before (or after) the first `mark`: what a reader must refuse.
    func cut(before mark: String) -> String { String(self[..<range(of: mark)!.lowerBound]) }
    func cut(after mark: String) -> String { String(self[..<range(of: mark)!.upperBound]) }
}

/// Expects `read` to refuse `xml` with an operation error that names the document and says it may be truncated,
/// and, when given, the open elements where it stops (`<pool><target>`).
func expectTruncationRejected(_ xml: String, what: String, inside: String? = nil,
                              sourceLocation: SourceLocation = #_sourceLocation, _ read: (String) throws -> Void) {
    let error = #expect(throws: DriverError.self, sourceLocation: sourceLocation) { try read(xml) }
    #expect(error?.code == .operation, sourceLocation: sourceLocation)
    #expect(error?.message.hasPrefix("cannot parse \(what) XML: ") == true, sourceLocation: sourceLocation)
    #expect(error?.message.contains("truncated") == true, sourceLocation: sourceLocation)
    if let inside {
        #expect(error?.message.contains("inside \(inside)") == true, "says where it stops", sourceLocation: sourceLocation)
    }
}
