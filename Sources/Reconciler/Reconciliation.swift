import Drivers
import Foundation
import Spec
import State

/// The three views a plan compares, gathered from manifests, the state database and the hosts.
public struct Snapshot: Sendable {
    public var desired: [Located<VirtualMachineSpec>]
    public var recorded: [String: RecordedVM]
    public var live: [String: [ObservedDomain]]
    public var drivers: [String: any Hypervisor]
    public var rules: [String: ChangeRules]
    /// Device inventories, read only for hosts where some VM has GPUs or vGPUs, or vmplan made mdevs.
    public var devices: [String: HostDeviceView]
    public var recordedDevices: [RecordedDevice]
    public var storage: StorageSnapshot
    /// Creations an interrupted apply journaled but never recorded (pools, volumes, mdevs).
    public var interruptedCreates: Set<ResourceAddress> = []
    /// This state's id: domains whose marker names another state are not this state's.
    public var stateID: String?
    /// Networks in every view.
    public var networks = NetworkSnapshot()
    /// Hosts left out because they could not be observed (only with `tolerateUnreachable`).
    public var unreachable: [HostFailure] = []

    public init(desired: [Located<VirtualMachineSpec>], recorded: [String: RecordedVM], live: [String: [ObservedDomain]],
                drivers: [String: any Hypervisor], rules: [String: ChangeRules],
                devices: [String: HostDeviceView] = [:], recordedDevices: [RecordedDevice] = [],
                storage: StorageSnapshot = StorageSnapshot()) {
        self.desired = desired
        self.recorded = recorded
        self.live = live
        self.drivers = drivers
        self.rules = rules
        self.devices = devices
        self.recordedDevices = recordedDevices
        self.storage = storage
    }

    /// Plans every kind; the problems of VMs, devices, storage and networks are reported together. With
    /// unreachable hosts, plans the rest and lists what is on those hosts as unknown.
    public func plan(_ options: PlanOptions = PlanOptions()) throws(PlanError) -> Plan {
        guard !unreachable.isEmpty else { return try planReachable(options) }
        let (part, unknown) = reachablePart()
        var plan = try part.planReachable(options)
        plan.unreachable = unreachable
        plan.unknown = unknown
        return plan
    }

    private func planReachable(_ options: PlanOptions) throws(PlanError) -> Plan {
        let vmPlan = Result { () throws(PlanError) in
            try Planner.plan(desired: desired, recorded: recorded, live: live, rules: rules, options: options,
                             devices: devices, recordedDevices: recordedDevices, interruptedCreates: interruptedCreates, stateID: stateID,
                             volumeBlockers: StorageMoves.blockers(storage), sharedVolumes: StorageMoves.sharedVolumes(storage))
        }
        // The volumes a migrating VM takes along: made empty on its new host, filled by the migration.
        let migrating = (try? vmPlan.get())?.changes.filter { $0.action == .migrate } ?? []
        let carriers = Dictionary(migrating.flatMap { change in (change.desiredVM?.attachedDisks ?? []).map { ($0.volume, change.name) } },
                                  uniquingKeysWith: { first, _ in first })
        let storagePlan = Result { () throws(PlanError) in
            var storage = storage
            storage.interruptedCreates = interruptedCreates
            return try StoragePlanner.plan(storage, vms: desired, recordedVMs: Set(recorded.keys), domains: live, carriers: carriers)
        }
        let networkPlan = Result { () throws(PlanError) in
            try NetworkPlanner.plan(networks, vms: desired, recordedVMs: Set(recorded.keys), domains: live, stateID: stateID,
                                    interruptedCreates: interruptedCreates, targets: options.targets)
        }
        switch (vmPlan, storagePlan, networkPlan) {
        case (.success(let plan), .success(let storageChanges), .success(let networkChanges)):
            let storage = StoragePlanner.scoped(storageChanges, to: options.targets, vms: desired, volumes: storage.volumes)
            return Plan(changes: plan.changes + storage + networkChanges, unmanaged: plan.unmanaged, orphans: plan.orphans, warnings: plan.warnings)
        default:
            let failures = [storagePlan, networkPlan, vmPlan.map { _ in [] }].compactMap { result -> PlanError? in
                if case .failure(let error) = result { error } else { nil }
            }
            throw PlanError(failures.flatMap(\.problems))
        }
    }

    /// The compared fields of every view, to save with a plan and check again before applying it.
    public var inputs: PlanInputs { PlanInputs(self) }
}

/// One host that could not be observed, and why.
public struct HostFailure: Sendable, Hashable, Codable {
    public var host: String
    public var uri: String
    public var reason: String

    public init(host: String, uri: String, reason: String) {
        self.host = host
        self.uri = uri
        self.reason = reason
    }
}

/// Hosts that could not be observed.
public struct HostUnreachable: Error, Sendable, CustomStringConvertible {
    public var failures: [HostFailure]

