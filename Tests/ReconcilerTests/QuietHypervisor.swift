import Drivers
import Spec

/// A stand-in host for applier tests: every call does nothing and observes nothing, unless the
/// test's type answers it itself.
protocol QuietHypervisor: Hypervisor {}

extension QuietHypervisor {
    var hostUUID: String? { nil }
    var features: DriverFeatures { DriverFeatures(changeRules: .kvm, mediatedDevices: false, mdevctl: false) }
    func define(_ spec: VirtualMachineSpec, owner: String) async throws {}
    func observe() async throws -> [ObservedDomain] { [] }
    func guestStatus(_ name: String) async throws -> GuestStatus? { nil }
    func update(_ spec: VirtualMachineSpec, owner: String, progress: ProgressHandler?) async throws {}
    func importDomain(_ spec: VirtualMachineSpec, uuid: String, owner: String) async throws {}
    func observeNetworks() async throws -> [ObservedNetwork] { [] }
    func createNetwork(_ spec: NetworkSpec, owner: String) async throws {}
    func updateNetwork(_ spec: NetworkSpec, owner: String, restart: Bool) async throws {}
    func deleteNetwork(_ name: String, owner: String) async throws {}
    func importNetwork(_ spec: NetworkSpec, uuid: String, owner: String) async throws {}
    func dhcpLeases(network: String) async throws -> [DHCPLease] { [] }
    func start(_ name: String) async throws {}
    func stop(_ name: String, policy: StopPolicy, progress: ProgressHandler?) async throws {}
    func delete(_ name: String, policy: StopPolicy, progress: ProgressHandler?) async throws {}
    func inventory() async throws -> HostInventory { HostInventory(pciDevices: [], mediatedDevices: []) }
    func createMediatedDevice(uuid: String, type: String, parent: PCIAddress) async throws {}
    func removeMediatedDevice(libvirtName: String) async throws {}
    func observeStorage(imagePaths: [String]) async throws -> ObservedStorage { ObservedStorage() }
    func createPool(_ spec: StoragePoolSpec) async throws -> String { "" }
    func deletePool(_ name: String, expectedUUID: String) async throws {}
    func createVolume(_ spec: VolumeSpec, content: VolumeContent) async throws -> String { "" }
    func growVolume(pool: String, name: String, to capacity: ByteCount) async throws -> String? { nil }
    func deleteVolume(pool: String, name: String, expectedKey: String, allowAttached: Bool) async throws {}
}
