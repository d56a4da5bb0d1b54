import Foundation
import Testing
@testable import Spec

/// StoragePool, Volume, disks and cloudInit: loading, and every error with its location.
@Suite("Storage documents")
struct StorageSpecTests {
    static let host = """
        apiVersion: vmplan/v1
        kind: Host
        metadata: {name: kvm-01}
        spec: {uri: "qemu:///system", hypervisor: kvm}
        ---
        apiVersion: vmplan/v1
        kind: StoragePool
        metadata: {name: pool-a}
        spec: {host: kvm-01, type: dir, path: /var/lib/vmplan/pool-a}
        ---

        """

    static func volume(_ name: String, _ spec: String) -> String {
        "apiVersion: vmplan/v1\nkind: Volume\nmetadata: {name: \(name)}\nspec:\n" + spec
            .split(separator: "\n").map { "  " + $0 }.joined(separator: "\n") + "\n---\n"
    }

    static func vm(_ name: String, _ extra: String) -> String {
        "apiVersion: vmplan/v1\nkind: VirtualMachine\nmetadata: {name: \(name)}\nspec:\n  host: kvm-01\n  vcpus: 1\n  memory: 64MiB\n"
            + extra.split(separator: "\n").map { "  " + $0 }.joined(separator: "\n") + "\n"
    }

