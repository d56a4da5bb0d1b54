import Drivers
import Foundation
import Spec

/// Compares each resource's live state with what vmplan recorded (drift), and the record with
/// the manifests (pending), without planning or changing anything. Pure, like the planner.
public enum DriftCheck {
    /// - Parameters:
    ///   - snapshot: observed with unreachable hosts left out (their resources are `unknown`).
    ///   - policies: fields each VM's differences are ignored for, besides its `lifecycle.ignoreChanges`.
    public static func report(of snapshot: Snapshot, hosts: [Located<HostSpec>], policies: [DriftPolicySpec] = [],
                              manifests: String, state: String, at date: Date = Date()) -> DriftReport {
        let unreachable = Set(snapshot.unreachable.map(\.host))
        let ownership = DomainOwnership(live: snapshot.live, recorded: Set(snapshot.recorded.keys), stateID: snapshot.stateID)
        let imported = ownership.imported(by: snapshot.desired, recorded: Set(snapshot.recorded.keys), live: snapshot.live)
        var entries = virtualMachines(snapshot, ownership: ownership, imported: imported, policies: policies, unreachable: unreachable)
        entries += storage(snapshot.storage, vms: snapshot.desired, unreachable: unreachable)
        entries += mediatedDevices(snapshot, unreachable: unreachable)
        entries += networks(snapshot.networks, stateID: snapshot.stateID, unreachable: unreachable)
        entries.sort { ($0.kind.rank, $0.host, $0.name) < ($1.kind.rank, $1.host, $1.name) }

        let domains = snapshot.live.values.reduce(0) { $0 + $1.count }
        let coverage = domains == 0 ? 1 : Double(ownership.ours.count) / Double(domains)
        let uris = Dictionary(hosts.map { ($0.value.name, $0.value.uri) }, uniquingKeysWith: { first, _ in first })
        return DriftReport(createdAt: date, manifests: manifests, state: state, resources: entries, unmanaged: ownership.unmanaged(except: imported),
                           orphaned: ownership.orphans(desired: Set(snapshot.desired.map(\.value.name)), recorded: Set(snapshot.recorded.keys)),
                           unknownHosts: snapshot.unreachable.map { DriftReport.UnknownHost(host: $0.host, uri: uris[$0.host] ?? $0.uri, error: $0.reason) },
                           coverage: coverage)
    }

    /// The fields where `after` differs from `before`, as `before → after` diffs of `origin`.
    static func differences(from before: [VMField: String], to after: [VMField: String], origin: DiffOrigin) -> [FieldDiff] {
        VMField.compared.compactMap { field in
            before[field] == after[field] ? nil : FieldDiff(field, before: before[field], after: after[field], origin: origin)
        }
    }

