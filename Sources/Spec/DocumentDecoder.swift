import Yams

/// What one document declared, kept even when parts of it are invalid so that
/// cross-document checks (duplicates, host references) still see its name.
struct DecodedDocument {
    var kind: ResourceKind
    var name: String?
    var nameLocation: SourceLocation?
    /// For virtual machines: the host it names and where.
    var hostReference: (name: String, location: SourceLocation)?
    var host: Located<HostSpec>?
    var driftPolicy: Located<DriftPolicySpec>?
    var virtualMachine: Located<VirtualMachineSpec>?
    /// Where each spec field's value is, for checks that need other documents (the host's flavour).
    var fieldLocations: [String: SourceLocation] = [:]

    /// Where a VirtualMachine's spec field is written, when it is.
    func location(of field: VMField) -> SourceLocation? { fieldLocations[field.rawValue] }
    /// StoragePool and Volume documents, and the storage references of any kind (StorageDecoder.swift).
    var storage = DecodedStorage()
    /// A Network document (VirtualNetworkDecoder.swift).
    var network: Located<NetworkSpec>?
    /// For virtual machines: where each NIC's `network` is written, by the NIC's index.
    var nicLocations: [Int: SourceLocation] = [:]
}

/// Turns one YAML document into a resource spec of its kind, reporting every problem in it.
enum DocumentDecoder {
    static let apiVersion = "vmplan/v1"
    static let topFields = ["apiVersion", "kind", "metadata", "spec"]
    static let metadataFields = ["name", "labels"]
    static let hostFields = ["uri", "hypervisor", "deviceChecks", "storageRoots", "acceleration"]
    static let hostRequired = ["uri", "hypervisor"]
    static let lifecycleFields = ["protect", "restart", "forceStop", "ignoreChanges", "migrate"]
    /// libvirt refuses a domain XML with a multi-megabyte description only at apply.
    static let maximumDescriptionBytes = 64 << 10

    static func decode(_ document: YAMLDocument, log: inout DiagnosticLog) -> DecodedDocument? {
        var checker = NodeChecker(document: document, log: log)
        defer { log = checker.log }
        let root = document.root
        guard case .mapping = root else {
            checker.error("a manifest document must be a mapping with fields \(topFields.joined(separator: ", ")); got \(root.shownInMessage)", at: root)
            return nil
        }
        guard let top = checker.fields(of: root, what: "document", allowed: topFields, required: topFields) else { return nil }

        if let field = top["apiVersion"], let version = checker.string(field, name: "apiVersion"), version != apiVersion {
            checker.error("unsupported apiVersion '\(version)'; expected '\(apiVersion)'", at: field.value)
        }
        var kind: ResourceKind?
        if let field = top["kind"], let text = checker.string(field, name: "kind") {
            kind = ResourceKind(rawValue: text).flatMap { ResourceKind.declarable.contains($0) ? $0 : nil }
            if kind == nil {
                let valid = ResourceKind.declarable.map(\.rawValue)
                checker.error("unknown kind '\(text)'; valid kinds: \(valid.joined(separator: ", "))\(DidYouMean.hint(for: text, among: valid))", at: field.value)
            }
        }

        // An invalid name is still kept for duplicate and host-reference checks, to avoid knock-on errors.
        var name: String?, nameIsValid = false, nameLocation: SourceLocation?, labels: [String: String]?
        if let field = top["metadata"],
           let metadata = checker.fields(of: field.value, what: "metadata", allowed: metadataFields, required: ["name"]) {
            if let nameField = metadata["name"], let text = checker.string(nameField, name: "metadata.name") {
                nameLocation = document.location(of: nameField.value)
                name = text
                nameIsValid = ResourceName.isValid(text)
                if !nameIsValid {
                    checker.error("metadata.name '\(text)' is not a valid name: \(ResourceName.rule)", at: nameField.value)
                }
            }
            labels = metadata["labels"].map { checker.labels($0) } ?? [:]
        }

        guard let kind else { return nil }  // without a kind the spec's fields are unknown
        var decoded = DecodedDocument(kind: kind, name: name, nameLocation: nameLocation)
        let location = document.location(of: root)
        guard let specField = top["spec"] else { return decoded }
        switch kind {
        case .host:
            let spec = decodeHost(specField.value, checker: &checker)
            if let name, nameIsValid, let labels, let spec {
                decoded.host = Located(HostSpec(name: name, uri: spec.uri, hypervisor: spec.hypervisor, labels: labels,
                                                deviceChecks: spec.deviceChecks, storageRoots: spec.storageRoots,
                                                acceleration: spec.acceleration), at: location)
            }
        case .virtualMachine:
            let spec = decodeVirtualMachine(specField.value, vmName: name, checker: &checker, decoded: &decoded)
            if let name, nameIsValid, let labels, var spec {
                spec.name = name
                spec.labels = labels
                decoded.virtualMachine = Located(spec, at: location)
            }
        case .storagePool, .volume:
            decodeStorage(kind, specField.value, name: nameIsValid ? name : nil, at: location, checker: &checker, decoded: &decoded)
        case .network:
            decodeVirtualNetwork(specField.value, name: nameIsValid ? name : nil, at: location, checker: &checker, decoded: &decoded)
        case .driftPolicy:
            if let policy = decodeDriftPolicy(specField.value, checker: &checker), let name, nameIsValid {
                decoded.driftPolicy = Located(DriftPolicySpec(name: name, selector: policy.selector, ignore: policy.ignore), at: location)
            }
        case .mediatedDevice:
            break  // not declarable: refused above
        }
        return decoded
    }

