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
    public var storage: StorageSnapshot

    public init(desired: [Located<VirtualMachineSpec>], recorded: [String: RecordedVM], live: [String: [ObservedDomain]],
                drivers: [String: any Hypervisor], rules: [String: ChangeRules], storage: StorageSnapshot = StorageSnapshot()) {
        self.desired = desired
        self.recorded = recorded
        self.live = live
        self.drivers = drivers
        self.rules = rules
        self.storage = storage
    }

    /// Plans the VMs and the storage; problems of both are reported together.
    public func plan(_ options: PlanOptions = PlanOptions()) throws(PlanError) -> Plan {
        let storagePlan = Result { () throws(PlanError) in
            try StoragePlanner.plan(storage, vms: desired, recordedVMs: Set(recorded.keys), domains: live)
        }
        let vmPlan = Result { () throws(PlanError) in
            try Planner.plan(desired: desired, recorded: recorded, live: live, rules: rules, options: options)
        }
        switch (vmPlan, storagePlan) {
        case (.success(var plan), .success(let storageChanges)):
            plan.storage = StoragePlanner.scoped(storageChanges, to: options.targets, vms: desired, volumes: storage.volumes)
            return plan
        case let (.failure(vmError), .failure(storageError)): throw PlanError(storageError.problems + vmError.problems)
        case let (.failure(error), _), let (_, .failure(error)): throw error
        }
    }

    /// The compared fields of every view, to save with a plan and check again before applying it.
    public var inputs: PlanInputs { PlanInputs(self) }
}

/// A host that could not be observed.
public struct HostUnreachable: Error, Sendable, CustomStringConvertible {
    public var failures: [(host: String, uri: String, reason: String)]

    public var description: String {
        failures.map { "error: cannot reach host '\($0.host)' (\($0.uri)): \($0.reason)" }
            .joined(separator: "\n")
            + "\nCheck that libvirtd runs there and that the Host's uri is right (scripts/host-up starts a local one); nothing was changed."
    }
}

public enum Reconciliation {
    public typealias Connector = @Sendable (HostSpec) async throws -> any Hypervisor

    /// Connects to every Host in the manifest (in parallel, once each) and observes its domains.
    public static func snapshot(
        of manifest: Manifest, database: StateDatabase,
        connect: @escaping Connector = { host in try await LibvirtDriver.connect(host: host.name, uri: host.uri) }
    ) async throws -> Snapshot {
        let recorded = try recordedVMs(in: database)
        let hosts = manifest.hosts.map(\.value)
        let results = await withTaskGroup(of: (HostSpec, Result<(any Hypervisor, [ObservedDomain]), Error>).self) { group in
            for host in hosts {
                group.addTask {
                    do {
                        let driver = try await connect(host)
                        return (host, .success((driver, try await driver.observe())))
                    } catch {
                        return (host, .failure(error))
                    }
                }
            }
            var all: [(HostSpec, Result<(any Hypervisor, [ObservedDomain]), Error>)] = []
            for await result in group { all.append(result) }
            return all
        }
        var drivers: [String: any Hypervisor] = [:]
        var live: [String: [ObservedDomain]] = [:]
        var rules: [String: ChangeRules] = [:]
        var failures: [(host: String, uri: String, reason: String)] = []
        for (host, result) in results {
            switch result {
            case .success(let (driver, domains)):
                drivers[host.name] = driver
                live[host.name] = domains
                rules[host.name] = driver.changeRules
            case .failure(let error):
                failures.append((host.name, host.uri, "\(error)"))
            }
        }
        guard failures.isEmpty else {
            throw HostUnreachable(failures: failures.sorted { $0.host < $1.host })
        }
        let storage = try await observeStorage(of: manifest, database: database, drivers: drivers)
        return Snapshot(desired: manifest.virtualMachines, recorded: recorded, live: live, drivers: drivers, rules: rules,
                        storage: storage)
    }

    /// The state database's VirtualMachine records, decoded.
    public static func recordedVMs(in database: StateDatabase) throws -> [String: RecordedVM] {
        let decoder = JSONDecoder()
        var recorded: [String: RecordedVM] = [:]
        for record in try database.resources(kind: "VirtualMachine") {
            let spec = try decoder.decode(VirtualMachineSpec.self, from: Data(record.specJSON.utf8))
            recorded[record.name] = RecordedVM(spec: spec, specHash: record.specHash, generation: record.generation,
                                               pendingRestart: record.pendingRestart)
        }
        return recorded
    }
}
