internal import CLibvirt
import Foundation
import Spec

extension LibvirtDriver {
    /// A running domain goes live and peer to peer (this host's libvirtd connects to the
    /// destination's URI itself, so that URI must work from here), persistent on the destination
    /// and undefined here in the same call. A shut-off one is defined on the destination from its
    /// persistent definition (same UUID and marker), then undefined here. Autostart goes along.
    public func migrate(_ name: String, to destination: any Hypervisor, progress: ProgressHandler?) async throws {
        guard let destination = destination as? LibvirtDriver, destination.flavour == flavour, flavour == .kvm else {
            throw DriverError(.operation, "cannot migrate \(name) from \(hostName) to \(destination.hostName): both must be KVM hosts reached through libvirt")
        }
        try await blocking { [connection, flavour, hostName] in
            let domain = try connection.domain(named: name)
            try Self.owned(domain, on: connection)
            if let existing = try? destination.connection.domain(named: name) {
                throw DriverError(.operation, "a domain named \(name) already exists on \(destination.uri) (uuid \(existing.uuid))")
            }
            // Autostart is the host's, not the domain XML's: it does not travel with the domain.
            let autostart = try domain.autostart()
            if domain.id != nil {
                progress?("\(name): migrating live from \(hostName) to \(destination.hostName)")
                try domain.migrateLive(to: destination.uri)
            } else {
                progress?("\(name): moving its definition from \(hostName) to \(destination.hostName)")
                _ = try destination.connection.define(xml: domain.xml(inactive: true), validate: true)
                try domain.undefine(flavour: flavour)
            }
            if autostart { try destination.connection.domain(named: name).setAutostart(true) }
        }
    }
}

extension LibvirtDomain {
    /// virDomainMigrateToURI3 with live, peer-to-peer, persist-destination and undefine-source
    /// (virDomainMigrate3 refuses peer-to-peer).
    func migrateLive(to uri: String) throws {
        let flags = VIR_MIGRATE_LIVE.rawValue | VIR_MIGRATE_PEER2PEER.rawValue | VIR_MIGRATE_PERSIST_DEST.rawValue
            | VIR_MIGRATE_UNDEFINE_SOURCE.rawValue
        guard virDomainMigrateToURI3(pointer, uri, nil, 0, UInt32(flags)) == 0 else {
            throw LibvirtConnection.lastError(.operation, "cannot migrate domain \(name) to \(uri)")
        }
    }
}
