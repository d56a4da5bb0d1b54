import Drivers
import Foundation
import Spec
import State
import Synchronization

/// What the applier reports while it works, for the CLI to print.
public enum ApplyEvent: Sendable {
    case started(ResourceChange)
    case progress(ResourceChange, String)
    case finished(ResourceChange, Duration)
    case failed(ResourceChange, String)
}

/// What an apply did: every change it carried out or recorded, and every failure, in apply order.
public struct ApplyOutcome: Sendable {
    public var applied: [ResourceChange] = []
    public var failed: [(change: ResourceChange, error: String)] = []

    public init() {}

    public var succeeded: Bool { failed.isEmpty }

    public var imported: Int { applied.count { $0.action == .import } }
    public var added: Int { applied.count { $0.action == .create || $0.action == .replace } }
    public var changed: Int { applied.count { $0.action == .update || $0.action == .migrate } }
    /// Forgotten pools and volumes stay on the host: they are not destroyed.
    public var destroyed: Int { applied.count { $0.action == .delete || $0.action == .replace } }

    /// `Resources: 2 added, 0 changed, 0 destroyed.`
    public var summary: String {
        "Resources: \(imported > 0 ? "\(imported) imported, " : "")\(added) added, \(changed) changed, \(destroyed) destroyed."
    }
}

/// A state write that failed after its change reached the host.
struct StateWriteFailure: Error, Sendable, CustomStringConvertible {
    var description: String
}

/// Executes a plan through the drivers: a loop per host over its changes in apply order, each
/// journaled before its driver call and settled (done with its record, or failed) after it.
public struct Applier: Sendable {
    public var drivers: [String: any Hypervisor]
    public var store: any StateStore
    /// How long a graceful stop may take; whether it may then be forced is each VM's `lifecycle.forceStop`.
    public var shutdownTimeout: Duration
    public var commitID: String?
    /// The id of the state applying: every domain it defines carries it in its marker.
    public var owner: String
    /// What the first state write must find: the serial the plan was made at and the lock held.
    /// Nil for a writer without the lock, at the serial the state has when `apply` begins.
    public var condition: WriteCondition?
    /// How many hosts are changed at once.
    public var parallelism: Int = defaultParallelism
    /// How many VM creations or deletions run at once on one host (`runsAlongside`); libvirtd
    /// serves 5 calls of one client at a time by default (`max_client_requests`).
    public var perHostConcurrency: Int = 4

    public init(drivers: [String: any Hypervisor], store: any StateStore, shutdownTimeout: Duration, commitID: String? = nil,
                condition: WriteCondition? = nil) throws {
        self.drivers = drivers
        self.store = store
        self.shutdownTimeout = shutdownTimeout
        self.commitID = commitID
        self.owner = try store.stateID()
        self.condition = condition
    }

    /// Applies every change of `plan`. A failed change is recorded and the others go on, except
    /// those that require it (a VM and the vGPU it needs, an mdev and the VM that used it).
    /// Hosts are changed in parallel (at most `parallelism` at once), each host's changes in apply
    /// order; hosts a change spans (a VM moving from one to another) are changed as one, so that
    /// what the destination needs is prepared before the VM moves.
    public func apply(_ plan: Plan, runID: Int64, events: @escaping @Sendable (ApplyEvent) -> Void) async throws -> ApplyOutcome {
        let journal = JournalWriter(store: store, condition: try condition ?? WriteCondition(serial: store.serial(), lockID: nil))
        let records = Dictionary(try store.resources().map { ("\($0.kind)/\($0.name)", $0) }, uniquingKeysWith: { $1 })
        let changes = plan.changes.filter(\.isApplied)
        let lanes = try await concurrentMap(Self.lanes(changes), limit: parallelism) { lane in
            try await apply(lane, runID: runID, journal: journal, records: records, events: events)
        }
        // One outcome, in apply order, whichever host finished first.
        let position = Dictionary(changes.enumerated().map { ($1.address, $0) }, uniquingKeysWith: { first, _ in first })
        var outcome = ApplyOutcome()
        outcome.applied = lanes.flatMap(\.applied).sorted { position[$0.address] ?? 0 < position[$1.address] ?? 0 }
        outcome.failed = lanes.flatMap(\.failed).sorted { position[$0.change.address] ?? 0 < position[$1.change.address] ?? 0 }
        return outcome
    }

