import Foundation
import Spec

/// A libvirt network as the host reports it.
public struct ObservedNetwork: Sendable, Hashable {
    public var name: String
    public var uuid: String
    public var isActive: Bool
    public var autostart: Bool
    /// nil for a network vmplan did not create (the host's `default`, one defined by hand):
    /// such a network is never changed or deleted.
    public var owner: OwnershipMarker?
    /// The persistent definition read back into the resource model (host is the Host name).
    public var spec: NetworkSpec

    public init(name: String, uuid: String, isActive: Bool, autostart: Bool, owner: OwnershipMarker?, spec: NetworkSpec) {
        self.name = name
        self.uuid = uuid
        self.isActive = isActive
        self.autostart = autostart
        self.owner = owner
        self.spec = spec
    }
}

/// One address dnsmasq handed out on a network (`virNetworkGetDHCPLeases`).
public struct DHCPLease: Sendable, Hashable {
    public var network: String
    /// Lowercase, colon-separated.
    public var mac: String
    public var ip: String
    public var prefix: Int
    /// What the guest called itself in its request, when it did.
    public var hostname: String?
    public var expires: Date

    public init(network: String, mac: String, ip: String, prefix: Int, hostname: String?, expires: Date) {
        self.network = network
        self.mac = mac
        self.ip = ip
        self.prefix = prefix
        self.hostname = hostname
        self.expires = expires
    }
}

/// A host's libvirt virtual networks. Every change re-reads the network and refuses one whose
/// marker does not name it and the state `owner`: the host's `default` and networks made by hand
/// are never changed or deleted.
public protocol NetworkHost: Sendable {
    /// Every network on the host, vmplan's or not, with its persistent definition.
    func observeNetworks() async throws -> [ObservedNetwork]

    /// Defines a network for `spec` with vmplan's marker naming the state `owner`, starts it and
    /// marks it autostarted.
    func createNetwork(_ spec: NetworkSpec, owner: String) async throws

    /// Redefines a network vmplan owns. A running one then takes the DHCP changes live
    /// (`virNetworkUpdate`), or, when `restart`, is stopped and started again; a stopped one is
    /// started. It is left autostarted.
    func updateNetwork(_ spec: NetworkSpec, owner: String, restart: Bool) async throws

    /// Stops and undefines a network vmplan owns; refused while a domain's definition or running
    /// configuration has a NIC on it.
    func deleteNetwork(_ name: String, owner: String) async throws

    /// Takes over a network vmplan did not create, as it is: writes only vmplan's marker for `spec`
    /// (naming the state `owner`) into its persistent definition, after checking that it still has
    /// `uuid` and no marker. A running network is neither stopped nor restarted.
    func importNetwork(_ spec: NetworkSpec, uuid: String, owner: String) async throws

    /// The leases dnsmasq gave out on a network, for `vmplan status`.
    func dhcpLeases(network: String) async throws -> [DHCPLease]
}
