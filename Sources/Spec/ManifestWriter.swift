/// Writes manifests in vmplan's own style, as a person would: sizes with units, defaults left out,
/// short entries in flow style, keys in the order docs/manifests.md lists them. The same specs
/// always give the same text. Used by `vmplan import`.
public enum ManifestWriter {
    /// `# text` lines, then the document. Comment lines are made safe: no line break can end one early.
    public static func document(kind: ResourceKind, name: String, labels: [String: String] = [:], spec: [(String, String)],
                                comments: [String] = []) -> String {
        var lines = comments.map(comment)
        lines += ["apiVersion: vmplan/v1", "kind: \(kind.rawValue)"]
        if labels.isEmpty {
            lines.append("metadata: {name: \(scalar(name))}")
        } else {
            lines += ["metadata:", "  name: \(scalar(name))", "  labels: \(flow(labels.sorted { $0.key < $1.key }.map { (scalar($0.key), scalar($0.value)) }))"]
        }
        lines.append("spec:")
        for (key, value) in spec {
            lines.append(value.hasPrefix("\n") ? "  \(key):\(value)" : "  \(key): \(value)")
        }
        return lines.joined(separator: "\n") + "\n"
    }

    /// Documents of one file, separated as YAML wants.
    public static func file(_ documents: [String]) -> String {
        documents.joined(separator: "---\n")
    }

    /// A VirtualMachine whose disks name their volumes. Fields equal to their defaults are left out.
    public static func virtualMachine(_ spec: VirtualMachineSpec, comments: [String] = []) -> String {
        var fields: [(String, String)] = [("host", scalar(spec.host))]
        if let importing = spec.importing { fields.append(("import", flow([("uuid", importing.uuid)]))) }
        fields.append(("vcpus", String(spec.vcpus)))
        if let maxVcpus = spec.maxVcpus, maxVcpus != spec.vcpus { fields.append(("maxVcpus", String(maxVcpus))) }
        fields.append(("memory", spec.memory.description))
        if let maxMemory = spec.maxMemory, maxMemory != spec.memory { fields.append(("maxMemory", maxMemory.description)) }
        if spec.firmware != .bios { fields.append(("firmware", spec.firmware.rawValue)) }
        if let machine = spec.machine { fields.append(("machine", machine.rawValue)) }
        if let cpu = spec.cpu { fields.append(("cpu", cpuFlow(cpu))) }
        if let boot = spec.boot { fields.append(("boot", bootFlow(boot))) }
        if spec.state != .running { fields.append(("state", spec.state.rawValue)) }
        if let autostart = spec.autostart, autostart != (spec.state == .running) { fields.append(("autostart", String(autostart))) }
        if let description = spec.description { fields.append(("description", scalar(description))) }
        if !spec.lifecycle.isDefault { fields.append(("lifecycle", lifecycleFlow(spec.lifecycle))) }
        if !spec.disks.isEmpty { fields.append(("disks", block(spec.disks.map(diskFlow)))) }
        if let networks = spec.networks { fields.append(("networks", networks.isEmpty ? "[]" : block(networks.map(networkFlow)))) }
        if let graphics = spec.graphics {
            var parts = [("type", graphics.type.rawValue)]
            if graphics.listen != GraphicsSpec.loopback { parts.append(("listen", scalar(graphics.listen))) }
            fields.append(("graphics", flow(parts)))
        }
        if spec.guestAgent { fields.append(("guestAgent", "true")) }
        if !spec.gpus.isEmpty { fields.append(("gpus", block(spec.gpus.map(gpuFlow)))) }
        if !spec.vgpus.isEmpty { fields.append(("vgpus", block(spec.vgpus.map(vgpuFlow)))) }
        return document(kind: .virtualMachine, name: spec.name, labels: spec.labels, spec: fields, comments: comments)
    }

    public static func storagePool(_ spec: StoragePoolSpec, comments: [String] = []) -> String {
        var fields: [(String, String)] = [("host", scalar(spec.host)), ("type", spec.type.rawValue)]
        switch spec.type {
        case .dir: fields.append(("path", scalar(spec.path)))
        case .logical: fields.append(("volumeGroup", scalar(spec.volumeGroup ?? "")))
        }
        return document(kind: .storagePool, name: spec.name, spec: fields, comments: comments)
    }

