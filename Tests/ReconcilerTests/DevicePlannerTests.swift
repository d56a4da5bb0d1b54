import Testing
import Drivers
import Reconciler
import Spec

/// mdev removal rules, with an inventory built in memory.
@Suite("Planner: mediated devices vmplan created")
struct DevicePlannerTests {
    typealias P = PlannerTests
    static let parent = PCIAddress(parsing: "0000:3b:00.0")!
    static let uuid = VGPURequest.derivedUUID(vm: "desk", index: 0)

    static var view: HostDeviceView {
        let gpu = PCIDevice(address: parent, libvirtName: parent.nodeDeviceName, classCode: 0x030200, vendorID: "0x10de",
                            vendorName: "NVIDIA", productID: "0x1eb8", productName: "T4", driver: "nvidia", iommuGroup: 1,
                            iommuGroupMembers: [parent], mdevTypes: [MdevType(id: "nvidia-222", name: "GRID T4-1B", deviceAPI: "vfio-pci", availableInstances: 3)])
        let mdev = MediatedDevice(uuid: uuid, typeID: "nvidia-222", parent: parent, libvirtName: "mdev_x")
        return HostDeviceView(host: HostSpec(name: "kvm-01", uri: "test:///default", hypervisor: .kvm),
                              inventory: HostInventory(pciDevices: [gpu], mediatedDevices: [mdev]),
                              features: DriverFeatures(changeRules: .kvm, mediatedDevices: true, mdevctl: nil))
    }

    static func desk(vgpu: Bool, state: PowerState = .running) -> VirtualMachineSpec {
        var spec = P.vm("desk", state: state)
        if vgpu { spec.vgpus = [VGPURequest(type: "nvidia-222", uuid: uuid)] }
        return spec
    }

    static func plan(desired: [VirtualMachineSpec], recorded: [VirtualMachineSpec], live: [ObservedDomain]) throws -> Plan {
        try Planner.plan(desired: desired.map { Located($0, at: P.here) },
                         recorded: Dictionary(uniqueKeysWithValues: recorded.map { ($0.name, P.recorded($0)) }),
                         live: ["kvm-01": live], devices: ["kvm-01": view],
                         recordedDevices: [RecordedDevice(uuid: uuid, host: "kvm-01", type: "nvidia-222", parent: parent)])
    }

    @Test func anExistingMdevInUseIsNeitherCreatedNorRemoved() throws {
        let plan = try Self.plan(desired: [Self.desk(vgpu: true)], recorded: [Self.desk(vgpu: true)], live: [P.domain(Self.desk(vgpu: true))])
        #expect(plan.changes(of: .mediatedDevice).isEmpty)
        #expect(!plan.hasChanges)
    }

    @Test func anUnusedMdevOfVmplansIsRemovedAfterTheVMDropsIt() throws {
        // The VM is stopped, so its config change is all it takes to stop using the vGPU.
        let plan = try Self.plan(desired: [Self.desk(vgpu: false, state: .stopped)], recorded: [Self.desk(vgpu: true, state: .stopped)],
                                 live: [P.domain(Self.desk(vgpu: true, state: .stopped))])
        let removal = try #require(plan.changes(of: .mediatedDevice).first)
        #expect(plan.changes(of: .mediatedDevice).count == 1)
        #expect(removal.address == ResourceAddress(.mediatedDevice, Self.uuid, host: "kvm-01"))
        #expect(removal.action == .delete && removal.effect == .removeMediatedDevice(libvirtName: "mdev_x"))
        #expect(removal.usedBy == "desk" && removal.before == .mediatedDevice(RecordedDevice(uuid: Self.uuid, host: "kvm-01", type: "nvidia-222", parent: Self.parent)))
        #expect(removal.requires == [ResourceAddress(.virtualMachine, "desk", host: "kvm-01")], "removed only once the VM dropped it")
        #expect(plan.changes(of: .virtualMachine).first?.action == .update)
        #expect(plan.changes.map(\.kind) == [.virtualMachine, .mediatedDevice], "the VM changes first")
    }

    @Test func anMdevARunningVMStillUsesIsKeptUntilItReboots() throws {
        var keep = Self.desk(vgpu: false)
        keep.lifecycle.restart = .never
        var domain = P.domain(keep)
        domain.runningSpec = Self.desk(vgpu: true)  // still running with the vGPU
        let plan = try Self.plan(desired: [keep], recorded: [keep], live: [domain])
        #expect(plan.changes(of: .mediatedDevice).isEmpty)
    }

    @Test func aMissingMdevIsCreatedAgain() throws {
        var view = Self.view
        view.inventory.mediatedDevices = []
        let plan = try Planner.plan(desired: [Located(Self.desk(vgpu: true), at: P.here)], recorded: ["desk": P.recorded(Self.desk(vgpu: true))],
                                    live: ["kvm-01": [P.domain(Self.desk(vgpu: true))]], devices: ["kvm-01": view], recordedDevices: [])
        #expect(plan.changes(of: .mediatedDevice).map(\.action) == [.create])
        #expect(plan.changes(of: .mediatedDevice).first?.effect == .createMediatedDevice(type: "nvidia-222", parent: Self.parent))
        #expect(plan.toAdd == 1)
    }

    @Test func aHostWithoutMdevctlFailsThePlanWhenAVGPUMustBeCreated() throws {
        var view = Self.view
        view.inventory.mediatedDevices = []
        view.features.mdevctl = false
        #expect {
            try Planner.plan(desired: [Located(Self.desk(vgpu: true), at: P.here)], recorded: [:], live: ["kvm-01": []],
                             devices: ["kvm-01": view])
        } throws: { error in
            "\(error)".contains("'desk' needs a new vGPU (nvidia-222 on 0000:3b:00.0), but host 'kvm-01' has no mdevctl")
                && "\(error)".contains("apt-get install mdevctl")
        }
        // An existing mdev needs no mdevctl.
        var existing = Self.view
        existing.features.mdevctl = false
        #expect(try Planner.plan(desired: [Located(Self.desk(vgpu: true), at: P.here)], recorded: [:], live: ["kvm-01": []],
                                 devices: ["kvm-01": existing]).changes(of: .mediatedDevice).isEmpty)
    }
}