    private static func decodeDriftPolicy(_ node: Node, checker: inout NodeChecker) -> (selector: [String: String], ignore: [VMField])? {
        guard let spec = checker.fields(of: node, what: "DriftPolicy spec", allowed: ["selector", "ignore"], required: ["ignore"]) else { return nil }
        let selector = spec["selector"].map { checker.labels($0, name: "selector") } ?? [:]
        let ignore = spec["ignore"].flatMap { checker.words($0, name: "ignore", among: VMField.ignorable.map(\.rawValue)) }
        guard let selector, let ignore else { return nil }
        return (selector, ignore.compactMap(VMField.init(rawValue:)))
    }

    private static func decodeHost(_ node: Node, checker: inout NodeChecker)
        -> (uri: String, hypervisor: HypervisorKind, deviceChecks: DeviceChecks, storageRoots: [String]?, acceleration: Acceleration)? {
        guard let spec = checker.fields(of: node, what: "Host spec", allowed: hostFields, required: hostRequired) else { return nil }
        var uri: String?
        if let field = spec["uri"], let text = checker.string(field, name: "uri") {
            if NodeChecker.isPlausibleURI(text) {
                uri = text
            } else {
                checker.error("uri must be a libvirt URI such as qemu:///system (non-empty, containing ':', no whitespace or control characters); got '\(text)'", at: field.value)
            }
        }
        let hypervisor = spec["hypervisor"].flatMap { checker.choice($0, name: "hypervisor", as: HypervisorKind.self) }
        var deviceChecks: DeviceChecks? = .enforce
        if let field = spec["deviceChecks"] {
            deviceChecks = checker.choice(field, name: "deviceChecks", as: DeviceChecks.self)
        }
        var storageRoots: [String]?
        if let field = spec["storageRoots"] {
            storageRoots = decodeStorageRoots(field, checker: &checker)
            if storageRoots == nil { return nil }
        }
        var acceleration: Acceleration? = .kvm
        if let field = spec["acceleration"] {
            acceleration = checker.choice(field, name: "acceleration", as: Acceleration.self)
            if hypervisor == .xen, acceleration != nil {
                checker.error("acceleration is for KVM hosts (QEMU's kvm or tcg); a Xen host runs its guests with Xen", at: field.value)
                return nil
            }
        }
        guard let uri, let hypervisor, let deviceChecks, let acceleration else { return nil }
        return (uri, hypervisor, deviceChecks, storageRoots, acceleration)
    }

    /// `storageRoots: [/var/lib/libvirt/images, /srv/vmplan]`: absolute directories, none a system directory.
    private static func decodeStorageRoots(_ field: Field, checker: inout NodeChecker) -> [String]? {
        checker.distinctList(field, name: "storageRoots", example: "[/var/lib/libvirt/images, /srv/vmplan]",
                             whenEmpty: "name at least one directory such as /var/lib/libvirt/images; leave it out to allow any directory but the system ones") { checker, item in
            guard let root = checker.path(Field(key: item, value: item), name: "an entry of storageRoots") else { return nil }
            if let system = HostPaths.systemDirectory(containing: root) {
                checker.error("storageRoots cannot include \(root): it is in the system directory \(system), where no pool or image may be", at: item)
                return nil
            }
            return root
        }
    }

