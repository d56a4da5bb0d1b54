import Foundation
#if canImport(FoundationXML)
import FoundationXML
#endif

/// Devices someone added to a domain by hand (an rng, a watchdog, a NIC before vmplan manages
/// networks) are not vmplan's to drop: a redefine carries them over from the current config.
enum UnmanagedDevices {
    /// Device elements vmplan writes itself, or libvirt fills in again on every define.
    static let managed: Set<String> = ["disk", "serial", "console", "hostdev", "memballoon", "controller", "input", "emulator"]

    /// The `<devices>` children of `current` that vmplan does not manage, as XML.
    static func extract(from current: String) throws -> [String] {
        let document: XMLDocument
        do {
            document = try XMLDocument(xmlString: current, options: [])
        } catch {
            throw DriverError(.operation, "cannot read the domain's current XML to keep its other devices: \(error)")
        }
        let devices = try document.nodes(forXPath: "/domain/devices/*")
        return devices.compactMap { node in
            guard node.kind == .element, let name = node.name, !managed.contains(name) else { return nil }
            return node.xmlString
        }
    }

    /// `new` with `devices` appended to its `<devices>`.
    static func keeping(_ devices: [String], in new: String) throws -> String {
        guard !devices.isEmpty else { return new }
        guard let end = new.range(of: "</devices>", options: .backwards) else {
            throw DriverError(.operation, "the domain XML to define has no <devices> element")
        }
        return new.replacingCharacters(in: end.lowerBound..<end.lowerBound, with: devices.joined(separator: "\n") + "\n")
    }
}
