import Drivers
import Spec

/// A mediated device vmplan created, as the state database records it.
public struct RecordedDevice: Sendable, Hashable, Codable {
    public var uuid: String
    public var host: String
    public var type: String
    public var parent: PCIAddress?

    public init(uuid: String, host: String, type: String, parent: PCIAddress?) {
        self.uuid = uuid
        self.host = host
        self.type = type
        self.parent = parent
    }

    public var address: ResourceAddress { ResourceAddress(.mediatedDevice, uuid, host: host) }
    /// `nvidia-222 on 0000:3b:00.0`.
    public var summary: String { "\(type) on \(parent.map { "\($0)" } ?? "?")" }
}

/// What one host offers for device placement.
public struct HostDeviceView: Sendable {
    public var host: HostSpec
    public var inventory: HostInventory
    /// Whether VMs can have vGPUs there, and whether it has mdevctl (nil when unknown, a remote
    /// host: libvirt then says so at apply time).
    public var features: DriverFeatures

    public init(host: HostSpec, inventory: HostInventory, features: DriverFeatures) {
        self.host = host
        self.inventory = inventory
        self.features = features
    }
}

/// Places GPUs and vGPUs on hosts and checks, across every VM of a host, that the placement can
/// work before anything is touched. Pure, like the planner.
struct DeviceResolver {
    var views: [String: HostDeviceView]
    var live: [String: [ObservedDomain]]
    /// Domains this plan deletes: their devices are free for others.
    var releasing: Set<String>
    /// mdevs an interrupted apply journaled as created and this state has no record of: one that
    /// exists is recorded now.
    var unrecordedCreates: Set<ResourceAddress> = []

    private(set) var problems: [Diagnostic] = []
    private(set) var warnings: [Diagnostic] = []
    private(set) var changes: [ResourceChange] = []

    init(views: [String: HostDeviceView], live: [String: [ObservedDomain]], releasing: Set<String>) {
        self.views = views
        self.live = live
        self.releasing = releasing
    }

    /// Returns the VMs with every GPU selector replaced by pinned addresses.
    mutating func resolve(_ desired: [Located<VirtualMachineSpec>], recorded: [RecordedDevice]) -> [Located<VirtualMachineSpec>] {
        var resolved = desired
        let byHost = Dictionary(grouping: resolved.indices.filter { !resolved[$0].value.gpus.isEmpty || !resolved[$0].value.vgpus.isEmpty },
                                by: { resolved[$0].value.host })
        for (host, indices) in byHost.sorted(by: { $0.key < $1.key }) {
            guard let view = views[host] else {
                for index in indices {
                    problems.append(Diagnostic("host '\(host)' has no device inventory; vmplan could not read its PCI devices", at: resolved[index].location))
                }
                continue
            }
            var placement = HostPlacement(view: view, domains: live[host] ?? [], releasing: releasing)
            placement.unrecordedCreates = unrecordedCreates
            let sorted = indices.sorted { resolved[$0].value.name < resolved[$1].value.name }
            // Pinned devices first, so a selector never takes a device someone pinned.
            for index in sorted { placement.pin(&resolved[index]) }
            for index in sorted { placement.select(&resolved[index]) }
            for index in sorted { placement.checkIOMMUGroups(resolved[index]) }
            for index in sorted { placement.placeVGPUs(resolved[index]) }
            problems += placement.problems
            warnings += placement.warnings
            changes += placement.changes
        }
        removeUnused(recorded, desired: resolved)
        return resolved
    }

