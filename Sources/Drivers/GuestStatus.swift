internal import CLibvirt
import Foundation

/// What a domain is doing right now, for `vmplan status`: libvirt's state and reason, the QEMU
/// guest agent's connection and the addresses its NICs have.
public struct GuestStatus: Sendable, Hashable {
    /// libvirt's domain state, with the states a reason refines (a pause for a migration).
    public enum Power: String, Sendable, Hashable, Codable {
        case running, paused, suspended, migrating, crashed
        case shuttingDown = "shutting-down"
        case shutOff = "shut-off"
        case unknown
    }

    public var power: Power
    /// The guest agent: nil without its channel, else whether the agent in the guest answers.
    public var agentConnected: Bool?
    public var addresses: [GuestAddress]

    public init(power: Power, agentConnected: Bool? = nil, addresses: [GuestAddress] = []) {
        self.power = power
        self.agentConnected = agentConnected
        self.addresses = addresses
    }
}

/// One IP address of a NIC, from the libvirt network's DHCP lease or from the guest agent.
public struct GuestAddress: Sendable, Hashable, Codable {
    public enum Source: String, Sendable, Hashable, Codable { case lease, agent }

    public var mac: String
    public var ip: String
    public var prefix: Int
    public var source: Source

    public init(mac: String, ip: String, prefix: Int, source: Source) {
        self.mac = mac
        self.ip = ip
        self.prefix = prefix
        self.source = source
    }

    /// `198.18.200.10/24`
    public var cidr: String { "\(ip)/\(prefix)" }
}

extension LibvirtDriver {
    /// The status of domain `name`, or nil when the host has no such domain. Addresses come from
    /// the guest agent when it answers (it sees every address, not only DHCP's), else from the
    /// leases of the libvirt networks the NICs are on; loopback and link-local ones are left out.
    public func guestStatus(_ name: String) async throws -> GuestStatus? {
        try await blocking { [connection] in
            guard let domain = try? connection.domain(named: name) else { return nil }
            let power = try domain.power()
            guard power != .shutOff, power != .crashed else { return GuestStatus(power: power) }
            // The live XML says whether the guest agent's channel is there and connected.
            let live = try DomainXMLReader.read(domain.xml(inactive: false))
            let agent = live.guestAgent ? live.guestAgentConnected : nil
            var addresses: [GuestAddress] = []
            if agent == true { addresses = (try? domain.interfaceAddresses(.agent)) ?? [] }
            if addresses.isEmpty { addresses = (try? domain.interfaceAddresses(.lease)) ?? [] }
            return GuestStatus(power: power, agentConnected: agent, addresses: addresses.filter(\.isRoutable))
        }
    }
}

extension GuestAddress {
    /// Not loopback, not link-local: an address someone could reach the guest on.
    var isRoutable: Bool {
        !(ip.hasPrefix("127.") || ip == "::1" || ip.lowercased().hasPrefix("fe80:") || ip.hasPrefix("169.254."))
    }
}

extension LibvirtDomain {
    func power() throws -> GuestStatus.Power {
        var state: Int32 = 0
        var reason: Int32 = 0
        guard virDomainGetState(pointer, &state, &reason, 0) == 0 else {
            throw LibvirtConnection.lastError(.operation, "cannot read the state of domain \(name)")
        }
        switch UInt32(state) {
        case VIR_DOMAIN_RUNNING.rawValue, VIR_DOMAIN_BLOCKED.rawValue:
            return UInt32(reason) == VIR_DOMAIN_RUNNING_MIGRATED.rawValue ? .migrating : .running
        case VIR_DOMAIN_PAUSED.rawValue:
            let migrating = [VIR_DOMAIN_PAUSED_MIGRATION.rawValue, VIR_DOMAIN_PAUSED_POSTCOPY.rawValue].contains(UInt32(reason))
            return migrating ? .migrating : .paused
        case VIR_DOMAIN_PMSUSPENDED.rawValue: return .suspended
        case VIR_DOMAIN_SHUTDOWN.rawValue: return .shuttingDown
        case VIR_DOMAIN_SHUTOFF.rawValue: return .shutOff
        case VIR_DOMAIN_CRASHED.rawValue: return .crashed
        default: return .unknown
        }
    }

    func interfaceAddresses(_ source: GuestAddress.Source) throws -> [GuestAddress] {
        let sourceValue = source == .agent ? VIR_DOMAIN_INTERFACE_ADDRESSES_SRC_AGENT : VIR_DOMAIN_INTERFACE_ADDRESSES_SRC_LEASE
        var list: UnsafeMutablePointer<virDomainInterfacePtr?>?
        let count = virDomainInterfaceAddresses(pointer, &list, UInt32(sourceValue.rawValue), 0)
        guard count >= 0 else { throw LibvirtConnection.lastError(.operation, "cannot read the addresses of domain \(name)") }
        guard let list else { return [] }
        defer {
            for index in 0..<Int(count) { virDomainInterfaceFree(list[index]) }
            free(list)
        }
        return (0..<Int(count)).flatMap { index -> [GuestAddress] in
            guard let interface = list[index]?.pointee, let mac = interface.hwaddr, let addrs = interface.addrs else { return [] }
            return (0..<Int(interface.naddrs)).compactMap { position in
                guard let ip = addrs[position].addr else { return nil }
                return GuestAddress(mac: String(cString: mac).lowercased(), ip: String(cString: ip), prefix: Int(addrs[position].prefix),
                                    source: source)
            }
        }
    }
}
