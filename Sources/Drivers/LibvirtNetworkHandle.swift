internal import CLibvirt
import Foundation
import Spec

/// Owns one `virNetworkPtr`.
final class LibvirtNetwork: @unchecked Sendable {
    private let pointer: virNetworkPtr

    init(_ pointer: virNetworkPtr) { self.pointer = pointer }
    deinit { virNetworkFree(pointer) }

    var name: String { virNetworkGetName(pointer).map { String(cString: $0) } ?? "" }

    var uuid: String {
        var buffer = [CChar](repeating: 0, count: Int(VIR_UUID_STRING_BUFLEN))
        guard virNetworkGetUUIDString(pointer, &buffer) == 0 else { return "" }
        return String(cString: buffer)
    }

    var isActive: Bool { virNetworkIsActive(pointer) == 1 }

    func autostart() throws -> Bool {
        var value: Int32 = 0
        guard virNetworkGetAutostart(pointer, &value) == 0 else {
            throw LibvirtConnection.lastError(.operation, "cannot read whether network \(name) is autostarted")
        }
        return value != 0
    }

    /// The persistent definition (what the next start uses), or the running one.
    func xml(inactive: Bool) throws -> String {
        let name = self.name
        let flags = inactive ? UInt32(VIR_NETWORK_XML_INACTIVE.rawValue) : 0
        guard let raw = virNetworkGetXMLDesc(pointer, flags) else {
            throw LibvirtConnection.lastError(.operation, "cannot read the XML of network \(name)")
        }
        defer { free(raw) }
        return String(cString: raw)
    }

    func start() throws { try check(virNetworkCreate(pointer), "cannot start network") }
    func stop() throws { try check(virNetworkDestroy(pointer), "cannot stop network") }
    func undefine() throws { try check(virNetworkUndefine(pointer), "cannot undefine network") }
    func setAutostart() throws { try check(virNetworkSetAutostart(pointer, 1), "cannot mark as autostarted: network") }

    enum UpdateCommand { case add, delete }
    enum UpdateSection { case dhcpHost, dhcpRange }

    /// Adds or deletes one `<host>` or `<range>` of the first `<ip>`'s DHCP on the running network only:
    /// its persistent definition is redefined separately.
    func updateLive(_ command: UpdateCommand, _ section: UpdateSection, xml: String) throws {
        let commandValue = switch command {
        case .add: VIR_NETWORK_UPDATE_COMMAND_ADD_LAST.rawValue
        case .delete: VIR_NETWORK_UPDATE_COMMAND_DELETE.rawValue
        }
        let sectionValue = switch section {
        case .dhcpHost: VIR_NETWORK_SECTION_IP_DHCP_HOST.rawValue
        case .dhcpRange: VIR_NETWORK_SECTION_IP_DHCP_RANGE.rawValue
        }
        let result = virNetworkUpdate(pointer, UInt32(commandValue), UInt32(sectionValue), -1, xml,
                                      UInt32(VIR_NETWORK_UPDATE_AFFECT_LIVE.rawValue))
        try check(result, "cannot \(command == .add ? "add" : "delete") \(xml.trimmingCharacters(in: .whitespacesAndNewlines)) live on network")
    }

    /// Every lease dnsmasq holds on the network.
    func dhcpLeases() throws -> [DHCPLease] {
        let name = self.name
        var list: UnsafeMutablePointer<virNetworkDHCPLeasePtr?>?
        let count = virNetworkGetDHCPLeases(pointer, nil, &list, 0)
        guard count >= 0 else { throw LibvirtConnection.lastError(.operation, "cannot read the DHCP leases of network \(name)") }
        guard let list else { return [] }
        defer {
            for index in 0..<Int(count) { virNetworkDHCPLeaseFree(list[index]) }
            free(list)
        }
        return (0..<Int(count)).compactMap { index in
            guard let lease = list[index]?.pointee, let mac = lease.mac, let ip = lease.ipaddr else { return nil }
            return DHCPLease(network: name, mac: String(cString: mac).lowercased(), ip: String(cString: ip), prefix: Int(lease.prefix),
                             hostname: lease.hostname.map { String(cString: $0) },
                             expires: Date(timeIntervalSince1970: TimeInterval(lease.expirytime)))
        }
    }

    private func check(_ result: Int32, _ what: @autoclosure () -> String) throws {
        guard result == 0 else { throw LibvirtConnection.lastError(.operation, "\(what()) \(name)") }
    }
}

extension LibvirtConnection {
    func allNetworks() throws -> [LibvirtNetwork] {
        var list: UnsafeMutablePointer<virNetworkPtr?>?
        let count = virConnectListAllNetworks(pointer, &list, 0)
        guard count >= 0 else { throw LibvirtConnection.lastError(.connection, "cannot list networks on \(uri)") }
        guard let list else { return [] }
        defer { free(list) }
        return (0..<Int(count)).compactMap { list[$0].map(LibvirtNetwork.init) }
    }

    func network(named name: String) throws -> LibvirtNetwork {
        guard let raw = virNetworkLookupByName(pointer, name) else {
            throw LibvirtConnection.lastError(.notFound, "network \(name) on \(uri)")
        }
        return LibvirtNetwork(raw)
    }

    func defineNetwork(xml: String) throws -> LibvirtNetwork {
        guard let raw = virNetworkDefineXMLFlags(pointer, xml, UInt32(VIR_NETWORK_DEFINE_VALIDATE.rawValue)) else {
            throw LibvirtConnection.lastError(.operation, "libvirt refused the network definition")
        }
        return LibvirtNetwork(raw)
    }
}