    private static func virtualMachines(_ snapshot: Snapshot, ownership: DomainOwnership, imported: Set<DomainOwnership.HostDomain>,
                                        policies: [DriftPolicySpec], unreachable: Set<String>) -> [DriftReport.Entry] {
        let desired = Dictionary(snapshot.desired.map { ($0.value.name, $0) }, uniquingKeysWith: { first, _ in first })
        return Set(desired.keys).union(snapshot.recorded.keys).map { name in
            let manifest = desired[name]
            let record = snapshot.recorded[name]
            let host = record?.spec.host ?? manifest?.value.host ?? ""
            var entry = DriftReport.Entry(kind: .virtualMachine, name: name, host: host, status: .inSync,
                                          location: manifest.map { "\($0.location)" })
            // Pending: what an apply of the manifests would do to the record. A record from before vmplan
            // managed autostart is taken to have the host's (or, without a domain, the manifest's) value.
            var recorded = record?.spec
            if recorded != nil, recorded?.autostart == nil {
                recorded?.autostart = ownership.ours[name]?.spec.autostart ?? manifest?.value.autostart
            }
            switch (manifest?.value, recorded) {
            case (let wanted?, nil):
                entry.pendingAction = imported.contains(.init(host: wanted.host, name: name)) ? .import : .create
                entry.pending = differences(from: [:], to: VMFields.values(of: wanted), origin: .manifest)
            case (nil, let recorded?):
                entry.pendingAction = .delete
                entry.pending = differences(from: VMFields.values(of: recorded), to: [:], origin: .manifest)
            case (let wanted?, let recorded?):
                var fields = differences(from: VMFields.values(of: recorded), to: VMFields.values(of: wanted), origin: .manifest)
                if wanted.host != recorded.host {
                    fields.insert(FieldDiff(.host, before: recorded.host, after: wanted.host, origin: .manifest), at: 0)
                }
                if !fields.isEmpty {
                    entry.pending = fields
                    entry.pendingAction = wanted.host != recorded.host ? .replace : .update
                }
            case (nil, nil):
                break
            }
            guard let record else {
                entry.status = unreachable.contains(host) ? .unknown : .notApplied
                return entry
            }
            guard !unreachable.contains(host), snapshot.live[host] != nil else {
                entry.status = .unknown
                return entry
            }
            guard let domain = ownership.ours[name], domain.spec.host == host else {
                if let other = ownership.otherState(name, on: host) {
                    entry.status = .drifted
                    entry.fields = [FieldDiff(field: "owner", before: "this state", after: other.owner?.state.map { "state \($0)" } ?? "a vmplan state of unknown id", origin: .drift)]
                } else if ownership.isForeign(name, on: host) {
                    entry.status = .drifted
                    entry.fields = [FieldDiff(field: "owner", before: "this state", after: "no vmplan marker", origin: .drift)]
                } else {
                    entry.status = .missing
                    entry.fields = [FieldDiff(field: "exists", before: "yes", after: "no", origin: .drift)]
                }
                return entry
            }
            var expected = record.spec
            // A machine type or CPU the record leaves open is libvirt's choice, not drift.
            if expected.machine == nil { expected.machine = domain.spec.machine }
            if expected.cpu == nil { expected.cpu = domain.spec.cpu }
            // So are NICs a record without networks leaves to others, and autostart in a record from before vmplan managed it.
            if expected.networks == nil { expected.networks = domain.spec.networks }
            if expected.autostart == nil { expected.autostart = domain.spec.autostart }
            let ignoredFields = Set(record.spec.lifecycle.ignoreChanges + (manifest?.value.lifecycle.ignoreChanges ?? [])
                + policies.filter { $0.applies(to: record.spec.labels) }.flatMap(\.ignore))
            let all = differences(from: VMFields.values(of: expected), to: VMFields.values(of: domain.spec), origin: .drift)
            entry.ignored = all.filter { VMField(rawValue: $0.field).map(ignoredFields.contains) ?? false }
            entry.fields = all.filter { !(VMField(rawValue: $0.field).map(ignoredFields.contains) ?? false) }
            entry.status = entry.fields.isEmpty ? .inSync : .drifted
            return entry
        }
    }

