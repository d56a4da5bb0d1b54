import Yams

/// `spec.graphics`: a VNC or SPICE display on a listen address, or none.
extension DocumentDecoder {
    static let graphicsFields = ["type", "listen"]
    static let graphicsTypes = GraphicsSpec.Kind.allCases.map(\.rawValue) + ["none"]

    /// `.some(nil)` for `type: none`; nil when invalid.
    static func decodeGraphics(_ node: Node, checker: inout NodeChecker) -> GraphicsSpec?? {
        guard let fields = checker.fields(of: node, what: "graphics", allowed: graphicsFields, required: ["type"]),
              let typeField = fields["type"] else { return nil }
        guard let text = typeField.value.scalarText, graphicsTypes.contains(text) else {
            let hint = typeField.value.scalarText.map { DidYouMean.hint(for: $0, among: graphicsTypes) } ?? ""
            checker.error("graphics.type must be one of \(graphicsTypes.joined(separator: ", ")); got \(typeField.value.shownInMessage)\(hint)",
                          at: typeField.value)
            return nil
        }
        guard let kind = GraphicsSpec.Kind(rawValue: text) else {
            if let listen = fields["listen"] {
                checker.error("graphics.listen goes with type vnc or spice; type none has no display to listen for", at: listen.key)
                return nil
            }
            return .some(nil)
        }
        var graphics = GraphicsSpec(type: kind)
        if let field = fields["listen"] {
            guard let address = checker.string(field, name: "graphics.listen") else { return nil }
            guard let canonical = ListenAddress.canonical(address) else {
                checker.error("graphics.listen must be an IP address such as 127.0.0.1 (this host only, the default) or ::1; "
                    + "got '\(address)'. An address beyond loopback lets anyone who reaches it see the VM's screen", at: field.value)
                return nil
            }
            graphics.listen = canonical
        }
        return graphics
    }
}
