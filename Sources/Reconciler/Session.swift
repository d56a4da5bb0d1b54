import Drivers
import Foundation
import Spec
import State

/// One run against one state database: the single entry point that `plan`, `apply` and later
/// callers (drift, reconcile, a server) share. It owns the lock, the run record, settling an
/// interrupted apply's journal, checking a saved plan, applying and the outcome; callers parse,
/// ask and print.
public struct Session: Sendable {
    public var manifest: Manifest
    public var store: any StateStore
    /// Absolute paths of the manifests and the state, written into plan files and reports.
    public var manifestsPath: String
    public var statePath: String
    /// Who runs it (`user@host`), recorded with the run.
    public var actor: String
    /// The git commit the manifests come from (a reconcile), recorded with the run and the resources.
    public var commit: RunCommit?
    public var connect: Reconciliation.Connector
    /// How long the lock of an apply binds without a heartbeat; it is renewed every third of it.
    public var lockLease: TimeInterval = LockRequest.defaultLease
    /// How many hosts are observed, and applied to, at once.
    public var parallelism: Int = defaultParallelism

    public init(manifest: Manifest, store: any StateStore, manifestsPath: String, statePath: String, actor: String,
                commit: RunCommit? = nil,
                connect: @escaping Reconciliation.Connector = { host in try await LibvirtDriver.connect(to: host) }) {
        self.manifest = manifest
        self.store = store
        self.manifestsPath = manifestsPath
        self.statePath = statePath
        self.actor = actor
        self.commit = commit
        self.connect = connect
    }

    /// A plan and what it was made from.
    public struct Planned: Sendable {
        public var plan: Plan
        public var report: PlanReport
        /// Journal entries an earlier apply left pending: the plan starts from what the hosts show now.
        public var interrupted: [JournalEntry]
        /// The apply that holds the lock while this plan was made, if one does; its pending entries
        /// are changes in progress, not in `interrupted`.
        public var runningApply: RunningApply?
        /// The stale lock an apply took over to make this plan, if it did.
        public var lockTakeover: LockTakeover?
        fileprivate var drivers: [String: any Hypervisor]

        public struct RunningApply: Sendable {
            public var holder: LockHolder
            /// Changes it has begun and not finished.
            public var inProgress: [JournalEntry]

            public init(holder: LockHolder, inProgress: [JournalEntry]) {
                self.holder = holder
                self.inProgress = inProgress
            }
        }
    }

    /// What an apply ended with.
    public enum Applied: Sendable {
        /// Nothing to change or record.
        case nothingToDo(PlanReport)
        /// The plan was not approved; nothing was changed.
        case cancelled
        /// The plan ran; `report.result` says how it went.
        case finished(ApplyOutcome, PlanReport)
    }

    /// Plans without changing anything on a host; records the run.
    public func plan(_ options: PlanOptions) async throws -> Planned {
        let runID = try store.beginRun(.plan, actor: actor, commit: commit)
        return try await recording(runID) {
            let planned = try await makePlan(options, kind: "plan", saved: nil)
            try store.finishRun(runID, result: planned.plan.isPartial ? .partial : .succeeded, summary: planned.plan.summary)
            return planned
        }
    }

    /// Plans (or takes a saved plan, refused if anything it was made from moved), asks `approve`,
    /// and applies, with the state lock held throughout. `approve` sees the plan first; it is asked
    /// even when nothing is to change, so that callers can show the plan.
    /// - Parameters:
    ///   - runKind: `.apply`, or `.reconcile` for a commit from git.
    ///   - precondition: checked with the lock held and the run begun, before anything is planned
    ///     (a reconcile's commit ancestry); a thrown error ends the run as refused.
    public func apply(_ options: PlanOptions, saved: SavedPlan? = nil, shutdownTimeout: Duration, runKind: RunKind = .apply,
                      precondition: @Sendable (any StateStore) throws -> Void = { _ in },
                      approve: @Sendable (Planned) async -> Bool,
                      events: @escaping @Sendable (ApplyEvent) -> Void) async throws -> Applied {
        let lock: StateLock
        do {
            lock = try store.acquireLock(LockRequest(holder: actor, operation: runKind, commitID: commit?.id, lease: lockLease))
        } catch let error as StateError {
            throw VMPlanError(.locked, "\(error)", cause: error)
        }
        defer { try? lock.release() }
        let runID = try store.beginRun(runKind, actor: actor, commit: commit)
        do {
            try precondition(store)
        } catch {
            try store.finishRun(runID, result: .refused, summary: "\(error)")
            throw error
        }
        return try await recording(runID) {
            // Writes land only while the state is at this serial and the lock is still this run's.
            let condition = WriteCondition(serial: try store.serial(), lockID: lock.id)
            var planned = try await makePlan(saved?.report.options ?? options, kind: "apply", saved: saved)
            planned.lockTakeover = lock.takeover
            try store.resolvePending(planned.interrupted.compactMap(\.id), note: "interrupted; re-observed by run \(runID)")
            let plan = planned.plan
            let approved = await approve(planned)
            guard plan.hasChanges || plan.hasRecordUpdates else {
                try store.finishRun(runID, result: plan.isPartial ? .partial : .succeeded, summary: "no changes. " + plan.summary)
                planned.report.result = .init(succeeded: true, applied: [], failed: [])
                return .nothingToDo(planned.report)
            }
            guard approved else {
                try store.finishRun(runID, result: .refused, summary: "cancelled at the prompt")
                return .cancelled
            }
            var applier = try Applier(drivers: planned.drivers, store: store, shutdownTimeout: shutdownTimeout, commitID: commit?.id,
                                      condition: condition)
            applier.parallelism = parallelism
            let outcome = try await applier.apply(plan, runID: runID, events: events)
            planned.report.result = PlanReport.ApplyResult(outcome)
            if outcome.succeeded {
                try store.finishRun(runID, result: plan.isPartial ? .partial : .succeeded,
                                    summary: outcome.summary + (plan.isPartial ? " \(plan.unknown.count) unknown on unreachable hosts." : ""))
            } else {
                try store.finishRun(runID, result: .failed, summary: "\(outcome.failed.count) failed. \(outcome.summary)")
            }
            return .finished(outcome, planned.report)
        }
    }

