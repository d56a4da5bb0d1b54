internal import CLibvirt
import Foundation
import Spec

extension LibvirtDriver {
    /// A running domain goes live and peer to peer (this host's libvirtd connects to the
    /// destination's URI itself, so that URI must work from here), persistent on the destination
    /// and undefined here in the same call; with volumes, their data is mirrored over too
    /// (`--copy-storage-all`). A shut-off one has its volumes streamed over (download here, upload
    /// there), then is defined on the destination from its persistent definition (same UUID and
    /// marker) and undefined here. Autostart goes along. The volumes here are left as they are.
    public func migrate(_ name: String, to destination: any Hypervisor, volumes: [VolumeMove], progress: ProgressHandler?) async throws {
        guard let destination = destination as? LibvirtDriver, destination.flavour == flavour, flavour == .kvm else {
            throw DriverError(.operation, "cannot migrate \(name) from \(hostName) to \(destination.hostName): both must be KVM hosts reached through libvirt")
        }
        try await blocking { [connection, flavour, hostName] in
            let domain = try connection.domain(named: name)
            try Self.owned(domain, on: connection)
            if let existing = try? destination.connection.domain(named: name) {
                throw DriverError(.operation, "a domain named \(name) already exists on \(destination.uri) (uuid \(existing.uuid))")
            }
            // The destination's volumes must be there before anything moves: libvirt would
            // otherwise make its own, which vmplan did not record.
            let copies = try volumes.map { move in
                let source = try connection.pool(named: move.pool).volume(named: move.volume)
                let target = try destination.connection.pool(named: move.pool).volume(named: move.volume)
                return (move, source, target)
            }
            // Autostart is the host's, not the domain XML's: it does not travel with the domain.
            let autostart = try domain.autostart()
            if domain.id != nil {
                let what = volumes.isEmpty ? "" : " with its volumes (\(volumes.map(\.volume).joined(separator: ", ")))"
                progress?("\(name): migrating live from \(hostName) to \(destination.hostName)\(what)")
                try domain.migrateLive(to: destination.uri, copyingStorage: !volumes.isEmpty)
            } else {
                for (move, source, target) in copies {
                    progress?("\(name): copying volume \(move.volume) from \(hostName) to \(destination.hostName)")
                    try source.copy(to: target, from: connection, into: destination.connection)
                }
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
    /// (virDomainMigrate3 refuses peer-to-peer); `copyingStorage` adds non-shared-disk: every
    /// writable disk is mirrored into the destination's volume of the same pool and name.
    func migrateLive(to uri: String, copyingStorage: Bool) throws {
        var flags = VIR_MIGRATE_LIVE.rawValue | VIR_MIGRATE_PEER2PEER.rawValue | VIR_MIGRATE_PERSIST_DEST.rawValue
            | VIR_MIGRATE_UNDEFINE_SOURCE.rawValue
        if copyingStorage { flags |= VIR_MIGRATE_NON_SHARED_DISK.rawValue }
        guard virDomainMigrateToURI3(pointer, uri, nil, 0, UInt32(flags)) == 0 else {
            throw LibvirtConnection.lastError(.operation, "cannot migrate domain \(name) to \(uri)")
        }
    }
}
