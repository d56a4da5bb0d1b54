import Foundation
import Testing
@testable import Spec

/// Pool paths and image files on a host: never in system directories, and inside the Host's
/// storageRoots when it lists them. Checked at load, where the path is written.
@Suite("Host paths of pools and images")
struct HostPathTests {
    static let refusedList = "/bin, /boot, /dev, /etc, /lib, /lib32, /lib64, /libx32, /proc, /root, /run, /sbin, /sys, /usr, /var/run"

    /// A Host (lines 1-4, its spec on line 4), a pool (its path on line 9) and a volume copying `image` (line 15).
    static func manifest(hostSpec: String = "", poolPath: String, image: String = "/srv/images/base.img") -> String {
        """
        apiVersion: vmplan/v1
        kind: Host
        metadata: {name: kvm-01}
        spec: {uri: "qemu:///system", hypervisor: kvm\(hostSpec)}
        ---
        apiVersion: vmplan/v1
        kind: StoragePool
        metadata: {name: pool-a}
        spec: {host: kvm-01, type: dir, path: \(poolPath)}
        ---
        apiVersion: vmplan/v1
        kind: Volume
        metadata: {name: copy}
        spec:
          from: {image: \(image)}
          pool: pool-a
          capacity: 1GiB

        """
    }

    @Test("by default, system directories are refused for pools and images, with the list")
    func systemDirectoriesRefused() {
        #expect(diagnostics(Self.manifest(poolPath: "/etc", image: "/etc/shadow")) == [
            "m.yaml:9:39: error: StoragePool path '/etc' is in the system directory /etc; no pool or image may be under \(Self.refusedList); use a directory such as /var/lib/libvirt/images or /srv/vmplan",
            "m.yaml:15:17: error: from.image '/etc/shadow' is in the system directory /etc; no pool or image may be under \(Self.refusedList); use a directory such as /var/lib/libvirt/images or /srv/vmplan",
        ])
        #expect(diagnostics(Self.manifest(poolPath: "/usr/lib/pool", image: "/boot/vmlinuz")).count == 2)
        #expect(diagnostics(Self.manifest(poolPath: "/var/run/x")).count == 1)
    }

    @Test("paths are normalised before the check: '..' cannot step out of an allowed directory")
    func dotDotRefused() {
        #expect(diagnostics(Self.manifest(poolPath: "/var/lib/libvirt/images/../../../../etc")) == [
            "m.yaml:9:39: error: path must be \(StoragePath.rule); got '/var/lib/libvirt/images/../../../../etc'",
        ])
    }

    @Test("other directories are allowed by default; a name that only starts like a system directory is not in it")
    func defaultsAllow() throws {
        for path in ["/var/lib/vmplan/pool", "/srv/pools/a", "/tmp/vmplan-pool/pool", "/etcetera/pool", "/home/vm/pool"] {
            let manifest = try ManifestLoader.load(files: [("m.yaml", Self.manifest(poolPath: path, image: path + "/../base.img".dropFirst(3)))])
            #expect(manifest.storage.pools.first?.value.path == path)
        }
    }

    @Test("storageRoots limits pools and images to the directories it lists, and says which")
    func storageRootsLimit() throws {
        let roots = ", storageRoots: [/var/lib/libvirt/images, /srv/vmplan]"
        let inside = try ManifestLoader.load(files: [("m.yaml", Self.manifest(hostSpec: roots, poolPath: "/srv/vmplan/a", image: "/var/lib/libvirt/images/base.img"))])
        #expect(inside.hosts.first?.value.storageRoots == ["/var/lib/libvirt/images", "/srv/vmplan"])
        #expect(inside.storage.pools.first?.value.path == "/srv/vmplan/a")
        #expect(diagnostics(Self.manifest(hostSpec: roots, poolPath: "/srv/vmplanx", image: "/home/me/base.img")) == [
            "m.yaml:9:39: error: StoragePool path '/srv/vmplanx' is outside the storageRoots of host 'kvm-01': /var/lib/libvirt/images, /srv/vmplan; move it under one of them or add its directory to the Host's storageRoots",
            "m.yaml:15:17: error: from.image '/home/me/base.img' is outside the storageRoots of host 'kvm-01': /var/lib/libvirt/images, /srv/vmplan; move it under one of them or add its directory to the Host's storageRoots",
        ])
    }

    @Test("storageRoots entries are absolute, normalised, outside system directories and each listed once")
    func storageRootsEntries() {
        #expect(diagnostics(Self.manifest(hostSpec: ", storageRoots: [/etc/pools, srv, /srv, /srv]", poolPath: "/srv/a")) == [
            "m.yaml:4:63: error: storageRoots cannot include /etc/pools: it is in the system directory /etc, where no pool or image may be",
            "m.yaml:4:75: error: an entry of storageRoots must be \(StoragePath.rule); got 'srv'",
            "m.yaml:4:86: error: /srv is listed twice in storageRoots",
        ])
        #expect(diagnostics(Self.manifest(hostSpec: ", storageRoots: []", poolPath: "/srv/a")).first?.contains(
            "storageRoots must name at least one directory such as /var/lib/libvirt/images") == true)
        #expect(diagnostics(Self.manifest(hostSpec: ", storageRoots: /srv", poolPath: "/srv/a")) == [
            "m.yaml:4:62: error: storageRoots must be a list such as [/var/lib/libvirt/images, /srv/vmplan]; got '/srv'",
        ])
    }

    @Test("logical pools live under /dev by nature and keep working with storageRoots")
    func logicalPoolsUnderDev() throws {
        let text = """
            apiVersion: vmplan/v1
            kind: Host
            metadata: {name: kvm-01}
            spec: {uri: "qemu:///system", hypervisor: kvm, storageRoots: [/srv/vmplan]}
            ---
            apiVersion: vmplan/v1
            kind: StoragePool
            metadata: {name: lvm}
            spec: {host: kvm-01, type: logical, volumeGroup: vg0, devices: [/dev/sdb], build: true}

            """
        let manifest = try ManifestLoader.load(files: [("m.yaml", text)])
        #expect(manifest.storage.pools.first?.value.path == "/dev/vg0")
    }
}
