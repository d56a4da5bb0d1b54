import Drivers
import Foundation
import Spec

/// The machine-readable form of a plan (`plan --json`, `plan --out FILE`) and of an apply
/// (`apply --json`). Versioned; docs/json-format.md describes every field.
public struct PlanReport: Codable, Sendable {
    /// 2: one `changes` array for every kind, with `reason` and `notes` (docs/json-format.md).
    public static let currentFormatVersion = 2
    /// Marks a saved plan file, so `apply FILE` can tell it from a manifest.
    public static let formatName = "vmplan-plan"

    public var format: String
    public var formatVersion: Int
    /// `plan` or `apply`.
    public var kind: String
    public var createdAt: Date
    /// Absolute paths the plan was made from.
    public var manifests: String
    public var state: String
    public var options: PlanOptions
    public var summary: Summary
    /// Every change of every kind, in apply order.
    public var changes: [ChangeReport]
    public var unmanaged: [UnmanagedDomainReport]
    /// Domains with vmplan's marker in no manifest and not in this state: reported, never changed.
    public var orphaned: [UnmanagedDomainReport]
    /// Things the plan could not confirm but did not stop for.
    public var warnings: [String]
    /// Hosts that could not be observed, with the reason; absent when every host answered.
    public var unreachableHosts: [HostFailure]?
    /// What is on those hosts (or moves from or to one): neither planned nor applied; absent when every host answered.
    public var unknown: [UnknownResourceReport]?
    /// What the plan was made from; `apply FILE` refuses when any of it moved.
    public var inputs: PlanInputs
    /// Only for `apply --json`.
    public var result: ApplyResult?

    public struct Summary: Codable, Sendable, Hashable {
        public var add: Int
        public var change: Int
        public var destroy: Int
    }

    public struct ChangeReport: Codable, Sendable, Hashable {
        public var kind: ResourceKind
        public var name: String
        public var host: String
        public var previousHost: String?
        public var action: Action
        public var reason: ChangeReason
        public var mode: UpdateMode?
        public var summary: String?
        public var notes: [String]
        public var fields: [FieldDiff]
        public var ignored: [FieldDiff]
        public var pendingRestart: [VMField]
        /// True when the change destroys data (a volume with reclaim: delete, a pool build).
        public var dataLoss: Bool
        /// For an mdev: the VM that uses it, or used it.
        public var usedBy: String?

        public init(_ change: ResourceChange) {
            kind = change.kind
            name = change.name
            host = change.host
            previousHost = change.previousHost
            action = change.action
            reason = change.reason
            mode = change.mode
            summary = change.summary
            notes = change.notes
            fields = change.diffs
            ignored = change.ignored
            pendingRestart = change.pendingRestart
            dataLoss = change.dataLoss
            usedBy = change.usedBy
        }

        /// Reported: changes, adoptions, and no-ops with something to say (ignored fields, a pending restart).
        static func reports(_ change: ResourceChange) -> Bool {
            change.action != .noop || !change.pendingRestart.isEmpty || !change.ignored.isEmpty
        }
    }

    public struct UnmanagedDomainReport: Codable, Sendable, Hashable {
        public var host: String
        public var name: String
        public var running: Bool
        /// For an orphaned domain: the state its marker names, when it names one.
        public var state: String?

        init(_ domain: UnmanagedDomain) {
            host = domain.host
            name = domain.name
            running = domain.isRunning
            state = domain.ownerState
        }
    }

    public struct UnknownResourceReport: Codable, Sendable, Hashable {
        public var kind: ResourceKind
        public var name: String
        public var host: String
        public var unreachableHost: String

        init(_ resource: UnknownResource) {
            kind = resource.address.kind
            name = resource.address.name
            host = resource.address.host
            unreachableHost = resource.unreachableHost
        }
    }

    public struct ApplyResult: Codable, Sendable, Hashable {
        public var succeeded: Bool
        public var applied: [String]
        public var failed: [Failure]

        public init(succeeded: Bool, applied: [String], failed: [Failure]) {
            self.succeeded = succeeded
            self.applied = applied
            self.failed = failed
        }

        public struct Failure: Codable, Sendable, Hashable {
            public var name: String
            public var host: String
            public var error: String

            public init(name: String, host: String, error: String) {
                self.name = name
                self.host = host
                self.error = error
            }
        }
    }

    public init(kind: String, plan: Plan, inputs: PlanInputs, options: PlanOptions, manifests: String, state: String, createdAt: Date = Date()) {
        self.format = Self.formatName
        self.formatVersion = Self.currentFormatVersion
        self.kind = kind
        self.createdAt = createdAt
        self.manifests = manifests
        self.state = state
        self.options = options
        self.summary = Summary(add: plan.toAdd, change: plan.toChange, destroy: plan.toDestroy)
        self.changes = plan.changes.filter(ChangeReport.reports).map(ChangeReport.init)
        self.unmanaged = plan.unmanaged.map(UnmanagedDomainReport.init)
        self.orphaned = plan.orphans.map(UnmanagedDomainReport.init)
        self.warnings = plan.warnings.map { $0.rendered(as: "warning") }
        self.unreachableHosts = plan.isPartial ? plan.unreachable : nil
        self.unknown = plan.isPartial ? plan.unknown.map(UnknownResourceReport.init) : nil
        self.inputs = inputs
    }