    private static func storage(_ storage: StorageSnapshot, vms: [Located<VirtualMachineSpec>], unreachable: Set<String>) -> [DriftReport.Entry] {
        var desired: [String: (host: String, value: ResourceValue, location: SourceLocation)] = [:]
        let poolHosts = Dictionary(storage.pools.map { ($0.value.name, $0.value.host) }, uniquingKeysWith: { first, _ in first })
        for pool in storage.pools {
            desired[StorageSnapshot.key(.storagePool, pool.value.name)] = (pool.value.host, .storagePool(pool.value), pool.location)
        }
        for volume in storage.volumes + StoragePlanner.seedVolumes(vms) {
            desired[StorageSnapshot.key(.volume, volume.value.name)] = (poolHosts[volume.value.pool] ?? "", .volume(volume.value), volume.location)
        }
        return Set(desired.keys).union(storage.recorded.keys).compactMap { key -> DriftReport.Entry? in
            let wanted = desired[key]
            let recorded = storage.recorded[key]
            guard let value = recorded?.spec ?? wanted?.value else { return nil }
            let host = recorded?.host ?? wanted?.host ?? ""
            let name = key.split(separator: "/", maxSplits: 1).last.map(String.init) ?? key
            var entry = DriftReport.Entry(kind: value.kind, name: name, host: host, status: .inSync,
                                          location: wanted.map { "\($0.location)" })
            let pending = Self.storageFields(from: recorded?.spec, to: wanted?.value)
            if recorded == nil {
                entry.pendingAction = .create
            } else if wanted == nil {
                entry.pendingAction = .delete
            } else if !pending.isEmpty {
                entry.pendingAction = .update
            }
            entry.pending = entry.pendingAction == nil ? [] : pending
            guard let recorded else {
                entry.status = unreachable.contains(host) ? .unknown : .notApplied
                return entry
            }
            guard !unreachable.contains(host), let live = storage.live[host] else {
                entry.status = .unknown
                return entry
            }
            switch recorded.spec {
            case .storagePool(let spec):
                guard let pool = live.pool(spec.name) else { return missing(entry) }
                entry.fields = [("type", spec.type.rawValue, pool.type), ("path", spec.path, pool.path), ("active", "true", String(pool.isActive))]
                    .filter { $0.1 != $0.2 }.map { FieldDiff(field: $0.0, before: $0.1, after: $0.2, origin: .drift) }
            case .volume(let spec):
                guard let volume = live.volume(pool: spec.pool, name: spec.name) else { return missing(entry) }
                var fields: [(String, String, String)] = []
                if case .seed = spec.source {} else {
                    // A seed's size and format are whatever the ISO needs: only its presence counts.
                    fields = [("capacity", spec.capacity.description, volume.capacity.description), ("format", spec.format.rawValue, volume.format)]
                }
                entry.fields = fields.filter { $0.1 != $0.2 }.map { FieldDiff(field: $0.0, before: $0.1, after: $0.2, origin: .drift) }
            case .virtualMachine, .mediatedDevice, .network:
                break
            }
            entry.status = entry.fields.isEmpty ? .inSync : .drifted
            return entry
        }
    }

    /// Manifest fields of a pool or volume that differ from the record (`before` recorded).
    private static func storageFields(from recorded: ResourceValue?, to wanted: ResourceValue?) -> [FieldDiff] {
        func fields(_ value: ResourceValue?) -> [String: String] {
            switch value {
            case .storagePool(let spec)?: ["type": spec.type.rawValue, "path": spec.path]
            case .volume(let spec)?: ["pool": spec.pool, "capacity": spec.capacity.description, "format": spec.format.rawValue,
                                      "reclaim": spec.reclaim.rawValue]
            default: [:]
            }
        }
        let (before, after) = (fields(recorded), fields(wanted))
        return Set(before.keys).union(after.keys).sorted().compactMap { key in
            before[key] == after[key] ? nil : FieldDiff(field: key, before: before[key], after: after[key], origin: .manifest)
        }
    }

    static func missing(_ entry: DriftReport.Entry) -> DriftReport.Entry {
        var entry = entry
        entry.status = .missing
        entry.fields = [FieldDiff(field: "exists", before: "yes", after: "no", origin: .drift)]
        return entry
    }

    private static func mediatedDevices(_ snapshot: Snapshot, unreachable: Set<String>) -> [DriftReport.Entry] {
        snapshot.recordedDevices.map { device in
            var entry = DriftReport.Entry(kind: .mediatedDevice, name: device.uuid, host: device.host, status: .inSync)
            guard !unreachable.contains(device.host), let view = snapshot.devices[device.host] else {
                entry.status = .unknown
                return entry
            }
            return view.inventory.mediatedDevices.contains { $0.uuid == device.uuid } ? entry : missing(entry)
        }
    }
}