    /// vmplan's own mdevs that no VM in the manifests uses and no domain will still use once
    /// this plan is applied (mdevs are removed after the VMs change).
    private mutating func removeUnused(_ recorded: [RecordedDevice], desired: [Located<VirtualMachineSpec>]) {
        let wanted = Set(desired.flatMap { $0.value.vgpus.map(\.uuid) })
        let specs = Dictionary(desired.map { ($0.value.name, $0.value) }, uniquingKeysWith: { first, _ in first })
        for device in recorded.sorted(by: { ($0.host, $0.uuid) < ($1.host, $1.uuid) }) where !wanted.contains(device.uuid) {
            let users = (live[device.host] ?? []).filter { domain in
                (domain.spec.vgpus + (domain.runningSpec?.vgpus ?? [])).contains { $0.uuid == device.uuid }
            }
            let keepers = users.filter { domain in
                if releasing.contains(domain.name) { return false }
                // Not in the manifests: vmplan does not change it, so it keeps what it has.
                guard let spec = specs[domain.name] else { return true }
                // Its config follows the manifests; only a VM that may not restart keeps running with it.
                let runsWithIt = domain.isRunning && (domain.runningSpec ?? domain.spec).vgpus.contains { $0.uuid == device.uuid }
                return runsWithIt && spec.state == .running && spec.lifecycle.restart == .never
            }
            guard keepers.isEmpty else { continue }  // removed by a later apply, once unused
            // Already gone from the host: only the record is dropped.
            let existing = views[device.host]?.inventory.mediatedDevices.first { $0.uuid == device.uuid }
            changes.append(ResourceChange(device.address, action: .delete, reason: .unused,
                                          effect: existing.map { .removeMediatedDevice(libvirtName: $0.libvirtName) } ?? .recordOnly,
                                          notes: ["created by vmplan and no longer used by any VM"], before: .mediatedDevice(device),
                                          summary: device.summary, usedBy: users.first?.name))
        }
    }
}

/// The placement state of one host while its VMs are resolved.
private struct HostPlacement {
    let view: HostDeviceView
    let releasing: Set<String>
    /// Device → the VM (or foreign domain) that holds it.
    var claims: [PCIAddress: String] = [:]
    /// Devices each domain had before this plan, to keep selectors stable across re-plans.
    var previous: [String: Set<PCIAddress>] = [:]
    /// mdev instances this plan takes, per (parent, type).
    var planned: [String: Int] = [:]
    var problems: [Diagnostic] = []
    var warnings: [Diagnostic] = []
    var changes: [ResourceChange] = []
    var unrecordedCreates: Set<ResourceAddress> = []

    var host: String { view.host.name }
    var strict: Bool { view.host.deviceChecks == .enforce }

    init(view: HostDeviceView, domains: [ObservedDomain], releasing: Set<String>) {
        self.view = view
        self.releasing = releasing
        for domain in domains {
            let addresses = domain.spec.gpus.compactMap(\.pci)
            previous[domain.name] = Set(addresses)
        }
        self.domains = domains
    }

    let domains: [ObservedDomain]

    /// A device held by a domain that is not part of this plan's VMs.
    func foreignHolder(of address: PCIAddress, besides names: Set<String>) -> String? {
        domains.first { domain in
            !names.contains(domain.name) && !releasing.contains(domain.name) && domain.spec.gpus.contains { $0.pci == address }
        }?.name
    }

    mutating func unconfirmed(_ message: String, at location: SourceLocation) {
        if strict {
            problems.append(Diagnostic(message + " (deviceChecks: warn on the Host turns this into a warning)", at: location))
        } else {
            warnings.append(Diagnostic(message, at: location))
        }
    }

    mutating func pin(_ located: inout Located<VirtualMachineSpec>) {
        let vm = located.value
        for gpu in vm.gpus {
            guard let address = gpu.pci else { continue }
            if let other = claims[address] {
                problems.append(Diagnostic("PCI device \(address) on host '\(host)' is requested by both '\(other)' and '\(vm.name)'; a device can be passed to one VM only", at: located.location))
                continue
            }
            if let holder = foreignHolder(of: address, besides: [vm.name]) {
                problems.append(Diagnostic("PCI device \(address) on host '\(host)' is already assigned to domain '\(holder)'", at: located.location))
                continue
            }
            claims[address] = vm.name
            guard let device = view.inventory.device(at: address) else {
                unconfirmed("host '\(host)' has no PCI device \(address) (vmplan inventory --host \(host) lists its devices)", at: located.location)
                continue
            }
            if !device.isDisplayController && !gpu.allowNonGPU {
                problems.append(Diagnostic("PCI device \(address) on host '\(host)' is not a display controller (\(device.describe)); "
                    + "add allowNonGPU: true to its gpus entry to pass it through anyway", at: located.location))
            }
        }
    }

