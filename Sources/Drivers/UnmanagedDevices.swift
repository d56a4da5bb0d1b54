import Foundation
#if canImport(FoundationXML)
import FoundationXML
#endif

/// Devices someone added to a domain by hand (an rng, a watchdog, a NIC of a VM whose manifest has no
/// `networks`) are not vmplan's to drop: a redefine carries them over from the current config.
enum UnmanagedDevices {
    /// Device elements vmplan writes itself, or libvirt fills in again on every define (an `audio`
    /// backend for the display).
    static let managed: Set<String> = ["disk", "serial", "console", "hostdev", "memballoon", "controller", "input", "emulator",
                                       "graphics", "audio"]

    /// Interface types vmplan writes for a VM with `networks`; others (direct, user, vhostuser) stay someone else's.
    static let managedInterfaceTypes: Set<String> = ["network", "bridge"]

    /// The `<devices>` children of `current` that vmplan does not manage, as XML.
    /// - Parameters:
    ///   - managingInterfaces: whether the new definition writes the network and bridge interfaces (the
    ///     manifest has `networks`); if so the current ones are replaced, not kept twice.
    ///   - keepingVideo: whether the video card goes along: only for a display vmplan writes without a
    ///     card of its own (`graphics`, no display vGPU). A VM without graphics has no display at all.
    static func extract(from current: String, managingInterfaces: Bool = false, keepingVideo: Bool = true) throws -> [String] {
        let document: XMLDocument
        do {
            document = try XMLDocument(xmlString: current, options: [])
        } catch {
            throw DriverError(.operation, "cannot read the domain's current XML to keep its other devices: \(error)")
        }
        let devices = try document.nodes(forXPath: "/domain/devices/*")
        return devices.compactMap { node in
            guard node.kind == .element, let name = node.name, !managed.contains(name) else { return nil }
            if name == "video", !keepingVideo { return nil }
            // The guest agent's channel is vmplan's (`guestAgent`); other channels (SPICE's agent) are not.
            if name == "channel", let element = node as? XMLElement,
               (try? element.nodes(forXPath: "target[@name='\(ConsoleXML.guestAgentChannel)']").isEmpty) == false { return nil }
            if managingInterfaces, name == "interface", let element = node as? XMLElement,
               let type = element.attribute(forName: "type")?.stringValue, managedInterfaceTypes.contains(type) { return nil }
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