    public var description: String {
        failures.map { "error: cannot reach host '\($0.host)' (\($0.uri)): \($0.reason)" }
            .joined(separator: "\n")
            + "\nCheck that libvirtd runs there and that the Host's uri is right (scripts/host-up starts a local one); nothing was changed."
    }
}

public enum Reconciliation {
    public typealias Connector = @Sendable (HostSpec) async throws -> any Hypervisor

    /// Connects to every Host in the manifest (in parallel, once each) and observes its domains.
    /// - Parameters:
    ///   - tolerateUnreachable: false: any host that cannot be observed fails the snapshot. true
    ///     (plans, applies, drift checks): such hosts are left out and listed in `unreachable`.
    ///   - parallelism: how many hosts are connected to and observed at once.
    public static func snapshot(
        of manifest: Manifest, store: any StateStore,
        connect: @escaping Connector = { host in try await LibvirtDriver.connect(to: host) },
        tolerateUnreachable: Bool = false, parallelism: Int = defaultParallelism
    ) async throws -> Snapshot {
        let recorded = try recordedVMs(in: store)
        let hosts = manifest.hosts.map(\.value)
        // Each host answers in its own time: a hung one holds one slot until its deadline, never the others.
        let results = try await concurrentMap(hosts, limit: parallelism) { host -> (HostSpec, Result<(any Hypervisor, [ObservedDomain]), Error>) in
            do {
                let driver = try await connect(host)
                return (host, .success((driver, try await driver.observe())))
            } catch {
                return (host, .failure(error))
            }
        }
        var drivers: [String: any Hypervisor] = [:]
        var live: [String: [ObservedDomain]] = [:]
        var rules: [String: ChangeRules] = [:]
        var failures: [HostFailure] = []
        for (host, result) in results {
            switch result {
            case .success(let (driver, domains)):
                drivers[host.name] = driver
                live[host.name] = domains
                rules[host.name] = driver.features.changeRules
            case .failure(let error):
                failures.append(HostFailure(host: host.name, uri: host.uri, reason: "\(error)"))
            }
        }
        guard failures.isEmpty || tolerateUnreachable else {
            throw HostUnreachable(failures: failures.sorted { $0.host < $1.host })
        }
        try checkDistinct(manifest.hosts, drivers: drivers)
        let recordedDevices = try recordedMediatedDevices(in: store)
        let devices = await deviceViews(manifest: manifest, drivers: drivers, recordedDevices: recordedDevices)
        for failure in devices.failures where tolerateUnreachable {
            drivers[failure.host] = nil
            live[failure.host] = nil
            failures.append(failure)
        }
        if !tolerateUnreachable, !devices.failures.isEmpty { throw HostUnreachable(failures: devices.failures) }
        let (storage, storageFailures) = try await observeStorage(of: manifest, store: store, drivers: drivers, parallelism: parallelism)
        if !tolerateUnreachable, !storageFailures.isEmpty { throw HostUnreachable(failures: storageFailures) }
        for failure in storageFailures {
            drivers[failure.host] = nil
            live[failure.host] = nil
            failures.append(failure)
        }
        var snapshot = Snapshot(desired: manifest.virtualMachines, recorded: recorded, live: storage.namingDiskPaths(in: live), drivers: drivers, rules: rules,
                                devices: devices.views, recordedDevices: recordedDevices, storage: storage)
        snapshot.networks = try await observeNetworks(of: manifest, store: store, drivers: drivers)
        snapshot.stateID = try store.stateID()
        snapshot.unreachable = failures.sorted { $0.host < $1.host }
        return snapshot
    }

    /// Two Host documents that reach one hypervisor (two spellings of a URI, an address and a
    /// name) would make plans move VMs between "hosts" that are one: refused, by libvirt's host UUID.
    static func checkDistinct(_ hosts: [Located<HostSpec>], drivers: [String: any Hypervisor]) throws {
        var seen: [String: Located<HostSpec>] = [:]
        var problems: [Diagnostic] = []
        for host in hosts.sorted(by: { $0.value.name < $1.value.name }) {
            guard let uuid = drivers[host.value.name]?.hostUUID else { continue }
            if let first = seen[uuid] {
                problems.append(Diagnostic("Host '\(host.value.name)' (\(host.value.uri)) reaches the same hypervisor as Host '\(first.value.name)' "
                    + "(\(first.value.uri), declared at \(first.location)): libvirt reports host UUID \(uuid) for both. "
                    + "Keep one Host document per hypervisor and point its VMs at it", at: host.location))
            } else {
                seen[uuid] = host
            }
        }
        guard problems.isEmpty else { throw PlanError(problems) }
    }

