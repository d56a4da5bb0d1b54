import Yams

/// `spec.cpu`: mode, a model for `custom`, and a topology that must match the vCPUs.
extension DocumentDecoder {
    static let cpuFields = ["mode", "model", "topology"]
    static let topologyFields = ["sockets", "cores", "threads"]

    /// `maxVcpus` is the VM's vCPU ceiling, when it is known: the topology must multiply to it.
    static func decodeCPU(_ node: Node, maxVcpus: Int?, checker: inout NodeChecker) -> CPUSpec? {
        guard let fields = checker.fields(of: node, what: "cpu", allowed: cpuFields, required: ["mode"]) else { return nil }
        guard let mode = fields["mode"].flatMap({ checker.choice($0, name: "cpu.mode", as: CPUSpec.Mode.self) }) else { return nil }
        var cpu = CPUSpec(mode: mode)
        var valid = true
        switch (mode, fields["model"]) {
        case (.custom, let field?):
            if let name = checker.string(field, name: "cpu.model"), CPUSpec.isValidModel(name) {
                cpu.model = name
            } else {
                checker.error("cpu.model must be a CPU model name as libvirt spells it (virsh cpu-models x86_64), such as Skylake-Server", at: field.value)
                valid = false
            }
        case (.custom, nil):
            checker.error("cpu.mode custom needs a model, such as Skylake-Server (virsh cpu-models x86_64 lists them)", at: node)
            valid = false
        case (_, let field?):
            checker.error("cpu.model goes with mode: custom; \(mode.rawValue) takes its model from the host", at: field.key)
            valid = false
        case (_, nil):
            break
        }
        if let field = fields["topology"],
           let parts = checker.fields(of: field.value, what: "cpu.topology", allowed: topologyFields, required: topologyFields) {
            let counts = topologyFields.map { key in parts[key].flatMap { checker.integer($0, name: "cpu.topology.\(key)", range: 1...NodeChecker.maximumVcpus) } }
            if let sockets = counts[0], let cores = counts[1], let threads = counts[2] {
                let topology = CPUSpec.Topology(sockets: sockets, cores: cores, threads: threads)
                if let maxVcpus, topology.vcpus != maxVcpus {
                    checker.error("cpu.topology gives \(sockets) x \(cores) x \(threads) = \(topology.vcpus) vCPUs, but the VM has "
                        + "\(maxVcpus) (maxVcpus, or vcpus without it); they must be equal", at: field.value)
                    valid = false
                }
                cpu.topology = topology
            } else {
                valid = false
            }
        } else if fields["topology"] != nil {
            valid = false
        }
        return valid ? cpu : nil
    }
}