    /// `changes` split into groups that share no host, each in apply order.
    static func lanes(_ changes: [ResourceChange]) -> [[ResourceChange]] {
        var group: [String: String] = [:]
        func root(_ host: String) -> String {
            guard let parent = group[host], parent != host else { return host }
            let top = root(parent)
            group[host] = top
            return top
        }
        for change in changes {
            group[change.host] = group[change.host] ?? change.host
            if let previous = change.previousHost, previous != change.host {
                group[previous] = group[previous] ?? previous
                group[root(previous)] = root(change.host)
            }
        }
        var order: [String] = []
        var lanes: [String: [ResourceChange]] = [:]
        for change in changes {
            let key = root(change.host)
            if lanes[key] == nil { order.append(key) }
            lanes[key, default: []].append(change)
        }
        return order.map { lanes[$0] ?? [] }
    }

    /// One lane's changes in apply order: one after another, except runs of VM creations or
    /// deletions that share nothing (`runsAlongside`), which go `perHostConcurrency` at a time:
    /// each waits mostly on libvirtd, which serves several calls on one connection at once.
    private func apply(_ changes: [ResourceChange], runID: Int64, journal: JournalWriter, records: [String: ResourceRecord],
                       events: @escaping @Sendable (ApplyEvent) -> Void) async throws -> ApplyOutcome {
        var outcome = ApplyOutcome()
        var failed: Set<ResourceAddress> = []
        for wave in Self.waves(changes) {
            let blocked = failed
            let results = try await concurrentMap(wave, limit: perHostConcurrency) { change in
                try await apply(change, blockedBy: change.requires.first(where: blocked.contains), runID: runID, journal: journal,
                                records: records, events: events)
            }
            for (change, error) in zip(wave, results) {
                if let error {
                    outcome.failed.append((change, error))
                    failed.insert(change.address)
                } else {
                    outcome.applied.append(change)
                }
            }
        }
        return outcome
    }

    /// `changes` cut into waves, in order: a run of consecutive changes that may run alongside
    /// each other with the same action is one wave, every other change a wave of its own.
    static func waves(_ changes: [ResourceChange]) -> [[ResourceChange]] {
        var waves: [[ResourceChange]] = []
        for change in changes {
            if runsAlongside(change), let first = waves.last?.first, runsAlongside(first), first.action == change.action {
                waves[waves.count - 1].append(change)
            } else {
                waves.append([change])
            }
        }
        return waves
    }

    /// A VM created or deleted on its own host, with no passthrough GPU or vGPU and nothing it
    /// waits for: what it does cannot depend on the VMs next to it. Updates and replacements stay
    /// one at a time (restarts in order), as does everything else.
    static func runsAlongside(_ change: ResourceChange) -> Bool {
        guard change.kind == .virtualMachine, change.action == .create || change.action == .delete, change.requires.isEmpty,
              change.previousHost == nil || change.previousHost == change.host else { return false }
        return [change.before, change.after].allSatisfy { value in
            value?.virtualMachine.map { $0.gpus.isEmpty && $0.vgpus.isEmpty } ?? true
        }
    }

    /// Journals, carries out and settles one change; returns why it failed, or nil.
    private func apply(_ change: ResourceChange, blockedBy blocker: ResourceAddress?, runID: Int64, journal: JournalWriter,
                       records: [String: ResourceRecord], events: @escaping @Sendable (ApplyEvent) -> Void) async throws -> String? {
        let entry = JournalEntry(runID: runID, kind: change.kind.rawValue, name: change.name, host: change.host,
                                 action: change.action.rawValue, detail: Self.journalDetail(change))
        if let blocker {
            let message = change.action.isRemoval
                ? "kept: \(blocker) did not change as planned and may still use it"
                : "not applied: it needs \(blocker), which could not be changed"
            try journal.failed(journal.begin(entry), error: message)
            events(.failed(change, message))
            return message
        }
        let journalID = try journal.begin(entry)
        if change.isChange { events(.started(change)) }
        let clock = ContinuousClock()
        let started = clock.now
        do {
            let ownership = try await execute(change) { events(.progress(change, $0)) }
            let update = try recordUpdate(for: change, previous: records["\(change.kind.rawValue)/\(change.name)"])
            do {
                try journal.done(journalID, update: update, ownership: ownership)
            } catch {
                // The host changed and the state cannot say so: going on would widen the gap.
                let next = (error as? StateError)?.refusedWrite == true
                    ? "The apply stopped there: another writer owns the state now. The next run finds the change "
                        + "from its pending journal entry, re-observes the host and records what it finds."
                    : "The apply stopped there; fix what kept the state from recording it (a full disk, a database server that went away) "
                        + "and run again: the next run finds the change "
                        + "from its pending journal entry and records it."
                throw VMPlanError(.state, "error: \(change.address) on \(change.host) was changed, but the state could not record it: \(error). "
                    + next, cause: StateWriteFailure(description: "\(error)"))
            }
            if change.isChange { events(.finished(change, clock.now - started)) }
            return nil
        } catch let error as VMPlanError where error.code == .state {
            throw error
        } catch {
            let message = "\(error)"
            try journal.failed(journalID, error: message)
            events(.failed(change, message))
            return message
        }
    }

