import Foundation

/// `spec.graphics` (KVM): a remote display for the VM. No graphics (the default) means no display
/// device at all; the serial console is always there.
public struct GraphicsSpec: Sendable, Hashable, Codable {
    public enum Kind: String, Sendable, Hashable, Codable, CaseIterable {
        case vnc
        case spice
    }

    /// The address a display listens on when the manifest names none: this host only.
    public static let loopback = "127.0.0.1"

    public var type: Kind
    /// An IP address in its canonical spelling (`ListenAddress.canonical`).
    public var listen: String

    public init(type: Kind, listen: String = GraphicsSpec.loopback) {
        self.type = type
        self.listen = listen
    }

    /// Whether only this host can reach the display.
    public var isLoopback: Bool { ListenAddress.isLoopback(listen) }

    /// `vnc on 127.0.0.1`
    public var summary: String { "\(type.rawValue) on \(listen)" }
}

/// The IP address a VNC or SPICE server binds to: validated before it reaches domain XML.
public enum ListenAddress {
    /// The address as `inet_ntop` writes it (`::1` for `0:0::1`), or nil when `text` is not a
    /// plain IPv4 or IPv6 address (a host name, a CIDR, a leading zero are all refused).
    public static func canonical(_ text: String) -> String? {
        if text.contains(":") {
            var address = in6_addr()
            guard inet_pton(AF_INET6, text, &address) == 1 else { return nil }
            var buffer = [CChar](repeating: 0, count: Int(INET6_ADDRSTRLEN))
            guard inet_ntop(AF_INET6, &address, &buffer, socklen_t(buffer.count)) != nil else { return nil }
            return String(cString: buffer)
        }
        var address = in_addr()
        guard inet_pton(AF_INET, text, &address) == 1 else { return nil }
        return text
    }

    /// 127.0.0.0/8 and ::1.
    public static func isLoopback(_ address: String) -> Bool {
        address == "::1" || address.hasPrefix("127.")
    }
}
