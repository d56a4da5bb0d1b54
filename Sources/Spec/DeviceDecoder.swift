import Yams

/// `VirtualMachine.spec.gpus` and `.vgpus`.
extension DocumentDecoder {
    static let gpuFields = ["pci", "vendor", "product", "count", "allowNonGPU"]
    static let vgpuFields = ["type", "profile", "parent", "uuid", "display"]
    static let maximumDevicesPerSelector = 16

    static func decodeGPUs(_ node: Node, checker: inout NodeChecker) -> [GPURequest]? {
        guard let items = checker.list(node, name: "gpus", example: "[{pci: \"0000:3b:00.0\"}]") else { return nil }
        var requests: [GPURequest] = []
        var valid = true
        for item in items {
            guard let fields = checker.fields(of: item, what: "a gpus entry", allowed: gpuFields, required: []) else { valid = false; continue }
            var request = GPURequest()
            if let field = fields["pci"] {
                if let address = checker.pciAddress(field, name: "gpus.pci") { request.pci = address } else { valid = false }
            }
            if let field = fields["vendor"] {
                if let id = checker.pciID(field, name: "gpus.vendor") { request.vendor = id } else { valid = false }
            }
            if let field = fields["product"] {
                if let id = checker.pciID(field, name: "gpus.product") { request.product = id } else { valid = false }
            }
            if let field = fields["count"] {
                if let count = checker.integer(field, name: "gpus.count", range: 1...maximumDevicesPerSelector) { request.count = count } else { valid = false }
            }
            if let field = fields["allowNonGPU"] {
                if let allow = checker.boolean(field, name: "gpus.allowNonGPU") { request.allowNonGPU = allow } else { valid = false }
            }
            if fields["pci"] != nil && (fields["vendor"] != nil || fields["product"] != nil || fields["count"] != nil) {
                checker.error("a gpus entry takes either pci (one pinned device) or a selector (vendor, product, count), not both", at: item)
                valid = false
            } else if fields["pci"] == nil && fields["vendor"] == nil {
                checker.error("a gpus entry needs pci: \"dddd:bb:ss.f\", or vendor (with optional product and count)", at: item)
                valid = false
            }
            requests.append(request)
        }
        return valid ? requests : nil
    }

    /// vGPUs without a pinned uuid get one derived from the VM's name and the entry's index.
    static func decodeVGPUs(_ node: Node, vmName: String?, checker: inout NodeChecker) -> [VGPURequest]? {
        guard let items = checker.list(node, name: "vgpus", example: "[{type: nvidia-222}]") else { return nil }
        var requests: [VGPURequest] = []
        var valid = true
        for (index, item) in items.enumerated() {
            guard let fields = checker.fields(of: item, what: "a vgpus entry", allowed: vgpuFields, required: []) else { valid = false; continue }
            var request = VGPURequest(uuid: VGPURequest.derivedUUID(vm: vmName ?? "", index: index))
            if let field = fields["type"] {
                if let text = checker.string(field, name: "vgpus.type"), NodeChecker.isPlainToken(text) { request.type = text } else {
                    checker.error("vgpus.type must be an mdev type id such as nvidia-222 (letters, digits, '.', '_', '-')", at: field.value)
                    valid = false
                }
            }
            if let field = fields["profile"] {
                if let text = checker.string(field, name: "vgpus.profile") { request.profile = text } else { valid = false }
            }
            if let field = fields["parent"] {
                if let address = checker.pciAddress(field, name: "vgpus.parent") { request.parent = address } else { valid = false }
            }
            if let field = fields["uuid"] {
                if let text = checker.string(field, name: "vgpus.uuid"), let uuid = VGPURequest.canonicalUUID(text) {
                    request.uuid = uuid
                } else {
                    checker.error("vgpus.uuid must be a UUID such as 2f3c1a9e-8d4b-4c1e-9a7f-0b1c2d3e4f50", at: field.value)
                    valid = false
                }
            }
            if let field = fields["display"] {
                if let display = checker.boolean(field, name: "vgpus.display") { request.display = display } else { valid = false }
            }
            if (fields["type"] == nil) == (fields["profile"] == nil) {
                checker.error("a vgpus entry needs exactly one of type (an mdev type id such as nvidia-222) or profile (its name, such as \"GRID T4-1B\")", at: item)
                valid = false
            }
            requests.append(request)
        }
        let uuids = requests.map(\.uuid)
        if Set(uuids).count != uuids.count {
            checker.error("two vgpus entries have the same uuid", at: node)
            valid = false
        }
        return valid ? requests : nil
    }
}

extension NodeChecker {
    mutating func list(_ node: Node, name: String, example: String) -> [Node]? {
        guard case let .sequence(sequence) = node else {
            error("\(name) must be a list such as \(example); got \(node.shownInMessage)", at: node)
            return nil
        }
        return Array(sequence)
    }

    /// A non-empty list of strings, each read by `entry` (which reports its own errors) and listed once.
    mutating func distinctList(_ field: Field, name: String, example: String, whenEmpty: String,
                               entry: (inout NodeChecker, Node) -> String?) -> [String]? {
        guard let items = list(field.value, name: name, example: example) else { return nil }
        if items.isEmpty {
            error("\(name) must \(whenEmpty)", at: field.value)
            return nil
        }
        var values: [String] = []
        var valid = true
        for item in items {
            guard let value = entry(&self, item) else { valid = false; continue }
            if values.contains(value) {
                error("\(value) is listed twice in \(name)", at: item)
                valid = false
            } else {
                values.append(value)
            }
        }
        return valid ? values : nil
    }

    mutating func pciAddress(_ field: Field, name: String) -> PCIAddress? {
        guard let text = string(field, name: name) else { return nil }
        guard let address = PCIAddress(parsing: text) else {
            error("\(name) must be a full PCI address such as \"0000:3b:00.0\" (domain:bus:slot.function); got '\(text)'", at: field.value)
            return nil
        }
        return address
    }

    /// A PCI vendor or product id: `10de` or `0x10de`, kept as 4 lowercase hex digits.
    mutating func pciID(_ field: Field, name: String) -> String? {
        let text = field.value.scalarText ?? ""
        let digits = text.lowercased().hasPrefix("0x") ? String(text.dropFirst(2)) : text
        guard digits.count == 4, digits.allSatisfy(\.isHexDigit) else {
            error("\(name) must be a PCI id of 4 hex digits such as \"10de\"; got \(field.value.shownInMessage)", at: field.value)
            return nil
        }
        return digits.lowercased()
    }

    static func isPlainToken(_ text: String) -> Bool {
        !text.isEmpty && text.count <= 64 && text.unicodeScalars.allSatisfy {
            ("a"..."z").contains($0) || ("A"..."Z").contains($0) || ("0"..."9").contains($0) || "._-".unicodeScalars.contains($0)
        }
    }
}