    /// Carries out the change's effect; returns what the ownership table learns from it.
    private func execute(_ change: ResourceChange, progress: @escaping ProgressHandler) async throws -> OwnershipUpdate {
        let kind = change.kind.rawValue
        switch change.effect {
        case .none, .recordOnly:
            return .keep
        case .vm(let steps):
            let lifecycle = (change.after ?? change.before)?.virtualMachine?.lifecycle ?? Lifecycle()
            let policy = StopPolicy(timeout: shutdownTimeout, forceAfterTimeout: lifecycle.forceStop)
            for step in steps {
                try await run(step, of: change, policy: policy, progress: progress)
            }
            return .keep
        case .createMediatedDevice(let type, let parent):
            try await driver(for: change.host).createMediatedDevice(uuid: change.name, type: type, parent: parent)
            return .keep
        case .removeMediatedDevice(let libvirtName):
            try await driver(for: change.host).removeMediatedDevice(libvirtName: libvirtName)
            return .keep
        case .createPool(let spec):
            let uuid = try await driver(for: change.host).createPool(spec)
            return .record(OwnedStorage(kind: kind, host: change.host, pool: spec.name, name: spec.name, libvirtKey: uuid))
        case .createVolume(let spec, let content):
            let key = try await driver(for: change.host).createVolume(spec, content: content)
            return .record(OwnedStorage(kind: kind, host: change.host, pool: spec.pool, name: spec.name, libvirtKey: key))
        case .rebuildVolume(let spec, let content, let expectedKey):
            let host = try driver(for: change.host)
            try await host.deleteVolume(pool: spec.pool, name: spec.name, expectedKey: expectedKey, allowAttached: true)
            let key = try await host.createVolume(spec, content: content)
            return .record(OwnedStorage(kind: kind, host: change.host, pool: spec.pool, name: spec.name, libvirtKey: key))
        case .growVolume(let pool, let capacity):
            if let domain = try await driver(for: change.host).growVolume(pool: pool, name: change.name, to: capacity) {
                progress("grown live through running domain \(domain)")
            }
            return .keep
        case .deletePool(let uuid):
            try await driver(for: change.host).deletePool(change.name, expectedUUID: uuid)
            return .forget(kind: kind, host: change.host, pool: change.name, name: change.name)
        case .importDomain(let uuid):
            guard let spec = change.desiredVM else { throw DriverError(.invalidInput, "the import of \(change.name) has no spec to record") }
            try await driver(for: change.host).importDomain(spec, uuid: uuid, owner: owner)
            return .keep
        case .adoptSharedVolume(let pool):
            let key = try await driver(for: change.host).sharedVolumeKey(pool: pool, name: change.name)
            return .record(OwnedStorage(kind: kind, host: change.host, pool: pool, name: change.name, libvirtKey: key))
        case .adoptStorage(let pool, let key):
            return .record(OwnedStorage(kind: kind, host: change.host, pool: pool, name: change.name, libvirtKey: key))
        case .deleteVolume(let pool, let key):
            try await driver(for: change.host).deleteVolume(pool: pool, name: change.name, expectedKey: key, allowAttached: false)
            return .forget(kind: kind, host: change.host, pool: pool, name: change.name)
        case .leaveBehind(let pool, let key, let delete):
            if delete, change.kind == .storagePool {
                try await driver(for: change.host).deletePool(change.name, expectedUUID: key)
            } else if delete {
                try await driver(for: change.host).deleteVolume(pool: pool, name: change.name, expectedKey: key, allowAttached: false)
            }
            return .forget(kind: kind, host: change.host, pool: pool, name: change.name)
        case .createNetwork(let spec):
            try await driver(for: change.host).createNetwork(spec, owner: owner)
            return .keep
        case .updateNetwork(let spec, let restart):
            if restart { progress("stopping and starting the network") }
            try await driver(for: change.host).updateNetwork(spec, owner: owner, restart: restart)
            return .keep
        case .importNetwork(let uuid):
            guard case .network(let spec)? = change.after else { throw DriverError(.invalidInput, "the import of network \(change.name) has no spec to record") }
            try await driver(for: change.host).importNetwork(spec, uuid: uuid, owner: owner)
            return .keep
        case .deleteNetwork:
            try await driver(for: change.host).deleteNetwork(change.name, owner: owner)
            return .keep
        }
    }

