import Foundation
import Testing
import TestSupport
@testable import Drivers
import Spec

@Suite("Storage XML and disks")
struct StorageXMLTests {
    let host = HostCapabilities(arch: "x86_64", hvmDomainTypes: ["qemu"])

    func vm() -> VirtualMachineSpec {
        VirtualMachineSpec(
            name: "web-1", host: "kvm-01", vcpus: 1, memory: .mebibytes(64),
            disks: [DiskSpec(volume: "web-1-root", pool: "p&q", bus: .virtio, boot: 1),
                    DiskSpec(volume: "data", pool: "p&q", bus: .scsi, readonly: true, format: .raw, shareable: true)],
            cloudInit: CloudInitSpec(userData: "#cloud-config\n"))
    }

    @Test func disksRoundTripThroughDomainXML() throws {
        let xml = try DomainXML.kvm(for: vm(), capabilities: host)
        #expect(xml.contains("<source pool='p&amp;q' volume='web-1-root'/>"))
        #expect(xml.contains("<controller type='scsi' index='0' model='virtio-scsi'/>"))
        #expect(!xml.contains("<boot dev='hd'/>"), "per-disk boot order replaces <os><boot>")
        let found = try DiskXML.read(xml)
        #expect(found.map(\.target) == ["vda", "sda", "sdb"])
        #expect(found.map(\.disk) == vm().attachedDisks)
    }

    @Test func targetsSkipNamesInUse() {
        let disks = [DiskSpec(volume: "a", pool: "p"), DiskSpec(volume: "b", pool: "p", bus: .sata)]
        #expect(DiskXML.targets(for: disks, avoiding: ["vda", "vdb", "sda"]) == ["vdc", "sdb"])
    }

    @Test func hotplugIsLiveOnlyForVirtioAndSCSIDisks() {
        var before = vm(), after = vm()
        after.disks.append(DiskSpec(volume: "extra", pool: "p", bus: .virtio))
        #expect(DiskHotplug.isLive(from: before, to: after))
        after.disks.append(DiskSpec(volume: "dvd", pool: "p", bus: .sata, device: .cdrom))
        #expect(!DiskHotplug.isLive(from: before, to: after))
        before.cloudInit = nil  // adding a seed cdrom needs a restart
        #expect(!DiskHotplug.isLive(from: before, to: vm()))
    }

    @Test func volumeAndPoolXMLAreEscapedAndReadBack() throws {
        let xml = try StorageXML.volume(name: "web-1-root", capacity: .gibibytes(2), format: "qcow2", backing: ("/p/base'<x>", "raw"))
        #expect(xml.contains("<path>/p/base&apos;&lt;x&gt;</path>"))
        let facts = try StorageXML.readVolume(xml)
        #expect(facts.capacity == .gibibytes(2) && facts.format == "qcow2" && facts.backingPath == "/p/base'<x>")
        #expect(throws: DriverError.self) { try StorageXML.volume(name: "../etc", capacity: .gibibytes(1), format: "raw") }
        let pool = try StorageXML.pool(StoragePoolSpec(name: "p", host: "h", path: "/var/lib/p"))
        #expect(try StorageXML.readPool(pool).path == "/var/lib/p")
    }

    @Test func aTruncatedPoolOrVolumeIsAnError() throws {
        let pool = try StorageXML.pool(Self.logical)
        // Without </target> a pool must not be read as one whose path is "".
        expectTruncationRejected(pool.cut(before: "</target>"), what: "pool", inside: "<pool><target>") { _ = try StorageXML.readPool($0) }
        for cut in [pool.cut(before: "</pool>"), pool.cut(after: "<path>"), ""] {
            expectTruncationRejected(cut, what: "pool") { _ = try StorageXML.readPool($0) }
        }
        let volume = try StorageXML.volume(name: "v", capacity: .gibibytes(1), format: "qcow2")
        expectTruncationRejected(volume.cut(after: "</capacity>"), what: "volume") { _ = try StorageXML.readVolume($0) }
    }

    @Test(.enabled(if: TestHost.commandExists("virt-xml-validate"), "needs virt-xml-validate (apt libxml2-utils, libvirt-clients)"))
    func generatedXMLValidatesAgainstLibvirtSchema() throws {
        let documents = [
            (try DomainXML.kvm(for: vm(), capabilities: host), "domain"),
            (try StorageXML.pool(StoragePoolSpec(name: "p", host: "h", path: "/var/lib/p")), "storagepool"),
            (try StorageXML.volume(name: "v", capacity: .gibibytes(1), format: "qcow2", backing: ("/p/base", "raw")), "storagevol"),
            (try StorageXML.pool(Self.logical), "storagepool"),
            (try StorageXML.volume(name: "lv", capacity: .mebibytes(8), format: nil), "storagevol"),
        ]
        for (xml, schema) in documents {
            let file = FileManager.default.temporaryDirectory.appendingPathComponent("vmplan-\(UUID().uuidString).xml")
            try xml.write(to: file, atomically: true, encoding: .utf8)
            defer { try? FileManager.default.removeItem(at: file) }
            let result = try TestHost.run("virt-xml-validate", [file.path, schema])
            #expect(result.status == 0, "\(schema): \(result.stdout)\(result.stderr)")
        }
    }

    static let logical = StoragePoolSpec.logical(name: "lvm", host: "h", volumeGroup: "vm+vg", devices: ["/dev/loop0", "/dev/sdb1"], build: true)

    @Test func aLogicalPoolNamesItsGroupAndDevices() throws {
        let xml = try StorageXML.pool(Self.logical)
        #expect(xml.contains("<pool type='logical'>"))
        let source = xml.split(separator: "\n").map { $0.trimmingCharacters(in: .whitespaces) }.joined()
        #expect(source.contains("<source><device path='/dev/loop0'/><device path='/dev/sdb1'/><name>vm+vg</name><format type='lvm2'/></source>"), "\(xml)")
        let facts = try StorageXML.readPool(xml)
        #expect(facts.type == "logical" && facts.path == "/dev/vm+vg" && facts.sourceName == "vm+vg")
        #expect(!(try StorageXML.volume(name: "lv", capacity: .mebibytes(8), format: nil)).contains("<format"), "a logical volume has no format")
        var bad = Self.logical
        bad.devices = ["/etc/passwd"]
        #expect(throws: DriverError.self) { try StorageXML.pool(bad) }
        bad = Self.logical
        bad.path = "/dev/other"
        #expect(throws: DriverError.self, "the path must be /dev/VG") { try StorageXML.pool(bad) }
    }
}
