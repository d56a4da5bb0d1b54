extension VirtualMachineSpec {
    /// The fingerprint of the spec's canonical JSON; stored in state and domain metadata, so its recipe never changes.
    public var specHash: String { Fingerprint.of(self) }
}