    mutating func select(_ located: inout Located<VirtualMachineSpec>) {
        let vm = located.value
        var result: [GPURequest] = []
        for gpu in vm.gpus {
            guard gpu.pci == nil else { result.append(gpu); continue }
            let matching = view.inventory.pciDevices.filter { device in
                Self.id(device.vendorID) == gpu.vendor && (gpu.product == nil || Self.id(device.productID) == gpu.product)
                    && (device.isDisplayController || gpu.allowNonGPU)
            }
            let free = matching.filter { claims[$0.address] == nil && foreignHolder(of: $0.address, besides: [vm.name]) == nil }
            let mine = previous[vm.name] ?? []
            // Devices the VM already has come first, then the lowest addresses: re-plans never churn.
            let chosen = free.sorted { a, b in
                let (aMine, bMine) = (mine.contains(a.address), mine.contains(b.address))
                return aMine != bMine ? aMine : a.address < b.address
            }.prefix(gpu.count)
            guard chosen.count == gpu.count else {
                let taken = matching.filter { !free.contains($0) }.map { device in
                    "\(device.address) is used by \(claims[device.address] ?? foreignHolder(of: device.address, besides: [vm.name]) ?? "another VM")"
                }
                problems.append(Diagnostic("gpus selector \(gpu.summary) of '\(vm.name)' cannot be satisfied on host '\(host)': "
                    + "\(matching.count) device\(matching.count == 1 ? "" : "s") match, \(free.count) free"
                    + (taken.isEmpty ? "" : " (\(taken.joined(separator: "; ")))"), at: located.location))
                continue
            }
            for device in chosen {
                claims[device.address] = vm.name
                result.append(GPURequest(pci: device.address, allowNonGPU: gpu.allowNonGPU))
            }
        }
        located.value.gpus = result
    }

    /// VFIO hands a whole IOMMU group to one VM: every other endpoint in it must go along.
    mutating func checkIOMMUGroups(_ located: Located<VirtualMachineSpec>) {
        let vm = located.value
        let assigned = Set(vm.gpus.compactMap(\.pci))
        for address in assigned.sorted() {
            guard let device = view.inventory.device(at: address), let group = device.iommuGroup else { continue }
            let others = device.iommuGroupMembers.filter { member in
                guard member != address, !assigned.contains(member) else { return false }
                // Bridges stay with the host; only endpoints are handed over.
                return view.inventory.device(at: member).map { !$0.isBridge } ?? true
            }
            guard !others.isEmpty else { continue }
            let names = others.map { member in view.inventory.device(at: member).map { "\(member) (\($0.describe))" } ?? "\(member)" }
            problems.append(Diagnostic("PCI device \(address) of '\(vm.name)' shares IOMMU group \(group) on host '\(host)' with "
                + "\(names.joined(separator: ", ")), which \(others.count == 1 ? "is" : "are") not assigned to it; "
                + "VFIO passes a whole group: add \(others.count == 1 ? "it" : "them") to gpus (with allowNonGPU: true)", at: located.location))
        }
    }

