/// Whether vmplan may restart a running VM to apply a change.
public enum RestartPolicy: String, Sendable, Codable, CaseIterable {
    /// Changes that need a restart restart the VM (graceful shutdown, then start).
    case allowed
    /// Such changes go to the config only and wait for the VM's next boot.
    case never
}

/// Whether a VM whose host changes may be migrated, or must be replaced (deleted there, created anew).
public enum MigrationPolicy: String, Sendable, Codable, CaseIterable {
    /// Migrated when it can be (docs/fleets.md), replaced with the reason when not.
    case allowed
    /// Always replaced: for guests that must not move with their memory (licences bound to a host, …).
    case never
}

/// `VirtualMachine.spec.lifecycle`: what vmplan may do to a VM, beyond what its fields say.
public struct Lifecycle: Hashable, Sendable, Codable {
    /// A plan that would delete or replace the VM fails instead.
    public var protect: Bool
    public var restart: RestartPolicy
    /// After a graceful stop runs out of time: force the VM off (true) or fail the change (false).
    public var forceStop: Bool
    /// Fields whose differences, from the manifests or from the host, are not acted on
    /// (one of `VMField.ignorable`).
    public var ignoreChanges: [VMField]
    /// A host change migrates the VM (allowed) or replaces it (never).
    public var migrate: MigrationPolicy

    public init(protect: Bool = false, restart: RestartPolicy = .allowed, forceStop: Bool = true, ignoreChanges: [VMField] = [],
                migrate: MigrationPolicy = .allowed) {
        self.protect = protect
        self.restart = restart
        self.forceStop = forceStop
        self.ignoreChanges = ignoreChanges
        self.migrate = migrate
    }

    public var isDefault: Bool { self == Lifecycle() }

    enum CodingKeys: String, CodingKey { case protect, restart, forceStop, ignoreChanges, migrate }

    // Recorded specs written before a field existed still load.
    public init(from decoder: Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        protect = try container.decodeIfPresent(Bool.self, forKey: .protect) ?? false
        restart = try container.decodeIfPresent(RestartPolicy.self, forKey: .restart) ?? .allowed
        forceStop = try container.decodeIfPresent(Bool.self, forKey: .forceStop) ?? true
        ignoreChanges = try container.decodeIfPresent([VMField].self, forKey: .ignoreChanges) ?? []
        migrate = try container.decodeIfPresent(MigrationPolicy.self, forKey: .migrate) ?? .allowed
    }

    // The spec hash (in every domain's marker) covers this JSON: a field added later is written
    // only when it is not its default, so that specs that do not use it keep their hash.
    public func encode(to encoder: Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(protect, forKey: .protect)
        try container.encode(restart, forKey: .restart)
        try container.encode(forceStop, forKey: .forceStop)
        try container.encode(ignoreChanges, forKey: .ignoreChanges)
        if migrate != .allowed { try container.encode(migrate, forKey: .migrate) }
    }
}