    /// `reclaim` is written even when it is the default: whether a volume's data may be deleted is
    /// worth seeing in the file.
    public static func volume(_ spec: VolumeSpec, comments: [String] = []) -> String {
        var fields: [(String, String)] = [("pool", scalar(spec.pool)), ("capacity", spec.capacity.description)]
        if spec.format != .qcow2 { fields.append(("format", spec.format.rawValue)) }
        fields.append(("reclaim", spec.reclaim.rawValue))
        if spec.shareable { fields.append(("shareable", "true")) }
        return document(kind: .volume, name: spec.name, spec: fields, comments: comments)
    }

    /// A Network, in the order docs/networks.md lists its fields. The bridge is written even when
    /// libvirt chose it: a later redefine then keeps the name the host's firewall and tools know.
    public static func network(_ spec: NetworkSpec, comments: [String] = []) -> String {
        var fields: [(String, String)] = [("host", scalar(spec.host))]
        if let importing = spec.importing { fields.append(("import", flow([("uuid", importing.uuid)]))) }
        fields.append(("mode", spec.mode.rawValue))
        if let bridge = spec.bridge { fields.append(("bridge", scalar(bridge))) }
        if let address = spec.address { fields.append(("address", address.description)) }
        if let dhcp = spec.dhcp {
            var lines: [String] = []
            if let range = dhcp.range { lines.append("\n    range: " + flow([("start", range.start.description), ("end", range.end.description)])) }
            if !dhcp.hosts.isEmpty { lines.append("\n    hosts:" + dhcp.hosts.map { "\n      - " + dhcpHostFlow($0) }.joined()) }
            fields.append(("dhcp", lines.joined()))
        }
        if let domain = spec.domain { fields.append(("domain", scalar(domain))) }
        if let mtu = spec.mtu { fields.append(("mtu", String(mtu))) }
        return document(kind: .network, name: spec.name, spec: fields, comments: comments)
    }

    // MARK: - Entries

    static func dhcpHostFlow(_ host: DHCPSpec.Host) -> String {
        flow([("mac", quoted(host.mac)), ("ip", host.ip.description)] + (host.name.map { [("name", scalar($0))] } ?? []))
    }

    static func diskFlow(_ disk: DiskSpec) -> String {
        var pairs = [("volume", scalar(disk.volume))]
        if disk.bus != .virtio { pairs.append(("bus", disk.bus.rawValue)) }
        if disk.device != .disk { pairs.append(("device", disk.device.rawValue)) }
        if let boot = disk.boot { pairs.append(("boot", String(boot))) }
        // A cdrom is read-only whatever the manifest says.
        if disk.readonly && disk.device != .cdrom { pairs.append(("readonly", "true")) }
        return flow(pairs)
    }

    static func networkFlow(_ nic: NetworkInterface) -> String {
        var pairs: [(String, String)]
        switch nic.source {
        case .network(let name): pairs = [("network", scalar(name))]
        case .bridge(let name): pairs = [("bridge", scalar(name))]
        }
        if nic.model != .virtio { pairs.append(("model", scalar(nic.model.rawValue))) }
        pairs.append(("mac", quoted(nic.mac)))
        return flow(pairs)
    }

    static func gpuFlow(_ gpu: GPURequest) -> String {
        var pairs: [(String, String)] = []
        if let pci = gpu.pci { pairs.append(("pci", quoted(pci.description))) }
        if let vendor = gpu.vendor { pairs.append(("vendor", quoted(vendor))) }
        if let product = gpu.product { pairs.append(("product", quoted(product))) }
        if gpu.count != 1 { pairs.append(("count", String(gpu.count))) }
        if gpu.allowNonGPU { pairs.append(("allowNonGPU", "true")) }
        return flow(pairs)
    }

    static func vgpuFlow(_ vgpu: VGPURequest) -> String {
        var pairs: [(String, String)] = []
        if let type = vgpu.type { pairs.append(("type", scalar(type))) }
        if let profile = vgpu.profile { pairs.append(("profile", scalar(profile))) }
        if let parent = vgpu.parent { pairs.append(("parent", quoted(parent.description))) }
        pairs.append(("uuid", scalar(vgpu.uuid)))
        if vgpu.display { pairs.append(("display", "true")) }
        return flow(pairs)
    }

    static func cpuFlow(_ cpu: CPUSpec) -> String {
        var pairs = [("mode", cpu.mode.rawValue)]
        if let model = cpu.model { pairs.append(("model", scalar(model))) }
        if let topology = cpu.topology {
            pairs.append(("topology", flow([("sockets", String(topology.sockets)), ("cores", String(topology.cores)),
                                            ("threads", String(topology.threads))])))
        }
        return flow(pairs)
    }

