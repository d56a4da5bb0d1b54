import Drivers
import Spec

/// What a change does to a resource, in the order users know from Terraform.
public enum Action: String, Sendable, Codable, Hashable {
    case create, update, replace, delete
    case noop = "no-op"
}

/// How an update reaches a VM.
public enum UpdateMode: String, Sendable, Codable, Hashable, Comparable {
    /// Applied to the running domain and to its persistent config, without a reboot.
    case live
    /// Only the persistent config changes (the VM is stopped, or the field waits for the next boot).
    case nextBoot = "next-boot"
    /// The config changes, then the VM is shut down and started again.
    case restart

    private var rank: Int {
        switch self {
        case .live: 0
        case .nextBoot: 1
        case .restart: 2
        }
    }

    public static func < (lhs: UpdateMode, rhs: UpdateMode) -> Bool { lhs.rank < rhs.rank }
}

/// Why a field differs: someone edited the manifests, or someone changed the host by hand.
public enum DiffOrigin: String, Sendable, Codable, Hashable {
    case manifest
    case drift
}

public struct FieldDiff: Sendable, Codable, Hashable {
    public var field: String
    public var before: String?
    public var after: String?
    public var origin: DiffOrigin

    public init(field: String, before: String?, after: String?, origin: DiffOrigin) {
        self.field = field
        self.before = before
        self.after = after
        self.origin = origin
    }
}

/// One planned change to one VirtualMachine.
public struct Change: Sendable, Hashable {
    public var kind = "VirtualMachine"
    public var name: String
    /// The host the change happens on (the new host, for a replace).
    public var host: String
    public var action: Action
    public var mode: UpdateMode?
    public var diffs: [FieldDiff]
    /// For people only; the applier never branches on them.
    public var reasons: [String]
    /// The spec to apply; nil for a delete.
    public var desired: VirtualMachineSpec?
    /// The domain as observed; nil when it does not exist.
    public var observed: ObservedDomain?
    /// Where the domain to remove lives, for delete and replace.
    public var previousHost: String?
    /// True when the recorded state must be written even though nothing on the host changes.
    public var recordsOnly: Bool
    /// Differences left alone because `lifecycle.ignoreChanges` names their field.
    public var ignored: [FieldDiff] = []
    /// Fields whose new value the running VM will only see at its next boot, once this change is applied.
    public var pendingRestart: [String] = []

    public init(name: String, host: String, action: Action, mode: UpdateMode? = nil, diffs: [FieldDiff] = [],
                reasons: [String] = [], desired: VirtualMachineSpec?, observed: ObservedDomain?,
                previousHost: String? = nil, recordsOnly: Bool = false) {
        self.name = name
        self.host = host
        self.action = action
        self.mode = mode
        self.diffs = diffs
        self.reasons = reasons
        self.desired = desired
        self.observed = observed
        self.previousHost = previousHost
        self.recordsOnly = recordsOnly
    }
}

/// A domain that exists on a host without vmplan's marker: reported, never touched.
public struct UnmanagedDomain: Sendable, Hashable {
    public var host: String
    public var name: String
    public var isRunning: Bool

    public init(host: String, name: String, isRunning: Bool) {
        self.host = host
        self.name = name
        self.isRunning = isRunning
    }
}

public struct Plan: Sendable {
    /// Every managed VM, changed or not, sorted by host then name.
    public var changes: [Change]
    public var unmanaged: [UnmanagedDomain]
    /// Mediated devices to create (before the VMs) and to remove (after them).
    public var deviceChanges: [DeviceChange]
    /// What the plan could not confirm but does not stop for (a Host with deviceChecks: warn).
    public var warnings: [Diagnostic]
    /// Pools and volumes (StoragePlanner), applied around the VMs: creations before, deletions after.
    public var storage: [StorageChange] = []

    public init(changes: [Change], unmanaged: [UnmanagedDomain], deviceChanges: [DeviceChange] = [], warnings: [Diagnostic] = []) {
        self.changes = changes
        self.unmanaged = unmanaged
        self.deviceChanges = deviceChanges
        self.warnings = warnings
    }

    public var actionable: [Change] { changes.filter { $0.action != .noop } }
    /// Changes that touch nothing on a host but must be recorded (first sight of an adopted VM, …).
    public var hasRecordUpdates: Bool { changes.contains { $0.recordsOnly } || storage.contains { $0.record != nil } }
    public var hasChanges: Bool { !actionable.isEmpty || !deviceChanges.isEmpty || storage.contains(where: \.isActionable) }

    public var toAdd: Int {
        changes.filter { $0.action == .create || $0.action == .replace }.count + deviceChanges.filter { $0.action == .create }.count
            + storage.filter { $0.action == .create }.count
    }
    public var toChange: Int { changes.filter { $0.action == .update }.count + storage.filter { $0.action == .update }.count }
    /// Forgotten pools and volumes stay on the host: they are not destroyed.
    public var toDestroy: Int {
        changes.filter { $0.action == .delete || $0.action == .replace }.count + deviceChanges.filter { $0.action == .delete }.count
            + storage.filter { $0.action == .delete && !$0.isForget }.count
    }
}

/// Problems that make the whole plan invalid (unknown host, a name taken by an unmanaged
/// domain, …); nothing is touched. Each is a `Diagnostic`, located in the manifests when it can be.
public struct PlanError: Error, Sendable, CustomStringConvertible {
    public var problems: [Diagnostic]

    public init(_ problems: [Diagnostic]) { self.problems = problems }

    public var description: String {
        (problems.map(\.description) + ["The plan failed; nothing was changed."]).joined(separator: "\n")
    }
}
