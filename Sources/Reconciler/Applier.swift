import Drivers
import Foundation
import Spec
import State

/// What the applier reports while it works, for the CLI to print.
public enum ApplyEvent: Sendable {
    case started(Change)
    case progress(Change, String)
    case finished(Change, Duration)
    case failed(Change, String)
    case deviceStarted(DeviceChange)
    case deviceFinished(DeviceChange, Duration)
    case deviceFailed(DeviceChange, String)
    /// A pool or volume change: a progress line or its outcome.
    case storage(StorageChange, String)
}

public struct ApplyOutcome: Sendable {
    public var applied: [Change] = []
    public var failed: [(change: Change, error: String)] = []
    public var appliedDevices: [DeviceChange] = []
    public var failedDevices: [(change: DeviceChange, error: String)] = []
    public var storageApplied: [StorageChange] = []
    public var storageFailed: [(change: StorageChange, error: String)] = []

    public var succeeded: Bool { failed.isEmpty && failedDevices.isEmpty && storageFailed.isEmpty }
}

/// Executes a plan through the drivers, journaling each change before and after the driver call.
public struct Applier: Sendable {
    public var drivers: [String: any Hypervisor]
    public var database: StateDatabase
    /// How long a graceful stop may take; whether it may then be forced is each VM's `lifecycle.forceStop`.
    public var shutdownTimeout: Duration
    public var commitID: String?

    public init(drivers: [String: any Hypervisor], database: StateDatabase, shutdownTimeout: Duration, commitID: String? = nil) {
        self.drivers = drivers
        self.database = database
        self.shutdownTimeout = shutdownTimeout
        self.commitID = commitID
    }

    /// Applies every change of `plan`. A failed change is recorded and the others go on:
    /// VMs do not depend on each other.
    public func apply(_ plan: Plan, recorded: [String: RecordedVM], runID: Int64,
                      events: @escaping @Sendable (ApplyEvent) -> Void) async throws -> ApplyOutcome {
        var outcome = ApplyOutcome()
        // Pools and volumes exist before the VMs that use them, and go after the VMs that used them;
        // so do mdevs.
        let storageRecords = Dictionary(try database.resources().map { ("\($0.kind)/\($0.name)", $0) }, uniquingKeysWith: { $1 })
        try await applyStorage(plan.storage.filter { !$0.runsAfterVMs }, runID: runID, recorded: storageRecords, outcome: &outcome, events: events)
        for device in plan.deviceChanges where device.action == .create {
            await apply(device, runID: runID, outcome: &outcome, events: events)
        }
        let missingDevices = Set(outcome.failedDevices.compactMap(\.change.vm))
        // Deletions first: they free memory and devices for what is created next.
        let ordered = plan.changes.filter { $0.action == .delete } + plan.changes.filter { $0.action != .delete }
        for change in ordered where change.action != .noop || change.recordsOnly {
            if missingDevices.contains(change.name) {
                let message = "not applied: a vGPU it needs could not be created"
                events(.failed(change, message))
                outcome.failed.append((change, message))
                continue
            }
            let entry = JournalEntry(runID: runID, kind: change.kind, name: change.name, host: change.host,
                                     action: change.action.rawValue, detail: summary(of: change))
            let journalID = try database.journalBegin(entry)
            if change.action != .noop { events(.started(change)) }
            let clock = ContinuousClock()
            let started = clock.now
            do {
                let lifecycle = change.desired?.lifecycle ?? recorded[change.name]?.spec.lifecycle ?? Lifecycle()
                let policy = StopPolicy(timeout: shutdownTimeout, forceAfterTimeout: lifecycle.forceStop)
                try await execute(change, stopPolicy: policy) { events(.progress(change, $0)) }
                try database.journalDone(journalID, update: recordUpdate(for: change, recorded: recorded[change.name]))
                if change.action != .noop { events(.finished(change, clock.now - started)) }
                outcome.applied.append(change)
            } catch {
                let message = "\(error)"
                try database.journalFailed(journalID, error: message)
                events(.failed(change, message))
                outcome.failed.append((change, message))
            }
        }
        // An mdev whose VM did not change as planned may still be in use: it stays for a later apply.
        let unchanged = Set(outcome.failed.map(\.change.name))
        for device in plan.deviceChanges where device.action == .delete {
            if let vm = device.vm, unchanged.contains(vm) {
                let message = "kept: \(vm) did not change as planned and may still use it"
                events(.deviceFailed(device, message))
                outcome.failedDevices.append((device, message))
                continue
            }
            await apply(device, runID: runID, outcome: &outcome, events: events)
        }
        try await applyStorage(plan.storage.filter(\.runsAfterVMs), runID: runID, recorded: storageRecords, outcome: &outcome, events: events)
        return outcome
    }