    /// Returns a spec with an empty name and labels (filled in by the caller), or nil when invalid.
    private static func decodeVirtualMachine(_ node: Node, vmName: String?, checker: inout NodeChecker, decoded: inout DecodedDocument) -> VirtualMachineSpec? {
        guard let spec = checker.fields(of: node, what: "VirtualMachine spec", allowed: VMField.specKeys.map(\.rawValue),
                                        required: VMField.requiredSpecKeys.map(\.rawValue)) else { return nil }
        for (key, field) in spec { decoded.fieldLocations[key] = checker.document.location(of: field.value) }
        var valid = true
        // Reads an optional field; a present but invalid value makes the whole spec invalid.
        func specField(_ key: VMField) -> Field? { spec[key.rawValue] }
        // The body gets the field and its name, for messages.
        func read<T>(_ key: VMField, _ body: (Field, String) -> T?) -> T? {
            guard let field = specField(key) else { return nil }
            let value = body(field, key.rawValue)
            if value == nil { valid = false }
            return value
        }
        let cpuRange = 1...NodeChecker.maximumVcpus
        let host = read(.host) { checker.string($0, name: $1) }
        if let host, let field = specField(.host) {
            decoded.hostReference = (host, checker.document.location(of: field.value))
        }
        let vcpus = read(.vcpus) { checker.integer($0, name: $1, range: cpuRange) }
        let maxVcpus = read(.maxVcpus) { checker.integer($0, name: $1, range: cpuRange) }
        let memory = read(.memory) { checker.size($0, name: $1) }
        let maxMemory = read(.maxMemory) { checker.size($0, name: $1) }
        let firmware = read(.firmware) { checker.choice($0, name: $1, as: Firmware.self) } ?? .bios
        let machine = read(.machine) { checker.choice($0, name: $1, as: MachineType.self) }
        let state = read(.state) { checker.choice($0, name: $1, as: PowerState.self) } ?? .running
        let description = read(.description) { field, name -> String? in
            guard let text = checker.string(field, name: name) else { return nil }
            if text.utf8.count > maximumDescriptionBytes {
                checker.error("description is \(YAMLLimits.shown(text.utf8.count)), over the limit of \(YAMLLimits.shown(maximumDescriptionBytes)); keep long notes in the repository", at: field.value)
                return nil
            }
            // Descriptions end up in domain XML, where most control characters are not allowed.
            if text.unicodeScalars.contains(where: { $0.properties.generalCategory == .control && $0 != "\n" && $0 != "\t" }) {
                checker.error("description must not contain control characters other than newline and tab", at: field.value)
                return nil
            }
            return text
        }.flatMap { $0.isEmpty ? nil : $0 }  // libvirt drops an empty <description/>: "" is no description
        let lifecycle = read(.lifecycle) { field, _ in decodeLifecycle(field.value, checker: &checker) } ?? Lifecycle()
        let gpus = read(.gpus) { field, _ in decodeGPUs(field.value, checker: &checker) } ?? []
        let vgpus = read(.vgpus) { field, _ in decodeVGPUs(field.value, vmName: vmName, checker: &checker) } ?? []
        // Plain HVM is what a Xen VM without boot gets; one spelling keeps plans from churning.
        let boot = read(.boot) { field, _ in decodeBoot(field.value, checker: &checker, decoded: &decoded) }
            .flatMap { $0 == BootSpec(type: .hvm) ? nil : $0 }
        if vgpus.filter(\.display).count > 1, let field = specField(.vgpus) {
            checker.error("at most one vGPU of a VM can drive its display; \(vgpus.filter(\.display).count) have display: true", at: field.value)
            valid = false
        }
        let disks = read(.disks) { field, _ in decodeDisks(field, checker: &checker, decoded: &decoded) } ?? []
        let cloudInit = read(.cloudInit) { field, _ in decodeCloudInit(field, checker: &checker, decoded: &decoded) }
        let networks = read(.networks) { field, _ in decodeNetworks(field.value, vmName: vmName, checker: &checker, decoded: &decoded) }
        let cpu = read(.cpu) { field, _ in decodeCPU(field.value, maxVcpus: maxVcpus ?? vcpus, checker: &checker) }
        // A VM that should run should also come back when its host boots, unless the manifest says otherwise.
        let autostart = read(.autostart) { checker.boolean($0, name: $1) } ?? (state == .running)
        let guestAgent = read(.guestAgent) { checker.boolean($0, name: $1) } ?? false
        // A display vGPU gets a VNC console on loopback anyway: one spelling keeps plans from churning.
        let displayConsole = vgpus.contains(where: \.display) ? GraphicsSpec(type: .vnc) : nil
        let graphics = read(.graphics) { field, _ in decodeGraphics(field.value, checker: &checker) }.flatMap { $0 == displayConsole ? nil : $0 }
        let importing = read(.import) { field, _ in decodeImport(field.value, checker: &checker) }

        if let machine {
            for (key, count) in [(VMField.vcpus, vcpus), (.maxVcpus, maxVcpus)] {
                guard let count, count > machine.maximumVcpus, let field = specField(key) else { continue }
                let other = MachineType.allCases.filter { $0.maximumVcpus > machine.maximumVcpus }
                    .map { "; machine: \($0.rawValue) allows up to \($0.maximumVcpus)" }.joined()
                checker.error("\(key.rawValue) must be at most \(machine.maximumVcpus) with machine: \(machine.rawValue); got \(count)\(other)", at: field.value)
                valid = false
            }
        }
        // The ceilings are checked where they are written: that is the value to change.
        if let vcpus, let maxVcpus, let field = specField(.maxVcpus), maxVcpus < vcpus {
            checker.error("maxVcpus must be at least vcpus (\(vcpus)); got \(maxVcpus)", at: field.value)
            valid = false
        }
        if let memory, let maxMemory, let field = specField(.maxMemory), maxMemory < memory {
            checker.error("maxMemory must be at least memory (\(memory)); got \(maxMemory)", at: field.value)
            valid = false
        }
        guard valid, let host, let vcpus, let memory else { return nil }
        return VirtualMachineSpec(
            name: "", host: host, vcpus: vcpus, maxVcpus: maxVcpus, memory: memory, maxMemory: maxMemory,
            firmware: firmware, machine: machine, state: state, description: description, lifecycle: lifecycle, gpus: gpus, vgpus: vgpus, boot: boot,
            disks: disks, cloudInit: cloudInit, networks: networks, cpu: cpu, autostart: autostart, graphics: graphics, guestAgent: guestAgent, importing: importing)
    }

