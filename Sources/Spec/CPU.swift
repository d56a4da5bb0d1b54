/// `spec.cpu` (KVM): the CPU the guest sees, and how its vCPUs are laid out.
public struct CPUSpec: Sendable, Hashable, Codable {
    public enum Mode: String, Sendable, Hashable, Codable, CaseIterable {
        /// The host's own CPU, every feature passed on: what GPU workloads want; ties the VM to
        /// hosts with the same CPU.
        case hostPassthrough = "host-passthrough"
        /// A named model close to the host's CPU.
        case hostModel = "host-model"
        /// `model` exactly (qemu64, Skylake-Server, …).
        case custom
    }

    /// sockets × cores × threads: it must multiply to the VM's maximum vCPUs.
    public struct Topology: Sendable, Hashable, Codable {
        public var sockets: Int
        public var cores: Int
        public var threads: Int

        public init(sockets: Int, cores: Int, threads: Int) {
            self.sockets = sockets
            self.cores = cores
            self.threads = threads
        }

        public var vcpus: Int { sockets * cores * threads }
    }

    public var mode: Mode
    /// Only with `mode: custom`.
    public var model: String?
    public var topology: Topology?

    public init(mode: Mode, model: String? = nil, topology: Topology? = nil) {
        self.mode = mode
        self.model = model
        self.topology = topology
    }

    /// `host-passthrough, 1 socket x 2 cores x 1 thread`.
    public var summary: String {
        ([mode == .custom ? "custom \(model ?? "?")" : mode.rawValue]
            + (topology.map { ["\($0.sockets) socket\($0.sockets == 1 ? "" : "s") x \($0.cores) core\($0.cores == 1 ? "" : "s") x \($0.threads) thread\($0.threads == 1 ? "" : "s")"] } ?? []))
            .joined(separator: ", ")
    }

    /// Model names reach domain XML: letters, digits and `-_.`, as libvirt's CPU map spells them.
    public static func isValidModel(_ name: String) -> Bool {
        !name.isEmpty && name.count <= 64 && name.unicodeScalars.allSatisfy {
            ("a"..."z").contains($0) || ("A"..."Z").contains($0) || ("0"..."9").contains($0) || "-_.".unicodeScalars.contains($0)
        }
    }
}
