import Drivers
import Spec

/// A resource on a host that could not be observed: neither planned nor applied this run, and
/// shown as unknown so that nobody takes its silence for "no changes".
public struct UnknownResource: Sendable, Hashable {
    public var address: ResourceAddress
    /// The unreachable host it is on, or moves from or to.
    public var unreachableHost: String

    public init(_ address: ResourceAddress, unreachableHost: String) {
        self.address = address
        self.unreachableHost = unreachableHost
    }
}

extension Snapshot {
    /// What can be planned while `unreachable` hosts are out: every resource on such a host, or
    /// moving from or to one, is left out of every view (so that it is neither created elsewhere
    /// nor deleted) and listed as unknown.
    func reachablePart() -> (snapshot: Snapshot, unknown: [UnknownResource]) {
        let out = Set(unreachable.map(\.host))
        guard !out.isEmpty else { return (self, []) }
        var part = self
        var unknown: [UnknownResource] = []

        var vms: [String: UnknownResource] = [:]
        for vm in desired.map(\.value) {
            let recordedHost = recorded[vm.name]?.spec.host
            if let host = [vm.host, recordedHost].compactMap({ $0 }).first(where: out.contains) {
                vms[vm.name] = UnknownResource(ResourceAddress(.virtualMachine, vm.name, host: vm.host), unreachableHost: host)
            }
        }
        for (name, record) in recorded where vms[name] == nil && out.contains(record.spec.host) {
            vms[name] = UnknownResource(ResourceAddress(.virtualMachine, name, host: record.spec.host), unreachableHost: record.spec.host)
        }
        part.desired.removeAll { vms[$0.value.name] != nil }
        part.recorded = recorded.filter { vms[$0.key] == nil }
        // A moving VM's domain on the reachable side stays as it is, not reported as an orphan.
        part.live = live.mapValues { $0.filter { vms[$0.name] == nil } }
        unknown += vms.values

        // Pools and volumes on such a host, or moving from one: a volume whose data is out of reach
        // is neither made anew elsewhere nor recorded there.
        let movingFrom = Set(storage.recorded.filter { out.contains($0.value.host) }.map(\.key))
        let pools = Set(storage.pools.map(\.value).filter {
            out.contains($0.host) || movingFrom.contains(StorageSnapshot.key(.storagePool, $0.name))
        }.map(\.name))
        let volumesOut = Set(storage.volumes.map(\.value).filter {
            pools.contains($0.pool) || movingFrom.contains(StorageSnapshot.key(.volume, $0.name))
        }.map(\.name))
        part.storage.pools.removeAll { pools.contains($0.value.name) }
        part.storage.volumes.removeAll { volumesOut.contains($0.value.name) }
        part.storage.recorded = storage.recorded.filter { !out.contains($0.value.host) }
        part.storage.owned = storage.owned.filter { !out.contains($0.host) }
        let unreachableOf = { (kind: ResourceKind, name: String, host: String) in
            out.contains(host) ? host : storage.recorded[StorageSnapshot.key(kind, name)]?.host ?? host
        }
        for pool in storage.pools.map(\.value) where pools.contains(pool.name) {
            unknown.append(UnknownResource(ResourceAddress(.storagePool, pool.name, host: pool.host),
                                           unreachableHost: unreachableOf(.storagePool, pool.name, pool.host)))
        }
        let poolHosts = Dictionary(storage.pools.map { ($0.value.name, $0.value.host) }, uniquingKeysWith: { first, _ in first })
        for volume in storage.volumes.map(\.value) where volumesOut.contains(volume.name) {
            let host = poolHosts[volume.pool] ?? ""
            unknown.append(UnknownResource(ResourceAddress(.volume, volume.name, host: host), unreachableHost: unreachableOf(.volume, volume.name, host)))
        }
        let listed = Set(unknown.map { StorageSnapshot.key($0.address.kind, $0.address.name) })
        for (key, record) in storage.recorded where out.contains(record.host) {
            let kind: ResourceKind = key.hasPrefix(ResourceKind.storagePool.rawValue + "/") ? .storagePool : .volume
            let address = ResourceAddress(kind, String(key.drop { $0 != "/" }.dropFirst()), host: record.host)
            if !listed.contains(key) { unknown.append(UnknownResource(address, unreachableHost: record.host)) }
        }

        part.recordedDevices = recordedDevices.filter { !out.contains($0.host) }
        for device in recordedDevices where out.contains(device.host) {
            unknown.append(UnknownResource(ResourceAddress(.mediatedDevice, device.uuid, host: device.host), unreachableHost: device.host))
        }
        part.unreachable = []
        let order = ApplyOrder.phases.map(\.kind)
        return (part, unknown.sorted {
            ($0.address.host, order.firstIndex(of: $0.address.kind) ?? 0, $0.address.name)
                < ($1.address.host, order.firstIndex(of: $1.address.kind) ?? 0, $1.address.name)
        })
    }
}
