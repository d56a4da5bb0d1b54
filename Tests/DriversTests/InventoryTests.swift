import Foundation
import Testing
import Drivers

/// Through libvirt itself: the test driver loads the fixture's `<device>` elements and
/// serves them from the node-device API, so listing flags and libvirt's XML are exercised.
@Suite("HostInventory from libvirt's test driver")
struct InventoryTestDriverTests {
    typealias F = GPUHostFixture

    func inventory() async throws -> HostInventory {
        let driver = try await LibvirtDriver.connect(host: "gpu-host", uri: F.uri)
        return try await driver.inventory()
    }

    @Test func connectsAndReadsTheTestDriversCapabilities() async throws {
        let driver = try await LibvirtDriver.connect(host: "gpu-host", uri: F.uri)
        #expect(driver.capabilities.arch == "i686")
    }

    @Test func listsPCIDevicesOnly() async throws {
        let inventory = try await inventory()
        // The system device `computer` and the net device are filtered out by libvirt.
        #expect(inventory.pciDevices.map(\.address) == [F.a100, F.nic, F.nicVF, F.t4First, F.radeon, F.radeonAudio, F.t4Second])
        #expect(inventory.device(at: F.t4First)?.libvirtName == "pci_0000_3b_00_0")
        #expect(inventory.device(at: F.address("0000:00:00.0")) == nil)
    }

    @Test func findsTheFourGPUs() async throws {
        let gpus = try await inventory().gpus
        #expect(gpus.map(\.address) == [F.a100, F.t4First, F.radeon, F.t4Second])
        #expect(gpus.map(\.vendorID) == ["0x10de", "0x10de", "0x1002", "0x10de"])
        #expect(gpus.map(\.productID) == ["0x20b0", "0x1eb8", "0x67df", "0x1eb8"])
        #expect(gpus.map(\.classCode) == [0x030200, 0x030200, 0x030000, 0x030200])
        #expect(gpus[1].vendorName == "NVIDIA Corporation")
        #expect(gpus[1].productName == "TU104GL [Tesla T4]")
        #expect(gpus[2].vendorName == "Advanced Micro Devices, Inc. [AMD/ATI]")
    }

    @Test func t4MdevTypesWithNamesAndRoomLeft() async throws {
        let inventory = try await inventory()
        // One T4-1B exists on the first T4, which leaves room for that type only.
        #expect(inventory.device(at: F.t4First)?.mdevTypes == [
            MdevType(id: "nvidia-222", name: "GRID T4-1B", deviceAPI: "vfio-pci", availableInstances: 15),
            MdevType(id: "nvidia-223", name: "GRID T4-2B", deviceAPI: "vfio-pci", availableInstances: 0),
            MdevType(id: "nvidia-230", name: "GRID T4-16Q", deviceAPI: "vfio-pci", availableInstances: 0),
        ])
        let second = try #require(inventory.device(at: F.t4Second))
        #expect(second.mdevTypes.map(\.id) == ["nvidia-222", "nvidia-223", "nvidia-230"])
        #expect(second.mdevTypes.map(\.availableInstances) == [16, 8, 1])
        #expect(inventory.device(at: F.a100)?.mdevTypes == [])
    }

    @Test func existingMdevWithItsParent() async throws {
        let inventory = try await inventory()
        #expect(inventory.mediatedDevices == [
            MediatedDevice(uuid: F.vgpuUUID, typeID: "nvidia-222", parent: F.t4First, libvirtName: F.vgpuName),
        ])
        #expect(inventory.mediatedDevices(on: F.t4First).map(\.uuid) == [F.vgpuUUID])
        #expect(inventory.mediatedDevices(on: F.t4Second).isEmpty)
    }

    @Test func iommuGroups() async throws {
        let inventory = try await inventory()
        let radeon = try #require(inventory.device(at: F.radeon))
        #expect(radeon.iommuGroup == 40)
        #expect(radeon.iommuGroupMembers == [F.radeon, F.radeonAudio])
        #expect(inventory.device(at: F.radeonAudio)?.iommuGroupMembers == [F.radeon, F.radeonAudio])
        #expect(inventory.device(at: F.a100)?.iommuGroup == 12)
        #expect(inventory.device(at: F.a100)?.iommuGroupMembers == [F.a100])
        // The NIC's SR-IOV function list also holds <address> elements; they are not group members.
        #expect(inventory.device(at: F.nic)?.iommuGroupMembers == [F.nic])
    }

    @Test func nicAndAudioAreNotDisplayControllers() async throws {
        let inventory = try await inventory()
        let nic = try #require(inventory.device(at: F.nic))
        #expect(nic.classCode == 0x020000)
        #expect(!nic.isDisplayController)
        #expect(inventory.device(at: F.radeonAudio)?.classCode == 0x040300)
        #expect(inventory.device(at: F.radeonAudio)?.isDisplayController == false)
        #expect(inventory.device(at: F.t4First)?.isDisplayController == true)
    }

    /// libvirt re-writes the XML it serves (decimal addresses, its own layout); reading that
    /// must give what reading the fixture directly gives, less `<driver>`, which the test
    /// driver does not keep.
    @Test func agreesWithTheFixtureReadDirectly() async throws {
        let viaLibvirt = try await inventory()
        var direct = try HostInventory(nodeDeviceXML: [String(contentsOf: F.url, encoding: .utf8)])
        #expect(direct.pciDevices.allSatisfy { $0.driver != nil })
        for index in direct.pciDevices.indices { direct.pciDevices[index].driver = nil }
        #expect(viaLibvirt == direct)
    }
}