    mutating func placeVGPUs(_ located: Located<VirtualMachineSpec>) {
        let vm = located.value
        guard !vm.vgpus.isEmpty else { return }
        guard view.features.mediatedDevices else {
            problems.append(Diagnostic("VirtualMachine '\(vm.name)' asks for vGPUs, but host '\(host)' runs \(view.host.hypervisor.rawValue), "
                + "whose libvirt driver (libxl) has no mediated devices; pass a whole GPU with gpus instead", at: located.location))
            return
        }
        for vgpu in vm.vgpus {
            let wanted = vgpu.type ?? vgpu.profile ?? ""
            if let existing = view.inventory.mediatedDevices.first(where: { $0.uuid == vgpu.uuid }) {
                if let type = vgpu.type, existing.typeID != type {
                    problems.append(Diagnostic("an mdev with uuid \(vgpu.uuid) already exists on host '\(host)' with type \(existing.typeID), not \(type)", at: located.location))
                } else {
                    adoptIfInterrupted(existing, for: vm.name)
                }
                continue
            }
            let parents = view.inventory.gpus.filter { vgpu.parent == nil || $0.address == vgpu.parent }
            let offers = parents.compactMap { gpu in
                gpu.mdevTypes.first { $0.id == vgpu.type || $0.name == vgpu.profile }.map { (gpu, $0) }
            }
            guard !offers.isEmpty else {
                let scope = vgpu.parent.map { "the GPU at \($0)" } ?? "any GPU"
                unconfirmed("mdev type \(wanted) for '\(vm.name)' is not offered by \(scope) on host '\(host)'", at: located.location)
                continue
            }
            let free = offers.map { gpu, type in (gpu, type, type.availableInstances - planned["\(gpu.address)/\(type.id)", default: 0]) }
            guard let (gpu, type, _) = free.first(where: { $0.2 > 0 }) else {
                let detail = free.map { "\($0.0.address): \(max(0, $0.2)) free" }.joined(separator: ", ")
                unconfirmed("mdev type \(wanted) is exhausted on host '\(host)' (\(detail)); '\(vm.name)' needs one more", at: located.location)
                continue
            }
            if view.features.mdevctl == false {
                problems.append(Diagnostic("'\(vm.name)' needs a new vGPU (\(type.id) on \(gpu.address)), but host '\(host)' has no mdevctl, "
                    + "which libvirt uses to define persistent mediated devices: install it there (apt-get install mdevctl)", at: located.location))
                continue
            }
            planned["\(gpu.address)/\(type.id)", default: 0] += 1
            let device = RecordedDevice(uuid: vgpu.uuid, host: host, type: type.id, parent: gpu.address)
            changes.append(ResourceChange(device.address, action: .create, reason: .neededByVM,
                                          effect: .createMediatedDevice(type: type.id, parent: gpu.address),
                                          notes: ["vGPU for \(vm.name): defined persistent with autostart, before the VM starts"],
                                          after: .mediatedDevice(device), summary: device.summary, usedBy: vm.name))
        }
    }

    /// An mdev an interrupted apply created but never recorded is recorded now, so that vmplan
    /// removes it once no VM uses it.
    mutating func adoptIfInterrupted(_ existing: MediatedDevice, for vm: String) {
        let device = RecordedDevice(uuid: existing.uuid, host: host, type: existing.typeID, parent: existing.parent)
        guard unrecordedCreates.contains(device.address) else { return }
        changes.append(ResourceChange(device.address, action: .adopt, reason: .interruptedCreate, effect: .recordOnly,
                                      notes: [StoragePlanner.interruptedNote], after: .mediatedDevice(device),
                                      summary: device.summary, usedBy: vm))
    }

    /// `0x10de` and `10de` alike.
    static func id(_ text: String) -> String {
        (text.lowercased().hasPrefix("0x") ? String(text.dropFirst(2)) : text).lowercased()
    }
}

extension PCIDevice {
    var isBridge: Bool { classCode >> 16 == 0x06 }

    /// `NVIDIA Corporation TU104GL [Tesla T4], class 0x030200`.
    var describe: String {
        let name = [vendorName, productName].compactMap { $0 }.joined(separator: " ")
        return (name.isEmpty ? "\(vendorID):\(productID)" : name) + ", class 0x" + String(format: "%06x", classCode)
    }
}
