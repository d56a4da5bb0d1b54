import Drivers
import Spec

/// A domain that exists on a host without vmplan's marker: reported, never touched.
public struct UnmanagedDomain: Sendable, Hashable {
    public var host: String
    public var name: String
    public var isRunning: Bool
    /// For a domain with vmplan's marker: the state its marker names (nil: a marker from before state ids).
    public var ownerState: String?

    public init(host: String, name: String, isRunning: Bool, ownerState: String? = nil) {
        self.host = host
        self.name = name
        self.isRunning = isRunning
        self.ownerState = ownerState
    }
}

/// The order apply runs changes in, defined once: what others need is built first and removed
/// last. VMs are removed before any VM is built, to free memory and devices for the new ones.
public enum ApplyOrder {
    public struct Phase: Sendable, Hashable {
        public var kind: ResourceKind
        public var removal: Bool
    }

    public static let phases: [Phase] = [
        Phase(kind: .storagePool, removal: false),
        Phase(kind: .volume, removal: false),
        Phase(kind: .network, removal: false),
        Phase(kind: .mediatedDevice, removal: false),
        Phase(kind: .virtualMachine, removal: true),
        Phase(kind: .virtualMachine, removal: false),
        Phase(kind: .mediatedDevice, removal: true),
        Phase(kind: .network, removal: true),
        Phase(kind: .volume, removal: true),
        Phase(kind: .storagePool, removal: true),
    ]

    static func phase(of change: ResourceChange) -> Int {
        phases.firstIndex(of: Phase(kind: change.kind, removal: change.action.isRemoval)) ?? phases.count
    }

    /// `changes` in apply order; within a phase, the order they came in (bases before overlays, …).
    public static func sorted(_ changes: [ResourceChange]) -> [ResourceChange] {
        changes.enumerated()
            .sorted { (phase(of: $0.element), $0.offset) < (phase(of: $1.element), $1.offset) }
            .map(\.element)
    }
}

public struct Plan: Sendable {
    /// Every change of every kind, in apply order (`ApplyOrder`), no-ops of managed VMs included.
    public private(set) var changes: [ResourceChange]
    public var unmanaged: [UnmanagedDomain]
    /// Domains carrying vmplan's marker that no manifest names and this state did not record:
    /// another state's, or left behind. Reported, never changed.
    public var orphans: [UnmanagedDomain]
    /// What the plan could not confirm but does not stop for (a Host with deviceChecks: warn).
    public var warnings: [Diagnostic]
    /// Hosts that could not be observed: the plan covers the others only.
    public var unreachable: [HostFailure] = []
    /// What is on those hosts (or moves from or to one): neither planned nor applied.
    public var unknown: [UnknownResource] = []

    public init(changes: [ResourceChange], unmanaged: [UnmanagedDomain] = [], orphans: [UnmanagedDomain] = [],
                warnings: [Diagnostic] = []) {
        self.changes = Self.linked(ApplyOrder.sorted(changes))
        self.unmanaged = unmanaged
        self.orphans = orphans
        self.warnings = warnings
    }

    /// A VM runs only once the vGPUs and networks it needs exist; an mdev goes only once the VM that used it changed.
    private static func linked(_ changes: [ResourceChange]) -> [ResourceChange] {
        let vmChanges = Dictionary(changes.filter { $0.kind == .virtualMachine && $0.isApplied }.map { ($0.name, $0.address) },
                                   uniquingKeysWith: { first, _ in first })
        var linked = changes.map { change in
            var change = change
            change.requires = []
            return change
        }
        for index in linked.indices where linked[index].kind == .mediatedDevice {
            guard let vm = linked[index].usedBy, let vmAddress = vmChanges[vm] else { continue }
            if linked[index].action.isRemoval {
                linked[index].requires.append(vmAddress)
            } else if let user = linked.firstIndex(where: { $0.address == vmAddress }) {
                linked[user].requires.append(linked[index].address)
            }
        }
        // A VM migrates only once its volumes (and seed) are there on its new host: copies made
        // for them, or volumes of shared storage recorded there.
        for index in linked.indices {
            guard case .vm(let steps) = linked[index].effect,
                  steps.contains(where: { if case .migrate = $0 { true } else { false } }) else { continue }
            let carried = Set((linked[index].desiredVM?.attachedDisks ?? []).map(\.volume))
            let host = linked[index].host
            linked[index].requires += changes.filter { $0.kind == .volume && $0.host == host && carried.contains($0.name) && $0.isApplied && !$0.action.isRemoval }
                .map(\.address)
        }
        // What a move leaves on the old host goes only once the move is done: the VM migrated, and
        // the pool or volume made on the new host.
        for index in linked.indices {
            guard case .leaveBehind = linked[index].effect else { continue }
            let change = linked[index]
            linked[index].requires += changes.filter { $0.kind == change.kind && $0.name == change.name && $0.host != change.host && $0.isApplied }
                .map(\.address)
            if let vm = change.usedBy, let vmAddress = vmChanges[vm] { linked[index].requires.append(vmAddress) }
            // A pool's old side waits for its volumes' (and so for their VMs).
            guard change.kind == .storagePool else { continue }
            linked[index].requires += changes.filter { volume in
                guard volume.kind == .volume, volume.host == change.host, case .leaveBehind(let pool, _, _) = volume.effect else { return false }
                return pool == change.name
            }.map(\.address)
        }
        let networkBuilds = changes.filter { $0.kind == .network && $0.isApplied && !$0.action.isRemoval }.map(\.address)
        for index in linked.indices {
            guard let nics = linked[index].desiredVM?.networks, linked[index].isApplied else { continue }
            linked[index].requires += networkBuilds.filter { network in
                network.host == linked[index].host && nics.contains { $0.source == .network(network.name) }
            }
        }
        return linked
    }

    public func changes(of kind: ResourceKind) -> [ResourceChange] { changes.filter { $0.kind == kind } }
    public var actionable: [ResourceChange] { changes.filter(\.isChange) }
    public var hasChanges: Bool { changes.contains(where: \.isChange) }
    /// Changes that touch nothing on a host but must be recorded (an adopted VM, a forgotten volume, …).
    public var hasRecordUpdates: Bool { changes.contains(where: \.isApplied) }

    /// Domains, pools and volumes taken over as they are (`import`).
    public var toImport: Int { changes.count { $0.action == .import } }
    public var toAdd: Int { changes.count { $0.action == .create || $0.action == .replace } }
    public var toChange: Int { changes.count { $0.action == .update || $0.action == .migrate } }
    /// Forgotten pools and volumes stay on the host: they are not destroyed.
    public var toDestroy: Int { changes.count { $0.action == .delete || $0.action == .replace } }

    /// Some hosts could not be observed: what is on them is unknown, the rest is planned.
    public var isPartial: Bool { !unreachable.isEmpty }

    /// `Plan: 1 to add, 0 to change, 0 to destroy.`, led by `2 to import, ` when there are imports (as Terraform's),
    /// and how many resources are unknown in a partial plan.
    public var summary: String {
        "Plan: \(toImport > 0 ? "\(toImport) to import, " : "")\(toAdd) to add, \(toChange) to change, \(toDestroy) to destroy."
            + (isPartial ? " \(unknown.count) unknown on \(unreachable.count) unreachable host\(unreachable.count == 1 ? "" : "s")." : "")
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
