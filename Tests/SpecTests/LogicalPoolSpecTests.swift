import Foundation
import Testing
@testable import Spec

/// `type: logical` pools and the volumes in them: loading, and every error with its location.
@Suite("Logical (LVM) pool documents")
struct LogicalPoolSpecTests {
    /// A Host (lines 1-4), `---`, then a StoragePool whose spec's first field is on line 10, at column 3.
    static func pool(_ spec: String, name: String = "lvm") -> String {
        """
        apiVersion: vmplan/v1
        kind: Host
        metadata: {name: kvm-01}
        spec: {uri: "qemu:///system", hypervisor: kvm}
        ---
        apiVersion: vmplan/v1
        kind: StoragePool
        metadata: {name: \(name)}
        spec:

        """ + spec.split(separator: "\n").map { "  " + $0 }.joined(separator: "\n") + "\n---\n"
    }

    @Test func aLogicalPoolOnDevicesAndRawVolumesLoad() throws {
        let text = Self.pool("host: kvm-01\ntype: logical\nvolumeGroup: vmplan_vg.1+x\ndevices: [/dev/sdb, /dev/disk/by-id/wwn-0x5000]\nbuild: true")
            + StorageSpecTests.volume("data", "pool: lvm\ncapacity: 12MiB")
            + StorageSpecTests.volume("copy", "pool: lvm\ncapacity: 16MiB\nformat: raw\nfrom: {volume: data}")
            + StorageSpecTests.vm("web-1", "disks: [{volume: data}]")
        let manifest = try ManifestLoader.load(files: [("m.yaml", text)])
        let pool = try #require(manifest.storage.pools.first?.value)
        #expect(pool == .logical(name: "lvm", host: "kvm-01", volumeGroup: "vmplan_vg.1+x", devices: ["/dev/sdb", "/dev/disk/by-id/wwn-0x5000"], build: true))
        #expect(pool.path == "/dev/vmplan_vg.1+x")
        #expect(manifest.storage.volumes.map(\.value.format) == [.raw, .raw], "raw is the default in a logical pool")
        #expect(manifest.virtualMachines.first?.value.disks.first?.format == .raw, "the disk opens the LV as raw")
    }

    @Test func anExistingVolumeGroupNeedsNoDevicesAndBuildDefaultsToFalse() throws {
        let manifest = try ManifestLoader.load(files: [("m.yaml", Self.pool("host: kvm-01\ntype: logical\nvolumeGroup: vg0"))])
        let pool = try #require(manifest.storage.pools.first?.value)
        #expect(pool.devices.isEmpty && !pool.build && pool.volumeGroup == "vg0")
    }