    private func run(_ step: VMStep, of change: ResourceChange, policy: StopPolicy, progress: @escaping ProgressHandler) async throws {
        let name = change.name
        switch step {
        case .define(let spec):
            try await driver(for: change.host).define(spec, owner: owner)
        case .redefine(let spec):
            try await driver(for: change.host).update(spec, owner: owner, progress: progress)
        case .start:
            progress("starting")
            try await driver(for: change.host).start(name)
        case .stop:
            try await driver(for: change.host).stop(name, policy: policy, progress: progress)
        case .restart:
            let driver = try driver(for: change.host)
            try await driver.stop(name, policy: policy, progress: progress)
            try await driver.start(name)
        case .delete(let host):
            try await driver(for: host).delete(name, policy: policy, progress: progress)
        case .migrate(let source, let volumes):
            try await driver(for: source).migrate(name, to: driver(for: change.host), volumes: volumes, progress: progress)
        }
    }

    private func driver(for host: String) throws -> any Hypervisor {
        guard let driver = drivers[host] else {
            throw DriverError(.connection, "no connection to host '\(host)'")
        }
        return driver
    }

    /// The record a finished change leaves: its `after` value, or none.
    private func recordUpdate(for change: ResourceChange, previous: ResourceRecord?) throws -> RecordUpdate {
        guard let value = change.after else {
            return .remove(kind: change.kind.rawValue, name: change.name)
        }
        let json = try value.canonicalJSON()
        let hash = value.specHash(canonicalJSON: json)
        let generation = (previous?.generation ?? 0) + (previous?.specHash == hash ? 0 : 1)
        return .upsert(ResourceRecord(
            kind: change.kind.rawValue, name: change.name, host: change.recordHost ?? change.host, specJSON: json, specHash: hash,
            generation: max(generation, 1), commitID: commitID, appliedAt: Date(),
            pendingRestart: change.pendingRestart.map(\.rawValue)))
    }

    /// `mode restart; memory: 1GiB -> 2GiB`, `pool default, 10GiB qcow2; DATA LOSS`.
    static func journalDetail(_ change: ResourceChange) -> String {
        let fields = change.diffs.map { "\($0.field): \($0.before ?? "-") -> \($0.after ?? "-")" }
        return ([change.summary, change.mode.map { "mode \($0.rawValue)" }].compactMap { $0 } + fields
            + (change.dataLoss ? ["DATA LOSS"] : [])).joined(separator: "; ")
    }
}

/// The journal of one apply, written from every host's lane: one write at a time, each carrying
/// the condition the previous one left (the state's serial moves with every settled change).
final class JournalWriter: Sendable {
    private let store: any StateStore
    private let condition: Mutex<WriteCondition>

    init(store: any StateStore, condition: WriteCondition) {
        self.store = store
        self.condition = Mutex(condition)
    }

    func begin(_ entry: JournalEntry) throws -> Int64 {
        try condition.withLock { _ in try store.journalBegin(entry) }
    }

    func done(_ id: Int64, update: RecordUpdate, ownership: OwnershipUpdate) throws {
        try condition.withLock { condition in
            condition = try store.journalDone(id, update: update, ownership: ownership, condition: condition)
        }
    }

    func failed(_ id: Int64, error: String) throws {
        try condition.withLock { _ in try store.journalFailed(id, error: error) }
    }
}
