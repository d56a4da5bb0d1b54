/// `kind: DriftPolicy`: VirtualMachine fields whose differences `vmplan drift` counts as
/// ignored instead of reporting them as drift, for every VM or for the VMs a label selector
/// picks. Plans are not affected: `lifecycle.ignoreChanges` is what keeps apply from acting.
public struct DriftPolicySpec: Sendable, Hashable {
    public var name: String
    /// Labels a VM must all have for the policy to apply; empty: every VM.
    public var selector: [String: String]
    /// Fields whose differences are ignored (one of `VMField.ignorable`).
    public var ignore: [VMField]

    public init(name: String, selector: [String: String] = [:], ignore: [VMField]) {
        self.name = name
        self.selector = selector
        self.ignore = ignore
    }

    public func applies(to labels: [String: String]) -> Bool {
        selector.allSatisfy { labels[$0.key] == $0.value }
    }
}