    @Test func poolFieldErrorsNameTheirLocation() {
        let text = Self.pool("host: kvm-01\ntype: logical\nvolumeGroup: -vg\ndevices: [sdb, /dev/sdc, /dev/sdc, /dev/../etc/x, /dev/]\npath: /srv/x")
            + "apiVersion: vmplan/v1\nkind: StoragePool\nmetadata: {name: nobuild}\nspec: {host: kvm-01, type: logical, volumeGroup: vg1, build: true}\n---\n"
            + "apiVersion: vmplan/v1\nkind: StoragePool\nmetadata: {name: dirpool}\nspec: {host: kvm-01, type: dir, path: /srv/d, volumeGroup: vg2}\n---\n"
            + "apiVersion: vmplan/v1\nkind: StoragePool\nmetadata: {name: novg}\nspec: {host: kvm-01, type: logical, devices: []}\n"
        #expect(diagnostics(text) == [
            "m.yaml:12:16: error: volumeGroup must be an LVM name: \(LogicalPool.volumeGroupRule); got '-vg'",
            "m.yaml:13:13: error: an entry of devices must be \(LogicalPool.deviceRule); got 'sdb'",
            "m.yaml:13:28: error: /dev/sdc is listed twice in devices",
            "m.yaml:13:38: error: an entry of devices must be \(LogicalPool.deviceRule); got '/dev/../etc/x'",
            "m.yaml:13:53: error: an entry of devices must be \(LogicalPool.deviceRule); got '/dev/'",
            "m.yaml:14:3: error: path does not belong in a type: logical pool; a logical pool's path is /dev/VOLUMEGROUP, set by volumeGroup",
            "m.yaml:19:55: error: build: true needs devices, the block devices to make the volume group on (they are erased)",
            "m.yaml:24:47: error: volumeGroup does not belong in a type: dir pool; only a logical (LVM) pool has volumeGroup",
            "m.yaml:29:7: error: missing required field 'volumeGroup' in StoragePool spec (type: logical needs the LVM volume group's name)",
        ])
    }

    @Test("LVM names", arguments: [("vg0", true), ("my_vg+1.x-y", true), ("-vg", false), (".", false), ("..", false),
                                   ("vg/x", false), ("vg x", false), ("", false), (String(repeating: "a", count: 128), false)])
    func volumeGroupNames(name: String, valid: Bool) {
        #expect(LogicalPool.isValidVolumeGroup(name) == valid)
    }

    @Test func volumesInALogicalPoolAreRawWholeExtentsWithoutOverlaysOrImages() {
        let text = Self.pool("host: kvm-01\ntype: logical\nvolumeGroup: vg0")
            + StorageSpecTests.volume("q", "pool: lvm\ncapacity: 8MiB\nformat: qcow2")
            + StorageSpecTests.volume("odd", "pool: lvm\ncapacity: 10MiB")
            + StorageSpecTests.volume("overlay", "pool: lvm\ncapacity: 8MiB\nbacking: odd")
            + StorageSpecTests.volume("img", "pool: lvm\ncapacity: 8MiB\nfrom: {image: /srv/a.img}")
        #expect(diagnostics(text) == [
            "m.yaml:20:3: error: Volume 'q' is in the logical (LVM) pool 'lvm', whose volumes are raw block devices; format: qcow2 needs a dir pool. Use format: raw (the default in a logical pool)",
            "m.yaml:27:13: error: Volume 'odd': capacity 10MiB is not a multiple of 4MiB, LVM's extent in the logical pool 'lvm'; LVM would round it up and later plans would see a volume larger than asked. Use 12MiB",
            "m.yaml:35:3: error: Volume 'overlay' is in the logical (LVM) pool 'lvm', and LVM has no qcow2 overlays; put the overlay and its base in a dir pool, or make a full copy with from: {volume: …}",
            "m.yaml:43:3: error: Volume 'img': from.image cannot fill a volume in the logical (LVM) pool 'lvm' yet; copy the image into a Volume of a dir pool and use from: {volume: …}",
        ])
    }

    @Test func twoPoolsCannotShareAVolumeGroupOrADevice() {
        let text = Self.pool("host: kvm-01\ntype: logical\nvolumeGroup: vg0\ndevices: [/dev/sdb]")
            + "apiVersion: vmplan/v1\nkind: StoragePool\nmetadata: {name: again}\nspec: {host: kvm-01, type: logical, volumeGroup: vg0}\n---\n"
            + "apiVersion: vmplan/v1\nkind: StoragePool\nmetadata: {name: other}\nspec: {host: kvm-01, type: logical, volumeGroup: vg1, devices: [/dev/sdb]}\n"
        #expect(diagnostics(text) == [
            "m.yaml:15:1: error: StoragePool 'again' uses the volume group vg0 of StoragePool 'lvm' on host 'kvm-01'; each pool needs its own",
            "m.yaml:20:1: error: StoragePool 'other' lists device /dev/sdb, which StoragePool 'lvm' also lists on host 'kvm-01'; a device belongs to one volume group",
        ])
    }

    @Test func aDirPoolsRecordedJSONHasNoLVMFields() throws {
        // Records written before logical pools existed must decode, and a dir pool's JSON (its hash) must not change.
        let old = #"{"host":"kvm-01","name":"p","path":"\/srv\/p","type":"dir"}"#
        let decoded = try JSONDecoder().decode(StoragePoolSpec.self, from: Data(old.utf8))
        #expect(decoded == StoragePoolSpec(name: "p", host: "kvm-01", path: "/srv/p"))
        #expect(try CanonicalJSON.string(decoded) == old)
        let logical = StoragePoolSpec.logical(name: "l", host: "h", volumeGroup: "vg", devices: ["/dev/sdb"], build: true)
        #expect(try JSONDecoder().decode(StoragePoolSpec.self, from: CanonicalJSON.encode(logical)) == logical)
    }
}
