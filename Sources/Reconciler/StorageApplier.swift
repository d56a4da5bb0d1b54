import Drivers
import Foundation
import Spec
import State

extension Reconciliation {
    /// Reads the recorded and owned storage, and each host's pools and volumes (hosts in parallel).
    static func observeStorage(of manifest: Manifest, database: StateDatabase,
                               drivers: [String: any Hypervisor]) async throws -> StorageSnapshot {
        var snapshot = StorageSnapshot(pools: manifest.storage.pools, volumes: manifest.storage.volumes,
                                       fieldLocations: manifest.storage.fieldLocations)
        let decoder = JSONDecoder()
        for record in try database.resources(kind: StorageChange.Kind.pool.rawValue) {
            let spec = try decoder.decode(StoragePoolSpec.self, from: Data(record.specJSON.utf8))
            snapshot.recorded[StorageSnapshot.key(.pool, record.name)] = (record.host, .pool(spec))
        }
        for record in try database.resources(kind: StorageChange.Kind.volume.rawValue) {
            let spec = try decoder.decode(VolumeSpec.self, from: Data(record.specJSON.utf8))
            snapshot.recorded[StorageSnapshot.key(.volume, record.name)] = (record.host, .volume(spec))
        }
        snapshot.owned = try database.ownedStorage()
        // Manifests and a state without storage need no pool listing (nor a storage driver on the host).
        let usesStorage = !snapshot.pools.isEmpty || !snapshot.volumes.isEmpty || !snapshot.recorded.isEmpty
            || manifest.virtualMachines.contains { !$0.value.attachedDisks.isEmpty }
        guard usesStorage else { return snapshot }
        let images = manifest.storage.volumes.compactMap { volume -> String? in
            if case .image(let path)? = volume.value.source { return path }
            return nil
        }
        snapshot.live = try await withThrowingTaskGroup(of: (String, ObservedStorage).self) { group in
            for (host, driver) in drivers {
                guard let storageHost = driver as? any StorageHost else { continue }
                group.addTask { (host, try await storageHost.observeStorage(imagePaths: images)) }
            }
            var live: [String: ObservedStorage] = [:]
            for try await (host, storage) in group { live[host] = storage }
            return live
        }
        return snapshot
    }
}

extension Applier {
    /// Applies the storage changes of one pass, each journaled like a VM change. A failure is
    /// recorded and the others go on; VMs whose volumes failed fail on their own.
    func applyStorage(_ changes: [StorageChange], runID: Int64, recorded: [String: ResourceRecord],
                      outcome: inout ApplyOutcome, events: @escaping @Sendable (ApplyEvent) -> Void) async throws {
        for change in changes where change.isActionable || change.record != nil {
            let entry = JournalEntry(runID: runID, kind: change.kind.rawValue, name: change.name, host: change.host,
                                     action: change.action.rawValue, detail: change.summary + (change.dataLoss ? "; DATA LOSS" : ""))
            let journalID = try database.journalBegin(entry)
            let clock = ContinuousClock()
            let started = clock.now
            if change.isActionable { events(.storage(change, "\(Self.verb(change))...")) }
            do {
                let ownership = try await execute(change) { events(.storage(change, $0)) }
                let update = try recordUpdate(for: change, previous: recorded["\(change.kind.rawValue)/\(change.name)"])
                try database.journalDone(journalID, update: update, ownership: ownership)
                if change.isActionable {
                    let (seconds, attoseconds) = (clock.now - started).components
                    events(.storage(change, String(format: "done after %.1fs", Double(seconds) + Double(attoseconds) / 1e18)))
                }
                outcome.storageApplied.append(change)
            } catch {
                let message = "\(error)"
                try database.journalFailed(journalID, error: message)
                events(.storage(change, "failed: \(message)"))
                outcome.storageFailed.append((change, message))
            }
        }
    }

    private func execute(_ change: StorageChange, progress: @escaping ProgressHandler) async throws -> StateDatabase.OwnershipUpdate {
        if case .none = change.effect { return .keep }
        guard let host = drivers[change.host] as? any StorageHost else {
            throw DriverError(.connection, "no storage connection to host '\(change.host)'")
        }
        let kind = change.kind.rawValue
        switch change.effect {
        case .none, .forget:
            return .keep
        case .createPool(let spec):
            let uuid = try await host.createPool(spec)
            return .record(OwnedStorage(kind: kind, host: change.host, pool: spec.name, name: spec.name, libvirtKey: uuid))
        case .createVolume(let spec, let content):
            let key = try await host.createVolume(spec, content: content)
            return .record(OwnedStorage(kind: kind, host: change.host, pool: spec.pool, name: spec.name, libvirtKey: key))
        case .rebuild(let spec, let content, let expectedKey):
            try await host.deleteVolume(pool: spec.pool, name: spec.name, expectedKey: expectedKey, allowAttached: true)
            let key = try await host.createVolume(spec, content: content)
            return .record(OwnedStorage(kind: kind, host: change.host, pool: spec.pool, name: spec.name, libvirtKey: key))
        case .grow(let capacity):
            if let domain = try await host.growVolume(pool: change.pool, name: change.name, to: capacity) {
                progress("grown live through running domain \(domain)")
            }
            return .keep
        case .deletePool(let uuid):
            try await host.deletePool(change.name, expectedUUID: uuid)
            return .forget(kind: kind, host: change.host, pool: change.pool, name: change.name)
        case .deleteVolume(let key):
            try await host.deleteVolume(pool: change.pool, name: change.name, expectedKey: key, allowAttached: false)
            return .forget(kind: kind, host: change.host, pool: change.pool, name: change.name)
        }
    }

    private func recordUpdate(for change: StorageChange, previous: ResourceRecord?) throws -> StateDatabase.RecordUpdate {
        guard let record = change.record else {
            return change.action == .delete ? .remove(kind: change.kind.rawValue, name: change.name) : .keep
        }
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        let data = switch record {
        case .pool(let spec): try encoder.encode(spec)
        case .volume(let spec): try encoder.encode(spec)
        }
        let json = String(decoding: data, as: UTF8.self)
        // FNV-1a 64, as for VM specs: detects change, nothing more.
        let hash = String(json.utf8.reduce(UInt64(0xcbf2_9ce4_8422_2325)) { ($0 ^ UInt64($1)) &* 0x100_0000_01b3 }, radix: 16)
        let generation = (previous?.generation ?? 0) + (previous?.specHash == hash ? 0 : 1)
        return .upsert(ResourceRecord(kind: change.kind.rawValue, name: change.name, host: change.host, specJSON: json,
                                      specHash: hash, generation: max(generation, 1), commitID: commitID, appliedAt: Date()))
    }

    static func verb(_ change: StorageChange) -> String {
        switch change.effect {
        case .createPool, .createVolume: "creating"
        case .rebuild: "rebuilding the seed"
        case .grow: "growing"
        case .deletePool, .deleteVolume: "deleting"
        case .forget: "forgetting (left on the host)"
        case .none: "recording"
        }
    }
}
