import Drivers
import Foundation
import Spec
import State

/// What `vmplan status` shows: per VirtualMachine in the manifests, one printable status, where it
/// runs, its addresses, the changes waiting for its next boot and whether the host matches the
/// manifests. Versioned like the plan and drift formats; docs/status.md describes every field.
public struct StatusReport: Codable, Sendable {
    public static let formatName = "vmplan-status"
    public static let currentFormatVersion = 1

    public var format: String = Self.formatName
    public var formatVersion: Int = Self.currentFormatVersion
    public var createdAt: Date
    public var manifests: String
    public var state: String
    /// In the manifests' order of hosts, then by name.
    public var vms: [VM]
    /// Why no plan could be made (the manifests do not plan); SYNC is then `Unknown` for every VM.
    public var planError: String?
    /// Hosts that did not answer; their VMs are `Unknown`.
    public var unknownHosts: [DriftReport.UnknownHost]

    public struct VM: Codable, Sendable, Hashable {
        public var name: String
        public var host: String
        public var status: PrintableStatus
        /// libvirt's state of the domain; nil when there is none or its host did not answer.
        public var power: GuestStatus.Power?
        /// The guest agent: nil without its channel, else whether it answers.
        public var agentConnected: Bool?
        public var addresses: [GuestAddress]
        /// Fields applied to the definition that the running VM only takes at its next boot.
        public var pendingRestart: [String]
        public var sync: Sync
        /// What a plan would do to the VM (`update: memory, vcpus`), when it is out of sync.
        public var drift: String?
        /// Why it is `Failed`, `Unowned` or `Unknown`.
        public var message: String?
    }

    /// Whether the host matches the manifests, as a plan made now sees it.
    public enum Sync: String, Codable, Sendable, Hashable {
        case synced = "Synced"
        case outOfSync = "OutOfSync"
        case unknown = "Unknown"
    }

    /// One word per VM, in the style of KubeVirt's printable status. When several hold, the first
    /// in this order is shown (`precedence`).
    public enum PrintableStatus: String, Codable, Sendable, Hashable, CaseIterable {
        /// Its host did not answer.
        case unknown = "Unknown"
        /// Its host has no domain of that name: never applied, or removed by hand.
        case missing = "Missing"
        /// A domain of that name exists but is not this state's (made by hand, or another state's).
        case unowned = "Unowned"
        /// The last apply that changed it failed on it, and none since succeeded.
        case failed = "Failed"
        case crashed = "Crashed"
        case migrating = "Migrating"
        /// Paused by libvirt or someone, or suspended by the guest (S3).
        case paused = "Paused"
        /// Asked to shut down and not off yet.
        case stopping = "Stopping"
        /// Running, with a guest agent channel whose agent has not answered yet.
        case starting = "Starting"
        case running = "Running"
        case stopped = "Stopped"

        /// Index in the order above: lower wins.
        public var precedence: Int { Self.allCases.firstIndex(of: self)! }
    }

    public func json() throws -> String {
        String(decoding: try PlanReport.encoder.encode(self), as: UTF8.self)
    }

    /// Counts by status, in precedence order, without the zeros: `2 Running, 1 Stopped`.
    public var summary: String {
        let counts = Dictionary(grouping: vms, by: \.status).mapValues(\.count)
        let parts = PrintableStatus.allCases.compactMap { status in counts[status].map { "\($0) \(status.rawValue)" } }
        let outOfSync = vms.filter { $0.sync == .outOfSync }.count
        return (parts.isEmpty ? ["no VMs"] : parts).joined(separator: ", ") + (outOfSync > 0 ? "; \(outOfSync) out of sync" : "")
    }
}

extension StatusReport.VM {
    /// The status of a VM whose host answered, from what the domain does, who owns it and how the
    /// last apply went; the first that holds in `PrintableStatus` order wins.
    public static func status(domain: ObservedDomain?, stateID: String?, guest: GuestStatus?, failure: String?)
        -> (StatusReport.PrintableStatus, String?) {
        guard let domain else { return (.missing, nil) }
        guard let owner = domain.owner else { return (.unowned, "the domain has no vmplan marker: made by hand or by another tool") }
        if let stateID, let state = owner.state, state != stateID {
            return (.unowned, "the domain's marker names another state (\(state))")
        }
        if let failure { return (.failed, failure) }
        switch guest?.power {
        case .crashed?: return (.crashed, nil)
        case .migrating?: return (.migrating, nil)
        case .paused?, .suspended?: return (.paused, nil)
        case .shuttingDown?: return (.stopping, nil)
        case .running?: return (guest?.agentConnected == false ? .starting : .running, nil)
        case .shutOff?, nil: return (domain.isRunning ? .running : .stopped, nil)
        case .unknown?: return (.unknown, "libvirt reports a state vmplan does not know")
        }
    }
}
