import Foundation
import Spec

/// What `vmplan drift` found: per resource, whether the host still matches what vmplan
/// recorded (drift), and whether the manifests moved past the record (pending). Versioned like
/// the plan format; docs/drift.md describes every field.
public struct DriftReport: Codable, Sendable {
    public static let formatName = "vmplan-drift"
    public static let currentFormatVersion = 1

    public var format: String = Self.formatName
    public var formatVersion: Int = Self.currentFormatVersion
    public var createdAt: Date
    /// Absolute paths the check was made from.
    public var manifests: String
    public var state: String
    public var summary: Summary
    /// Every resource the manifests or the state name, in apply order's kinds, then host and name.
    public var resources: [Entry]
    /// Domains without vmplan's marker.
    public var unmanaged: [PlanReport.UnmanagedDomainReport]
    /// Domains with vmplan's marker that no manifest names and this state did not record.
    public var orphaned: [PlanReport.UnmanagedDomainReport]
    /// Hosts that could not be checked; their resources are `unknown`.
    public var unknownHosts: [UnknownHost]

    public struct Summary: Codable, Sendable, Hashable {
        /// Resources the manifests or the state name.
        public var total: Int
        /// Of those, the ones on hosts that answered and that this state recorded.
        public var managed: Int
        public var inSync: Int
        public var drifted: Int
        public var missing: Int
        public var pending: Int
        /// In the manifests only: never applied, so there is nothing on a host to compare.
        public var notApplied: Int
        public var unknown: Int
        public var unmanaged: Int
        public var orphaned: Int
        /// Differences left alone by `lifecycle.ignoreChanges` or a DriftPolicy: counted, not hidden.
        public var ignored: Int
        /// The share of domains on the answering hosts that vmplan manages (this state's), 0…1;
        /// 1 when there are none.
        public var coverage: Double

        public init(total: Int = 0, managed: Int = 0, inSync: Int = 0, drifted: Int = 0, missing: Int = 0, pending: Int = 0,
                    notApplied: Int = 0, unknown: Int = 0, unmanaged: Int = 0, orphaned: Int = 0, ignored: Int = 0, coverage: Double = 1) {
            self.total = total
            self.managed = managed
            self.inSync = inSync
            self.drifted = drifted
            self.missing = missing
            self.pending = pending
            self.notApplied = notApplied
            self.unknown = unknown
            self.unmanaged = unmanaged
            self.orphaned = orphaned
            self.ignored = ignored
            self.coverage = coverage
        }
    }

    /// Live against recorded.
    public enum Status: String, Codable, Sendable, Hashable {
        /// The host matches the record.
        case inSync = "in-sync"
        /// Someone changed it on the host: `fields` hold recorded → live.
        case drifted
        /// Recorded, but gone from the host.
        case missing
        /// Its host did not answer.
        case unknown
        /// Not recorded yet (only in the manifests): nothing to compare with the host.
        case notApplied = "not-applied"
    }

    public struct Entry: Codable, Sendable, Hashable {
        public var kind: ResourceKind
        public var name: String
        public var host: String
        public var status: Status
        /// Drifted fields: `before` is the recorded value, `after` the live one; origin `drift`.
        public var fields: [FieldDiff]
        /// Differences a rule says to ignore: `before` recorded, `after` live.
        public var ignored: [FieldDiff]
        /// The manifests differ from the record (a commit not applied yet): `before` is the
        /// recorded value, `after` the manifests'. `pendingAction` says what an apply would do.
        public var pending: [FieldDiff]
        public var pendingAction: Action?
        /// When this resource's oldest open drift was first seen (from the state's history).
        public var firstSeen: Date?
        /// Where the resource is declared, `file:line:column`, when the manifests declare it.
        public var location: String?

        public init(kind: ResourceKind, name: String, host: String, status: Status, fields: [FieldDiff] = [],
                    ignored: [FieldDiff] = [], pending: [FieldDiff] = [], pendingAction: Action? = nil,
                    firstSeen: Date? = nil, location: String? = nil) {
            self.kind = kind
            self.name = name
            self.host = host
            self.status = status
            self.fields = fields
            self.ignored = ignored
            self.pending = pending
            self.pendingAction = pendingAction
            self.firstSeen = firstSeen
            self.location = location
        }

        public var address: ResourceAddress { ResourceAddress(kind, name, host: host) }
        public var isPending: Bool { pendingAction != nil }
    }

    public struct UnknownHost: Codable, Sendable, Hashable {
        public var host: String
        public var uri: String
        public var error: String

        public init(host: String, uri: String, error: String) {
            self.host = host
            self.uri = uri
            self.error = error
        }
    }

    public init(createdAt: Date = Date(), manifests: String, state: String, resources: [Entry],
                unmanaged: [UnmanagedDomain], orphaned: [UnmanagedDomain], unknownHosts: [UnknownHost], coverage: Double) {
        self.createdAt = createdAt
        self.manifests = manifests
        self.state = state
        self.resources = resources
        self.unmanaged = unmanaged.map(PlanReport.UnmanagedDomainReport.init)
        self.orphaned = orphaned.map(PlanReport.UnmanagedDomainReport.init)
        self.unknownHosts = unknownHosts
        let count = { (status: Status) in resources.count { $0.status == status } }
        summary = Summary(total: resources.count, managed: resources.count { $0.status != .unknown && $0.status != .notApplied },
                          inSync: count(.inSync), drifted: count(.drifted), missing: count(.missing),
                          pending: resources.count(where: \.isPending), notApplied: count(.notApplied), unknown: count(.unknown),
                          unmanaged: unmanaged.count,
                          orphaned: orphaned.count, ignored: resources.reduce(0) { $0 + $1.ignored.count }, coverage: coverage)
    }

    /// Drift or missing resources: what `vmplan drift` exits 2 for.
    public var hasDrift: Bool { summary.drifted + summary.missing > 0 }

    public func json() throws -> String {
        String(decoding: try PlanReport.encoder.encode(self), as: UTF8.self)
    }
}