    static func bootFlow(_ boot: BootSpec) -> String {
        var pairs = [("type", boot.type.rawValue)]
        if let kernel = boot.kernel { pairs.append(("kernel", scalar(kernel))) }
        if let initrd = boot.initrd { pairs.append(("initrd", scalar(initrd))) }
        if let cmdline = boot.cmdline { pairs.append(("cmdline", scalar(cmdline))) }
        if let bootloader = boot.bootloader { pairs.append(("bootloader", scalar(bootloader))) }
        return flow(pairs)
    }

    static func lifecycleFlow(_ lifecycle: Lifecycle) -> String {
        let defaults = Lifecycle()
        var pairs: [(String, String)] = []
        if lifecycle.protect != defaults.protect { pairs.append(("protect", String(lifecycle.protect))) }
        if lifecycle.restart != defaults.restart { pairs.append(("restart", lifecycle.restart.rawValue)) }
        if lifecycle.forceStop != defaults.forceStop { pairs.append(("forceStop", String(lifecycle.forceStop))) }
        if lifecycle.migrate != defaults.migrate { pairs.append(("migrate", lifecycle.migrate.rawValue)) }
        if !lifecycle.ignoreChanges.isEmpty { pairs.append(("ignoreChanges", "[" + lifecycle.ignoreChanges.map(\.rawValue).joined(separator: ", ") + "]")) }
        return flow(pairs)
    }

    // MARK: - YAML

    /// `{key: value, …}` from already-written values.
    static func flow(_ pairs: [(String, String)]) -> String {
        "{" + pairs.map { "\($0.0): \($0.1)" }.joined(separator: ", ") + "}"
    }

    /// A block sequence, one entry a line, under a `key:` (the caller's line ends before it).
    static func block(_ entries: [String]) -> String {
        entries.map { "\n    - \($0)" }.joined()
    }

    /// `# text`, each line of `text` its own comment line.
    static func comment(_ text: String) -> String {
        text.split(separator: "\n", omittingEmptySubsequences: false)
            .map { line in line.isEmpty ? "#" : "# " + line.filter { $0 != "\r" } }
            .joined(separator: "\n")
    }

    /// A string as a plain scalar when YAML reads it back as the same string, double-quoted otherwise
    /// (numbers, booleans, null, leading zeros, anything with YAML punctuation or spaces at either end).
    public static func scalar(_ text: String) -> String {
        let plain = text.unicodeScalars.allSatisfy { scalar in
            ("a"..."z").contains(scalar) || ("A"..."Z").contains(scalar) || ("0"..."9").contains(scalar) || "-_./".unicodeScalars.contains(scalar)
        }
        guard plain, !text.isEmpty, let first = text.first, first != "-" || text.count > 1 && text.dropFirst().first != " ",
              first != ".", !readsAsNonString(text) else { return quoted(text) }
        return text
    }

    /// A double-quoted YAML scalar: backslash, quote and control characters escaped.
    public static func quoted(_ text: String) -> String {
        var result = "\""
        for scalar in text.unicodeScalars {
            switch scalar {
            case "\\": result += "\\\\"
            case "\"": result += "\\\""
            case "\n": result += "\\n"
            case "\t": result += "\\t"
            case "\r": result += "\\r"
            default:
                if scalar.value < 0x20 || scalar.value == 0x7F || (0x80...0x9F).contains(scalar.value) {
                    let hex = String(scalar.value, radix: 16, uppercase: true)
                    result += "\\x" + String(repeating: "0", count: max(0, 2 - hex.count)) + hex
                } else {
                    result.unicodeScalars.append(scalar)
                }
            }
        }
        return result + "\""
    }

    /// Words YAML 1.1 or 1.2 would read as a number, boolean or null.
    static func readsAsNonString(_ text: String) -> Bool {
        let lower = text.lowercased()
        if ["true", "false", "yes", "no", "on", "off", "y", "n", "null", "~", ".inf", ".nan"].contains(lower) { return true }
        let digits = text.filter { $0 != "_" }
        return Double(digits) != nil || Int(digits.dropFirst(digits.hasPrefix("0x") || digits.hasPrefix("0o") ? 2 : 0), radix: 16) != nil && digits.hasPrefix("0")
            || digits.allSatisfy { $0.isNumber || $0 == ":" || $0 == "." } && digits.contains(":")
    }
}