    /// `import: {uuid: "…"}`: the domain's libvirt UUID, as `virsh domuuid` prints it.
    private static func decodeImport(_ node: Node, checker: inout NodeChecker) -> DomainImport? {
        decodeImportUUID(node, of: "the domain's UUID as `virsh domuuid NAME` prints it", checker: &checker).map(DomainImport.init)
    }

    /// The lowercase UUID of `import: {uuid: "…"}`; `what` says where the user finds it.
    static func decodeImportUUID(_ node: Node, of what: String, checker: inout NodeChecker) -> String? {
        guard let fields = checker.fields(of: node, what: "import", allowed: ["uuid"], required: ["uuid"]),
              let field = fields["uuid"], let text = checker.string(field, name: "import.uuid") else { return nil }
        guard let uuid = VGPURequest.canonicalUUID(text) else {
            checker.error("import.uuid must be \(what), such as \"6f1c9a4e-2b7d-4c3a-9e8f-0a1b2c3d4e5f\"; got '\(text)'", at: field.value)
            return nil
        }
        return uuid
    }

    private static func decodeLifecycle(_ node: Node, checker: inout NodeChecker) -> Lifecycle? {
        guard let fields = checker.fields(of: node, what: "lifecycle", allowed: lifecycleFields, required: []) else { return nil }
        var lifecycle = Lifecycle()
        var valid = true
        if let field = fields["protect"] {
            if let value = checker.boolean(field, name: "lifecycle.protect") { lifecycle.protect = value } else { valid = false }
        }
        if let field = fields["forceStop"] {
            if let value = checker.boolean(field, name: "lifecycle.forceStop") { lifecycle.forceStop = value } else { valid = false }
        }
        if let field = fields["restart"] {
            if let value = checker.choice(field, name: "lifecycle.restart", as: RestartPolicy.self) { lifecycle.restart = value } else { valid = false }
        }
        if let field = fields["migrate"] {
            if let value = checker.choice(field, name: "lifecycle.migrate", as: MigrationPolicy.self) { lifecycle.migrate = value } else { valid = false }
        }
        if let field = fields["ignoreChanges"] {
            if let names = checker.words(field, name: "lifecycle.ignoreChanges", among: VMField.ignorable.map(\.rawValue)) {
                lifecycle.ignoreChanges = names.compactMap(VMField.init(rawValue:))
            } else {
                valid = false
            }
        }
        return valid ? lifecycle : nil
    }
}