    @Test func poolsVolumesDisksAndSeedsLoad() throws {
        let text = Self.host
            + Self.volume("base", "pool: pool-a\ncapacity: 1GiB\nformat: raw\nfrom: {image: /srv/images/debian.img}")
            + Self.volume("root", "pool: pool-a\ncapacity: 4GiB\nbacking: base\nreclaim: delete")
            + Self.volume("copy", "pool: pool-a\ncapacity: 2GiB\nfrom: {volume: base}\nshareable: true")
            + Self.vm("web-1", "disks:\n  - {volume: root, bus: virtio, boot: 1}\n  - {volume: copy, bus: scsi, readonly: true}\ncloudInit:\n  userData: \"#cloud-config\\n\"")
        let manifest = try ManifestLoader.load(files: [("m.yaml", text)])
        #expect(manifest.storage.pools.map(\.value) == [StoragePoolSpec(name: "pool-a", host: "kvm-01", path: "/var/lib/vmplan/pool-a")])
        let volumes = manifest.storage.volumes.map(\.value)
        #expect(volumes.map(\.name) == ["base", "root", "copy"])
        #expect(volumes[0].source == .image("/srv/images/debian.img") && volumes[0].format == .raw)
        #expect(volumes[1].source == .backing("base") && volumes[1].reclaim == .delete && volumes[1].capacity == .gibibytes(4))
        #expect(volumes[2].source == .volume("base") && volumes[2].shareable && volumes[2].reclaim == .retain)
        #expect(manifest.storage.fieldLocations["Volume/root.capacity"] == SourceLocation(file: "m.yaml", line: 25, column: 13))
        let vm = try #require(manifest.virtualMachines.first?.value)
        #expect(vm.disks == [
            DiskSpec(volume: "root", pool: "pool-a", bus: .virtio, boot: 1, format: .qcow2),
            DiskSpec(volume: "copy", pool: "pool-a", bus: .scsi, readonly: true, format: .qcow2, shareable: true),
        ])
        #expect(vm.cloudInit?.userData == "#cloud-config\n")
        #expect(vm.attachedDisks.last == DiskSpec(volume: "web-1-cidata.iso", pool: "pool-a", bus: .sata, device: .cdrom, readonly: true, format: .raw))
    }

    @Test func cloudInitFilesAreReadRelativeToTheManifest() throws {
        let directory = try makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        try write("#cloud-config\npackages: [nginx]\n", to: directory + "/ci/web.yaml.txt")
        try write(Self.host + Self.volume("root", "pool: pool-a\ncapacity: 1GiB")
            + Self.vm("web-1", "disks: [{volume: root}]\ncloudInit:\n  userData: {file: ci/web.yaml.txt}\n  metaData: \"instance-id: x\""),
            to: directory + "/vms.yaml")
        let vm = try #require(try ManifestLoader.load(path: directory).virtualMachines.first?.value)
        #expect(vm.cloudInit?.userData == "#cloud-config\npackages: [nginx]\n")
        #expect(vm.cloudInit?.files(vmName: "web-1").map(\.name) == ["user-data", "meta-data"])
    }

    @Test func fieldErrorsNameTheirLocation() {
        let text = Self.host
            + "apiVersion: vmplan/v1\nkind: StoragePool\nmetadata: {name: bad-pool}\nspec: {host: kvm-01, type: lvm, path: ../escape}\n---\n"
            + Self.volume("v1", "pool: pool-a\ncapacity: 10\nformat: vmdk\nbacking: v2")
            + Self.volume("v2", "pool: pool-a\ncapacity: 1GiB\nfrom: {image: images/rel.img}")
            + Self.vm("web-1", "disks:\n  - {volume: v2, bus: ide, boot: 1}\n  - {volume: v2, boot: 1}\ncloudInit:\n  userData: {file: ../secret}")
        #expect(diagnostics(text) == [
            "m.yaml:14:28: error: type must be one of dir, logical; got 'lvm'",
            "m.yaml:14:39: error: path must be \(StoragePath.rule); got '../escape'",
            "m.yaml:21:13: error: capacity must be a size with a binary unit such as 512MiB or 8GiB; got '10'",
            "m.yaml:22:11: error: format must be one of qcow2, raw; got 'vmdk'",
            "m.yaml:31:17: error: from.image must be \(StoragePath.rule); got 'images/rel.img'",
            "m.yaml:41:25: error: bus must be one of virtio, sata, scsi; got 'ide'",
            "m.yaml:42:26: error: boot order 1 is used by two disks; each disk needs its own",
            "m.yaml:44:22: error: cloudInit.userData.file must be a path relative to the manifest's directory, without '..'; got '../secret'",
        ])
    }

    @Test func aDirPoolMayBeSharedStorageAndALogicalOneMayNot() throws {
        let shared = "apiVersion: vmplan/v1\nkind: StoragePool\nmetadata: {name: nfs}\nspec: {host: kvm-01, type: dir, path: /srv/nfs, shared: true}\n"
        let manifest = try ManifestLoader.load(files: [("m.yaml", Self.host + shared)])
        #expect(manifest.storage.pool(named: "nfs")?.shared == true)
        #expect(manifest.storage.pool(named: "pool-a")?.shared == false)
        // Written only when true: pools recorded before the field keep their JSON and hash.
        #expect(try !String(decoding: CanonicalJSON.encode(StoragePoolSpec(name: "a", host: "h", path: "/srv/a")), as: UTF8.self).contains("shared"))
        #expect(diagnostics(Self.host + "apiVersion: vmplan/v1\nkind: StoragePool\nmetadata: {name: vg}\n"
            + "spec: {host: kvm-01, type: logical, volumeGroup: vg0, shared: true}\n") == [
            "m.yaml:14:55: error: shared does not belong in a type: logical pool; only a dir pool can be on storage several hosts share",
        ])
        #expect(diagnostics(Self.host + shared.replacingOccurrences(of: "shared: true", with: "shared: yes please")) == [
            "m.yaml:14:57: error: shared must be true or false; got 'yes please'",
        ])
    }

    @Test func unknownPoolsAndVolumesGetADidYouMean() {
        let text = Self.host
            + Self.volume("data", "pool: pool-b\ncapacity: 1GiB")
            + Self.volume("overlay", "pool: pool-a\ncapacity: 1GiB\nbacking: dta")
            + Self.vm("web-1", "disks: [{volume: overlya}]")
        #expect(diagnostics(text) == [
            "m.yaml:15:9: error: pool 'pool-b' is not defined by any StoragePool document; known pools: pool-a; did you mean 'pool-a'?",
            "m.yaml:24:12: error: volume 'dta' is not defined by any Volume document; known volumes: data, overlay; did you mean 'data'?",
            "m.yaml:33:20: error: volume 'overlya' is not defined by any Volume document; known volumes: data, overlay; did you mean 'overlay'?",
        ])
    }

    @Test func aVolumeOnTwoVMsMustBeShareable() {
        let text = Self.host + Self.volume("data", "pool: pool-a\ncapacity: 1GiB") + Self.volume("shared", "pool: pool-a\ncapacity: 1GiB\nshareable: true")
            + Self.vm("web-1", "disks: [{volume: data}, {volume: shared}]") + "---\n" + Self.vm("web-2", "disks: [{volume: data}, {volume: shared}]")
        #expect(diagnostics(text) == [
            "m.yaml:11:1: error: volume 'data' is attached to 2 VMs (web-1, web-2); a volume may only be shared when it says shareable: true (and the guests use a cluster file system)",
        ])
    }

    @Test func backingNeedsQcow2AndOneSource() {
        let text = Self.host + Self.volume("base", "pool: pool-a\ncapacity: 1GiB")
            + Self.volume("raw-overlay", "pool: pool-a\ncapacity: 1GiB\nformat: raw\nbacking: base")
            + Self.volume("both", "pool: pool-a\ncapacity: 1GiB\nfrom: {volume: base}\nbacking: base")
        #expect(diagnostics(text) == [
            "m.yaml:25:3: error: backing needs format: qcow2 (an overlay is a qcow2 file); got format raw",
            "m.yaml:34:3: error: a Volume takes either from (a full copy) or backing (a qcow2 overlay), not both",
        ])
    }

    @Test func aSeedNeedsAPoolAndItsNameIsReserved() {
        let text = Self.host + Self.volume("web-1-cidata.iso", "pool: pool-a\ncapacity: 1GiB")
            + Self.vm("web-1", "cloudInit: {userData: hi}")
        #expect(diagnostics(text) == [
            "m.yaml:11:1: error: Volume name 'web-1-cidata.iso' is reserved for a VirtualMachine's cloud-init seed; choose another name",
            "m.yaml:25:3: error: cloudInit needs a pool for its seed volume: add cloudInit.pool, or a disk (the seed goes to the first disk's pool)",
        ])
    }

    @Test("paths that could escape or inject options are refused",
          arguments: ["relative/x", "/a/../b", "/a/./b", "/a//b", "/a/", "/-rf", "/a/b c", "/"])
    func unsafePaths(path: String) {
        #expect(!StoragePath.isValid(path))
    }

    @Test func aVMWithoutDisksKeepsItsSpecHash() throws {
        // The hash recorded before storage existed must not change, or every VM would look new.
        let spec = VirtualMachineSpec(name: "web-1", host: "kvm-01", vcpus: 1, memory: .mebibytes(64))
        let json = String(decoding: try JSONEncoder().encode(spec), as: UTF8.self)
        #expect(!json.contains("disks") && !json.contains("cloudInit"))
    }
}
