import Foundation
import Testing
import Drivers

/// Node device XML read without libvirt: what the test driver drops (`<driver>`) and the
/// malformed or unusual inputs it would never serve.
@Suite("Node device XML")
struct NodeDeviceXMLTests {
    typealias F = GPUHostFixture

    func fixture() throws -> HostInventory {
        try HostInventory(nodeDeviceXML: [String(contentsOf: F.url, encoding: .utf8)])
    }

    @Test func readsBoundDrivers() throws {
        let inventory = try fixture()
        #expect(inventory.device(at: F.t4First)?.driver == "nvidia")
        #expect(inventory.device(at: F.a100)?.driver == "vfio-pci")
        #expect(inventory.device(at: F.radeonAudio)?.driver == "snd_hda_intel")
        #expect(inventory.device(at: F.nicVF)?.driver == "iavf")
    }

    @Test func readsTheWholeFixture() throws {
        let inventory = try fixture()
        #expect(inventory.gpus.map(\.address) == [F.a100, F.t4First, F.radeon, F.t4Second])
        #expect(inventory.device(at: F.t4First)?.iommuGroup == 25)
        #expect(inventory.mediatedDevices.map(\.parent) == [F.t4First])
    }

    @Test func oneDeviceDocumentWithoutDriverOrIOMMU() throws {
        let xml = """
            <device>
              <name>pci_0000_00_02_0</name>
              <parent>computer</parent>
              <capability type='pci'>
                <class>0x030000</class>
                <domain>0</domain><bus>0</bus><slot>2</slot><function>0</function>
                <product id='0x3E92'/>
                <vendor id='0x8086'>Intel Corporation</vendor>
              </capability>
            </device>
            """
        let device = try #require(try HostInventory(nodeDeviceXML: [xml]).pciDevices.first)
        #expect(device.address.description == "0000:00:02.0")
        #expect(device.productID == "0x3e92")
        #expect(device.productName == nil)
        #expect(device.driver == nil)
        #expect(device.iommuGroup == nil)
        #expect(device.iommuGroupMembers.isEmpty)
        #expect(device.isDisplayController)
    }

    @Test func mdevParentResolvesByNameWhenTheParentWasNotListed() throws {
        let xml = """
            <device>
              <name>mdev_0b2e2c36_0e4a_4e38_9d1e_0c7f1a2b3c4d</name>
              <parent>pci_0000_af_00_0</parent>
              <capability type='mdev'>
                <type id='nvidia-223'/>
                <uuid>0B2E2C36-0E4A-4E38-9D1E-0C7F1A2B3C4D</uuid>
                <iommuGroup number='181'/>
              </capability>
            </device>
            """
        let device = try #require(try HostInventory(nodeDeviceXML: [xml]).mediatedDevices.first)
        #expect(device.parent == F.t4Second)
        #expect(device.uuid == "0b2e2c36-0e4a-4e38-9d1e-0c7f1a2b3c4d")
        #expect(device.typeID == "nvidia-223")
    }

    @Test func mdevOnANonPCIParentHasNoParentAddress() throws {
        let xml = """
            <device>
              <name>mdev_8e37ee90_2b51_45e3_9b25_bf8283c03110</name>
              <parent>css_0_0_0052</parent>
              <capability type='mdev'>
                <type id='vfio_ccw-io'/>
                <uuid>8e37ee90-2b51-45e3-9b25-bf8283c03110</uuid>
                <iommuGroup number='0'/>
              </capability>
            </device>
            """
        let inventory = try HostInventory(nodeDeviceXML: [xml])
        #expect(inventory.mediatedDevices.count == 1)
        #expect(inventory.mediatedDevices.first?.parent == nil)
        #expect(inventory.pciDevices.isEmpty)
    }

    @Test("malformed devices are errors naming the device", arguments: [
        ("<device><name>pci_bad</name><capability type='pci'><class>0x030000</class><domain>0</domain><bus>0</bus><slot>32</slot><function>0</function></capability></device>", "pci_bad"),
        ("<device><name>pci_nobus</name><capability type='pci'><class>0x030000</class><domain>0</domain><slot>0</slot><function>0</function></capability></device>", "pci_nobus"),
        ("<device><name>pci_class</name><capability type='pci'><class>green</class><domain>0</domain><bus>0</bus><slot>0</slot><function>0</function></capability></device>", "pci_class"),
        ("<device><name>pci_group</name><capability type='pci'><class>0x030000</class><domain>0</domain><bus>0</bus><slot>0</slot><function>0</function><iommuGroup number='3'><address domain='0x0000' bus='0x00' slot='0x00' function='0x9'/></iommuGroup></capability></device>", "pci_group"),
        ("<device><name>mdev_nouuid</name><capability type='mdev'><type id='nvidia-222'/></capability></device>", "mdev_nouuid"),
    ])
    func rejects(xml: String, name: String) {
        #expect {
            try HostInventory(nodeDeviceXML: [xml])
        } throws: { error in
            guard let error = error as? DriverError else { return false }
            return error.code == .operation && error.message.contains(name)
        }
    }

    @Test("documents that are not XML, or cut short, are errors", arguments: [
        "<device><name>x</name>", "<device><name>x</device>", "", "pci_0000_3b_00_0",
    ])
    func notXMLIsAnError(xml: String) {
        #expect(throws: DriverError.self) { try HostInventory(nodeDeviceXML: [xml]) }
    }

    @Test func codableRoundTrip() throws {
        let inventory = try fixture()
        let data = try JSONEncoder().encode(inventory)
        #expect(try JSONDecoder().decode(HostInventory.self, from: data) == inventory)
        #expect(String(decoding: data, as: UTF8.self).contains(#""address":"0000:3b:00.0""#))
    }
}