    private func apply(_ device: DeviceChange, runID: Int64, outcome: inout ApplyOutcome,
                       events: @escaping @Sendable (ApplyEvent) -> Void) async {
        let clock = ContinuousClock()
        let started = clock.now
        events(.deviceStarted(device))
        do {
            let entry = JournalEntry(runID: runID, kind: RecordedDevice.kind, name: device.uuid, host: device.host,
                                     action: device.action.rawValue, detail: "\(device.type) on \(device.parent.map { "\($0)" } ?? "?")")
            let journalID = try database.journalBegin(entry)
            do {
                let driver = try self.driver(for: device.host)
                let update: StateDatabase.RecordUpdate
                switch device.action {
                case .create:
                    guard let parent = device.parent else { throw DriverError(.invalidInput, "no parent GPU chosen for mdev \(device.uuid)") }
                    try await driver.createMediatedDevice(uuid: device.uuid, type: device.type, parent: parent)
                    let record = RecordedDevice(uuid: device.uuid, host: device.host, type: device.type, parent: parent)
                    let json = String(decoding: try JSONEncoder.sorted.encode(record), as: UTF8.self)
                    update = .upsert(ResourceRecord(kind: RecordedDevice.kind, name: device.uuid, host: device.host, specJSON: json,
                                                    specHash: device.uuid, generation: 1, commitID: commitID, appliedAt: Date()))
                case .delete:
                    // Already gone from the host: only the record is dropped.
                    if let name = device.libvirtName { try await driver.removeMediatedDevice(libvirtName: name) }
                    update = .remove(kind: RecordedDevice.kind, name: device.uuid)
                }
                try database.journalDone(journalID, update: update)
                events(.deviceFinished(device, clock.now - started))
                outcome.appliedDevices.append(device)
            } catch {
                try database.journalFailed(journalID, error: "\(error)")
                throw error
            }
        } catch {
            events(.deviceFailed(device, "\(error)"))
            outcome.failedDevices.append((device, "\(error)"))
        }
    }

    private func execute(_ change: Change, stopPolicy: StopPolicy, progress: @escaping ProgressHandler) async throws {
        switch change.action {
        case .noop:
            return
        case .create:
            guard let spec = change.desired else { return }
            try await create(spec, progress: progress)
        case .update:
            guard let spec = change.desired, let observed = change.observed else { return }
            let driver = try self.driver(for: change.host)
            if change.diffs.contains(where: { $0.field != "state" }) {
                try await driver.update(spec, progress: progress)
            }
            let wasRunning = observed.isRunning
            if spec.state == .stopped {
                if wasRunning { try await driver.stop(spec.name, policy: stopPolicy, progress: progress) }
            } else if !wasRunning {
                try await driver.start(spec.name)
            } else if change.mode == .restart {
                try await driver.stop(spec.name, policy: stopPolicy, progress: progress)
                try await driver.start(spec.name)
            }
        case .replace:
            guard let spec = change.desired, let old = change.previousHost else { return }
            try await driver(for: old).delete(spec.name, policy: stopPolicy, progress: progress)
            try await create(spec, progress: progress)
        case .delete:
            guard change.observed != nil, let host = change.previousHost else { return }
            try await driver(for: host).delete(change.name, policy: stopPolicy, progress: progress)
        }
    }

    private func create(_ spec: VirtualMachineSpec, progress: @escaping ProgressHandler) async throws {
        let driver = try self.driver(for: spec.host)
        try await driver.define(spec)
        if spec.state == .running {
            progress("\(spec.name): starting")
            try await driver.start(spec.name)
        }
    }

    private func driver(for host: String) throws -> any Hypervisor {
        guard let driver = drivers[host] else {
            throw DriverError(.connection, "no connection to host '\(host)'")
        }
        return driver
    }

    private func recordUpdate(for change: Change, recorded: RecordedVM?) throws -> StateDatabase.RecordUpdate {
        guard let spec = change.desired else {
            return .remove(kind: change.kind, name: change.name)
        }
        let json = String(decoding: try JSONEncoder.sorted.encode(spec), as: UTF8.self)
        let generation = (recorded?.generation ?? 0) + (recorded?.specHash == spec.specHash ? 0 : 1)
        return .upsert(ResourceRecord(
            kind: change.kind, name: spec.name, host: spec.host, specJSON: json, specHash: spec.specHash,
            generation: max(generation, 1), commitID: commitID, appliedAt: Date(),
            pendingRestart: change.pendingRestart))
    }

    private func summary(of change: Change) -> String {
        let fields = change.diffs.map { "\($0.field): \($0.before ?? "-") -> \($0.after ?? "-")" }
        return ([change.mode.map { "mode \($0.rawValue)" }].compactMap { $0 } + fields).joined(separator: "; ")
    }
}

extension JSONEncoder {
    /// Recorded specs are JSON with sorted keys, so equal specs are equal text.
    static var sorted: JSONEncoder {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        return encoder
    }
}