    /// Inventories cost a round trip per device, so only hosts that need one are asked.
    private static func deviceViews(manifest: Manifest, drivers: [String: any Hypervisor],
                                    recordedDevices: [RecordedDevice]) async -> (views: [String: HostDeviceView], failures: [HostFailure]) {
        var needed = Set(recordedDevices.map(\.host))
        for vm in manifest.virtualMachines where !vm.value.gpus.isEmpty || !vm.value.vgpus.isEmpty {
            needed.insert(vm.value.host)
        }
        var views: [String: HostDeviceView] = [:]
        var failures: [HostFailure] = []
        for host in manifest.hosts.map(\.value) where needed.contains(host.name) {
            guard let driver = drivers[host.name] else { continue }
            do {
                views[host.name] = HostDeviceView(host: host, inventory: try await driver.inventory(), features: driver.features)
            } catch {
                failures.append(HostFailure(host: host.name, uri: host.uri, reason: "cannot read its device inventory: \(error)"))
            }
        }
        return (views, failures)
    }

    /// What an interrupted apply journaled as being created and never settled: it may exist without a record.
    public static func creates(in interrupted: [JournalEntry]) -> Set<ResourceAddress> {
        Set(interrupted.compactMap { entry in
            // A volume made on the new host of a move is journaled as a migrate.
            guard let kind = ResourceKind(rawValue: entry.kind),
                  entry.action == Action.create.rawValue || (entry.action == Action.migrate.rawValue && kind == .volume) else { return nil }
            return ResourceAddress(kind, entry.name, host: entry.host)
        })
    }

    /// The mediated devices vmplan created, as recorded.
    public static func recordedMediatedDevices(in store: any StateStore) throws -> [RecordedDevice] {
        try store.resources(kind: ResourceKind.mediatedDevice.rawValue).map { try decode(RecordedDevice.self, from: $0) }
    }

    /// The state database's VirtualMachine records, decoded.
    public static func recordedVMs(in store: any StateStore) throws -> [String: RecordedVM] {
        var recorded: [String: RecordedVM] = [:]
        for record in try store.resources(kind: ResourceKind.virtualMachine.rawValue) {
            recorded[record.name] = RecordedVM(spec: try decode(VirtualMachineSpec.self, from: record), specHash: record.specHash,
                                               generation: record.generation,
                                               pendingRestart: record.pendingRestart.compactMap(VMField.init(rawValue:)))
        }
        return recorded
    }

    /// Recorded pools and volumes, by `StorageSnapshot.key`.
    static func recordedStorage(in store: any StateStore) throws -> [String: (host: String, spec: ResourceValue)] {
        var recorded: [String: (host: String, spec: ResourceValue)] = [:]
        for record in try store.resources(kind: ResourceKind.storagePool.rawValue) {
            recorded[StorageSnapshot.key(.storagePool, record.name)] = (record.host, .storagePool(try decode(StoragePoolSpec.self, from: record)))
        }
        for record in try store.resources(kind: ResourceKind.volume.rawValue) {
            recorded[StorageSnapshot.key(.volume, record.name)] = (record.host, .volume(try decode(VolumeSpec.self, from: record)))
        }
        return recorded
    }

    static func decode<Value: Decodable>(_ type: Value.Type, from record: ResourceRecord) throws -> Value {
        do {
            return try JSONDecoder().decode(type, from: Data(record.specJSON.utf8))
        } catch {
            throw StateError.unreadable(path: "\(record.kind) '\(record.name)' in the state database",
                                        reason: "its recorded spec cannot be read (\(error)); was it written by a newer vmplan?")
        }
    }

    /// Reads the recorded and owned storage, and each host's pools and volumes (hosts in parallel);
    /// a host that fails here is returned with the reason, its storage left out.
    static func observeStorage(of manifest: Manifest, store: any StateStore, drivers: [String: any Hypervisor],
                               parallelism: Int = defaultParallelism) async throws -> (StorageSnapshot, [HostFailure]) {
        var snapshot = StorageSnapshot(pools: manifest.storage.pools, volumes: manifest.storage.volumes,
                                       fieldLocations: manifest.storage.fieldLocations,
                                       recorded: try recordedStorage(in: store), owned: try store.ownedStorage())
        // Manifests and a state without storage need no pool listing (nor a storage driver on the host).
        let usesStorage = !snapshot.pools.isEmpty || !snapshot.volumes.isEmpty || !snapshot.recorded.isEmpty
            || manifest.virtualMachines.contains { !$0.value.attachedDisks.isEmpty }
        guard usesStorage else { return (snapshot, []) }
        let images = manifest.storage.volumes.compactMap { volume -> String? in
            if case .image(let path)? = volume.value.source { return path }
            return nil
        }
        let observed = try await concurrentMap(drivers.sorted { $0.key < $1.key }, limit: parallelism) { host, driver in
            do {
                return (host, Result<ObservedStorage, Error>.success(try await driver.observeStorage(imagePaths: images)))
            } catch {
                return (host, .failure(error))
            }
        }
        var failures: [HostFailure] = []
        for (host, result) in observed {
            switch result {
            case .success(let storage): snapshot.live[host] = storage
            case .failure(let error):
                failures.append(HostFailure(host: host, uri: manifest.hosts.first { $0.value.name == host }?.value.uri ?? "",
                                            reason: "cannot read its storage: \(error)"))
            }
        }
        return (snapshot, failures)
    }
}
