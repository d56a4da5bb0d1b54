/// Whether vmplan may restart a running VM to apply a change.
public enum RestartPolicy: String, Sendable, Codable, CaseIterable {
    /// Changes that need a restart restart the VM (graceful shutdown, then start).
    case allowed
    /// Such changes go to the config only and wait for the VM's next boot.
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

    public init(protect: Bool = false, restart: RestartPolicy = .allowed, forceStop: Bool = true, ignoreChanges: [VMField] = []) {
        self.protect = protect
        self.restart = restart
        self.forceStop = forceStop
        self.ignoreChanges = ignoreChanges
    }

    public var isDefault: Bool { self == Lifecycle() }

    enum CodingKeys: String, CodingKey { case protect, restart, forceStop, ignoreChanges }

    // Recorded specs written before a field existed still load.
    public init(from decoder: Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        protect = try container.decodeIfPresent(Bool.self, forKey: .protect) ?? false
        restart = try container.decodeIfPresent(RestartPolicy.self, forKey: .restart) ?? .allowed
        forceStop = try container.decodeIfPresent(Bool.self, forKey: .forceStop) ?? true
        ignoreChanges = try container.decodeIfPresent([VMField].self, forKey: .ignoreChanges) ?? []
    }
}