    private func makePlan(_ options: PlanOptions, kind: String, saved: SavedPlan?) async throws -> Planned {
        let pending = try store.pendingJournal()
        // An apply holds the lock itself, so what it finds pending was left by one that stopped.
        // A plan that finds the lock alive sees the changes of an apply running now.
        let holder = kind == "apply" ? nil : try store.lockHolder().flatMap { $0.isAlive() ? $0 : nil }
        let runningApply = holder.map { Planned.RunningApply(holder: $0, inProgress: pending) }
        let interrupted = runningApply == nil ? pending : []
        var snapshot: Snapshot
        do {
            snapshot = try await Reconciliation.snapshot(of: manifest, store: store, connect: connect, tolerateUnreachable: true,
                                                         parallelism: parallelism)
            // Some hosts out make a partial plan; all of them out, nothing to plan.
            if !snapshot.unreachable.isEmpty, snapshot.unreachable.count == manifest.hosts.count {
                throw HostUnreachable(failures: snapshot.unreachable)
            }
            snapshot.interruptedCreates = Reconciliation.creates(in: interrupted)
        } catch let error as HostUnreachable {
            throw VMPlanError(.unreachable, "\(error)", cause: error)
        } catch let error as PlanError {
            throw VMPlanError(.planFailed, error.description, cause: error)
        }
        let inputs = snapshot.inputs
        if let saved {
            let moved = saved.report.inputs.differences(to: inputs)
            guard moved.isEmpty else {
                throw VMPlanError(.stalePlan, (["error: the saved plan \(saved.path) no longer matches what it was made from:"]
                    + moved.map { "  - \($0)" }
                    + ["Nothing was changed. Make a new plan (vmplan plan --out FILE) and apply that."]).joined(separator: "\n"))
            }
        }
        let plan: Plan
        do {
            plan = try snapshot.plan(options)
        } catch {
            throw VMPlanError(.planFailed, error.description, cause: error)
        }
        let report = PlanReport(kind: kind, plan: plan, inputs: inputs, options: options, manifests: manifestsPath, state: statePath)
        // Same inputs make the same plan, unless something the inputs do not cover (a device
        // inventory) moved: then the saved plan is not what would be applied.
        if let saved, saved.report.changes != report.changes {
            throw VMPlanError(.stalePlan, "error: the saved plan \(saved.path) differs from a plan made now (a host's devices changed?); "
                + "nothing was changed. Make a new plan (vmplan plan --out FILE) and apply that.")
        }
        return Planned(plan: plan, report: report, interrupted: interrupted, runningApply: runningApply, drivers: snapshot.drivers)
    }

    /// Runs `body`; a failure is recorded as the run's result before it is thrown on.
    func recording<T>(_ runID: Int64, _ body: () async throws -> T) async throws -> T {
        do {
            return try await body()
        } catch {
            try? store.finishRun(runID, result: .failed, summary: "\(error)")
            throw error
        }
    }
}

/// A plan file from `vmplan plan --out FILE`, to apply exactly.
public struct SavedPlan: Sendable {
    public var report: PlanReport
    public var path: String

    public init(report: PlanReport, path: String) {
        self.report = report
        self.path = path
    }
}

extension PlanReport.ApplyResult {
    /// Applied changes by address (`web-1`, `volume web-1-root`, `mdev 3f2…`), failures in apply order.
    public init(_ outcome: ApplyOutcome) {
        self.init(succeeded: outcome.succeeded,
                  applied: outcome.applied.filter(\.isChange).map(\.address.description),
                  failed: outcome.failed.map { Failure(name: $0.change.address.description, host: $0.change.host, error: $0.error) })
    }
}
