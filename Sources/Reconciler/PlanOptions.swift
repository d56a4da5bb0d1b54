import Spec

/// What the state database says vmplan last applied to one VM.
public struct RecordedVM: Sendable, Hashable {
    public var spec: VirtualMachineSpec
    public var specHash: String
    public var generation: Int
    /// Fields applied to the config that the running VM has not booted with yet.
    public var pendingRestart: [VMField]

    public init(spec: VirtualMachineSpec, specHash: String, generation: Int, pendingRestart: [VMField] = []) {
        self.spec = spec
        self.specHash = specHash
        self.generation = generation
        self.pendingRestart = pendingRestart
    }
}

/// Narrows or forces a plan, as `--target` and `--replace` ask.
public struct PlanOptions: Sendable, Hashable, Codable {
    /// Only these VMs are planned; empty means all.
    public var targets: Set<String>
    /// These VMs are deleted and created again even if nothing changed.
    public var replace: Set<String>
    /// These VMs are taken over from the vmplan state whose marker their domains carry.
    public var adopt: Set<String>

    public init(targets: Set<String> = [], replace: Set<String> = [], adopt: Set<String> = []) {
        self.targets = targets
        self.replace = replace
        self.adopt = adopt
    }

    enum CodingKeys: String, CodingKey { case targets, replace, adopt }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        targets = try container.decode(Set<String>.self, forKey: .targets)
        replace = try container.decode(Set<String>.self, forKey: .replace)
        adopt = try container.decodeIfPresent(Set<String>.self, forKey: .adopt) ?? []
    }

    // Sorted, so that the same plan is the same text.
    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(targets.sorted(), forKey: .targets)
        try container.encode(replace.sorted(), forKey: .replace)
        try container.encode(adopt.sorted(), forKey: .adopt)
    }
}
