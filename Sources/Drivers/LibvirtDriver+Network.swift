import Foundation
import Spec

extension LibvirtDriver: NetworkHost {
    public func observeNetworks() async throws -> [ObservedNetwork] {
        try await blocking { [connection, hostName] in
            var observed: [ObservedNetwork] = []
            for network in try connection.allNetworks() {
                // A network someone else removes between the listing and these reads is skipped.
                do {
                    let reading = try NetworkXML.read(network.xml(inactive: true), host: hostName)
                    observed.append(ObservedNetwork(name: reading.name, uuid: network.uuid, isActive: network.isActive,
                                                    autostart: try network.autostart(), owner: reading.owner, spec: reading.spec))
                } catch let error as DriverError where error.code == .notFound {
                    continue
                }
            }
            return observed
        }
    }

    public func createNetwork(_ spec: NetworkSpec, owner: String) async throws {
        let xml = try NetworkXML.make(for: spec, owner: owner)
        try await blocking { [connection] in
            if let existing = try? connection.network(named: spec.name) {
                throw DriverError(.operation, "a network named \(spec.name) already exists on \(connection.uri) (uuid \(existing.uuid))")
            }
            let network = try connection.defineNetwork(xml: xml)
            do {
                try network.start()
                try network.setAutostart()
            } catch {
                // Leave nothing half-made behind: the next plan starts from scratch.
                if network.isActive { try? network.stop() }
                try? network.undefine()
                throw error
            }
        }
    }

    public func updateNetwork(_ spec: NetworkSpec, owner: String, restart: Bool) async throws {
        try await blocking { [connection, hostName] in
            let network = try connection.network(named: spec.name)
            try Self.checkOwned(network, owner: owner, on: connection)
            // What the running network has now, before its definition moves on.
            let running = network.isActive ? try NetworkXML.read(network.xml(inactive: false), host: hostName).spec : nil
            _ = try connection.defineNetwork(xml: NetworkXML.make(for: spec, uuid: network.uuid, owner: owner))
            if let running {
                if restart {
                    try network.stop()
                    try network.start()
                } else {
                    try Self.updateDHCPLive(network, from: running, to: spec)
                }
            } else {
                try network.start()
            }
            try network.setAutostart()
        }
    }

    public func deleteNetwork(_ name: String, owner: String) async throws {
        try await blocking { [connection] in
            let network = try connection.network(named: name)
            try Self.checkOwned(network, owner: owner, on: connection)
            // Both definitions: a running domain keeps a NIC its persistent config already dropped.
            for domain in try connection.allDomains() {
                let definitions = [try? domain.xml(inactive: true), domain.id == nil ? nil : try? domain.xml(inactive: false)]
                for xml in definitions.compactMap({ $0 }) where try DomainXMLReader.read(xml).networks.contains(where: { $0.source == .network(name) }) {
                    throw DriverError(.operation, "network \(name) is still used by a NIC of domain \(domain.name); it was left untouched")
                }
            }
            if network.isActive { try network.stop() }
            try network.undefine()
        }
    }

    public func importNetwork(_ spec: NetworkSpec, uuid: String, owner: String) async throws {
        try await blocking { [connection, hostName] in
            let network = try connection.network(named: spec.name)
            guard network.uuid.lowercased() == uuid else {
                throw DriverError(.notOwned, "network \(spec.name) on \(connection.uri) has UUID \(network.uuid), not \(uuid) as the document "
                    + "imports; it was left untouched")
            }
            // Only the persistent definition is redefined: a running network keeps running as it is
            // (libvirt keeps the new definition for its next start), and its guests stay connected.
            let definition = try network.xml(inactive: true)
            _ = try connection.defineNetwork(xml: NetworkXML.addingMarker(to: definition, for: spec, owner: owner))
            let reading = try NetworkXML.read(network.xml(inactive: true), host: hostName)
            guard reading.owner?.state == owner else {
                throw DriverError(.operation, "network \(spec.name) on \(connection.uri) was redefined with vmplan's marker, but does not show it")
            }
        }
    }

    public func dhcpLeases(network name: String) async throws -> [DHCPLease] {
        try await blocking { [connection] in try connection.network(named: name).dhcpLeases() }
    }

    /// Refuses a network unless its marker names it and the state `owner`: the last line of
    /// defence for the host's own networks.
    private static func checkOwned(_ network: LibvirtNetwork, owner: String, on connection: LibvirtConnection) throws {
        let reading = try NetworkXML.read(network.xml(inactive: true), host: "")
        guard let marker = reading.owner, marker.resource == reading.name, marker.state == owner else {
            throw DriverError(.notOwned, "network \(network.name) on \(connection.uri) is not managed by this vmplan state; it was left untouched")
        }
    }

    /// Brings the running network's DHCP hosts and range to `spec`'s: removals first, so that an
    /// address or MAC that moves between entries is free when it is added again.
    private static func updateDHCPLive(_ network: LibvirtNetwork, from running: NetworkSpec, to spec: NetworkSpec) throws {
        let old = running.dhcp ?? DHCPSpec(), new = spec.dhcp ?? DHCPSpec()
        for host in old.hosts where !new.hosts.contains(host) {
            try network.updateLive(.delete, .dhcpHost, xml: NetworkXML.host(host))
        }
        if old.range != new.range {
            if let range = old.range { try network.updateLive(.delete, .dhcpRange, xml: NetworkXML.range(range)) }
            if let range = new.range { try network.updateLive(.add, .dhcpRange, xml: NetworkXML.range(range)) }
        }
        for host in new.hosts where !old.hosts.contains(host) {
            try network.updateLive(.add, .dhcpHost, xml: NetworkXML.host(host))
        }
    }
}