    public static let encoder: JSONEncoder = {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        encoder.dateEncodingStrategy = .iso8601
        return encoder
    }()

    public static let decoder: JSONDecoder = {
        let decoder = JSONDecoder()
        decoder.dateDecodingStrategy = .iso8601
        return decoder
    }()

    public func json() throws -> String {
        String(decoding: try Self.encoder.encode(self), as: UTF8.self)
    }

    /// Reads a saved plan, or returns nil when `data` is not one (a manifest, say).
    public static func savedPlan(from data: Data) throws -> PlanReport? {
        struct Header: Decodable { var format: String?; var formatVersion: Int? }
        guard let header = try? decoder.decode(Header.self, from: data), header.format == formatName else { return nil }
        guard header.formatVersion == currentFormatVersion else {
            throw PlanFileError("the plan file has format version \(header.formatVersion ?? 0); this vmplan reads version \(currentFormatVersion) "
                + "only: make the plan again (vmplan plan --out FILE)")
        }
        return try decoder.decode(PlanReport.self, from: data)
    }
}

public struct PlanFileError: Error, Sendable, CustomStringConvertible {
    public var description: String
    public init(_ description: String) { self.description = description }
}

/// A rendering of the three views a plan was made from: per resource, its compared fields.
public struct PlanInputs: Codable, Sendable, Hashable {
    /// VirtualMachine name → field → value, from the manifests.
    public var desired: [String: [String: String]]
    /// VirtualMachine name → field → value, from the state database.
    public var recorded: [String: [String: String]]
    /// `host/domain` → field → value, from the hosts, for the domains named in the manifests or the state.
    public var live: [String: [String: String]]

    public init(_ snapshot: Snapshot) {
        desired = Dictionary(uniqueKeysWithValues: snapshot.desired.map { ($0.value.name, Self.fields(of: $0.value)) })
        recorded = snapshot.recorded.mapValues { record in
            Self.fields(of: record.spec).merging(["generation": String(record.generation),
                                                  "pendingRestart": record.pendingRestart.map(\.rawValue).joined(separator: ",")]) { $1 }
        }
        // Only domains the plan can be about: others (another state's VMs, hand-made ones) may come
        // and go without making this plan wrong.
        let relevant = Set(snapshot.desired.map(\.value.name)).union(snapshot.recorded.keys)
        var live: [String: [String: String]] = [:]
        for (host, domains) in snapshot.live {
            for domain in domains where relevant.contains(domain.name) {
                var fields = Self.fields(of: domain.spec)
                fields["owner"] = domain.owner?.resource ?? "none"
                fields["running"] = domain.isRunning ? "yes" : "no"
                if let running = domain.runningSpec {
                    for (field, value) in Self.fields(of: running) where fields[field] != value {
                        fields["running " + field] = value
                    }
                }
                live["\(host)/\(domain.name)"] = fields
            }
        }
        self.live = live
        addStorage(snapshot.storage, vms: snapshot.desired)
        addNetworks(snapshot.networks, vms: snapshot.desired)
    }

    private static func fields(of spec: VirtualMachineSpec) -> [String: String] {
        var fields = Dictionary(uniqueKeysWithValues: VMFields.values(of: spec).map { ($0.key.rawValue, $0.value) })
        fields[VMField.host.rawValue] = spec.host
        if !spec.lifecycle.isDefault {
            let lifecycle = spec.lifecycle
            fields[VMField.lifecycle.rawValue] = "protect=\(lifecycle.protect) restart=\(lifecycle.restart.rawValue) forceStop=\(lifecycle.forceStop) ignoreChanges=\(lifecycle.ignoreChanges.map(\.rawValue).joined(separator: ","))"
                + (lifecycle.migrate == .allowed ? "" : " migrate=\(lifecycle.migrate.rawValue)")
        }
        return fields
    }

    /// What moved between `self` (when the plan was made) and `now`, one line per resource; empty when nothing did.
    public func differences(to now: PlanInputs) -> [String] {
        Self.compare(desired, now.desired, view: "manifests")
            + Self.compare(recorded, now.recorded, view: "state database")
            + Self.compare(live, now.live, view: "live state")
    }

    private static func compare(_ before: [String: [String: String]], _ after: [String: [String: String]], view: String) -> [String] {
        var lines: [String] = []
        for key in Set(before.keys).union(after.keys).sorted() {
            switch (before[key], after[key]) {
            case (nil, .some): lines.append("\(view): \(key) appeared")
            case (.some, nil): lines.append("\(view): \(key) disappeared")
            case (let old?, let new?) where old != new:
                let fields = Set(old.keys).union(new.keys).sorted().filter { old[$0] != new[$0] }
                let detail = fields.map { "\($0) \(old[$0] ?? "-") -> \(new[$0] ?? "-")" }.joined(separator: ", ")
                lines.append("\(view): \(key): \(detail)")
            default: break
            }
        }
        return lines
    }
}
