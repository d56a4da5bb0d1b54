/// Every kind of resource vmplan plans, records and reports.
public enum ResourceKind: String, Sendable, Codable, Hashable, CaseIterable, Comparable {
    case host = "Host"
    case storagePool = "StoragePool"
    case volume = "Volume"
    /// A libvirt virtual network.
    case network = "Network"
    /// A vGPU instance: derived from a VirtualMachine's `vgpus`, never a document of its own.
    case mediatedDevice = "MediatedDevice"
    case virtualMachine = "VirtualMachine"
    /// Differences `vmplan drift` counts but does not report as drift; nothing on a host.
    case driftPolicy = "DriftPolicy"

    /// The kinds a manifest document may declare.
    public static let declarable: [ResourceKind] = [.host, .virtualMachine, .storagePool, .volume, .network, .driftPolicy]

    /// Dependency rank: a resource may need resources of a lower rank, never of a higher one.
    /// Apply builds in rising rank and removes in falling rank.
    public var rank: Int {
        switch self {
        case .host, .driftPolicy: 0
        case .storagePool: 1
        case .volume: 2
        case .network: 3
        case .mediatedDevice: 4
        case .virtualMachine: 5
        }
    }

    public static func < (lhs: ResourceKind, rhs: ResourceKind) -> Bool { lhs.rank < rhs.rank }

    /// How plans and apply output name one of these: `pool data`, `volume web-1-root`, `network lab`, `mdev 3f2…`.
    public var noun: String {
        switch self {
        case .host: "host"
        case .storagePool: "pool"
        case .volume: "volume"
        case .network: "network"
        case .mediatedDevice: "mdev"
        case .virtualMachine: "vm"
        case .driftPolicy: "drift policy"
        }
    }
}
