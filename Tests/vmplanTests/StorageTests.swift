import Foundation
import Testing
import TestSupport

/// Pools, volumes, seeds and disks on the real private libvirtd, pools under a temporary
/// directory. Results are read back with qemu-img, qemu-io, isoinfo and virsh, never through vmplan.
@Suite("Storage on a real libvirtd", .serialized, .enabled(if: TestHost.shouldRun(), "needs a libvirt host: run scripts/host-up"))
struct StorageTests {
    static func apply(_ workspace: Workspace) throws -> TestHost.Output {
        try CLI.run("apply", workspace.path, "--auto-approve", "--shutdown-timeout", "1")
    }

    @Test func aPoolAVolumeACopyOfAnImageAndAnOverlay() throws {
        let pool = try TestPool()
        let workspace = try Workspace()
        defer { pool.delete(domains: []); workspace.delete() }
        // A raw base image with a marker, outside any pool.
        let image = pool.directory.appendingPathComponent("base.img").path
        #expect(try TestHost.run("qemu-img", ["create", "-f", "raw", image, "8M"]).status == 0)
        #expect(try TestHost.run("qemu-io", ["-f", "raw", "-c", "write -P 0x42 1M 64k", image]).status == 0)
        try workspace.write("storage.yaml", [
            pool.yaml,
            TestPool.volume("data", pool: pool.name, "capacity: 48MiB, format: qcow2"),
            TestPool.volume("copy", pool: pool.name, "capacity: 16MiB, format: qcow2, from: {image: \(image)}"),
            TestPool.volume("overlay", pool: pool.name, "capacity: 32MiB, backing: copy"),
        ].documents)

        let plan = try CLI.run("plan", workspace.path)
        #expect(plan.stdout.contains("+ pool \(pool.name) (local, dir \(pool.path))"), "\(plan.stdout)\(plan.stderr)")
        #expect(plan.stdout.contains("+ volume data (pool \(pool.name), 48MiB qcow2)"))
        #expect(plan.stdout.contains("Plan: 4 to add, 0 to change, 0 to destroy."))
        let applied = try Self.apply(workspace)
        #expect(applied.status == 0, "\(applied.stdout)\(applied.stderr)")

        #expect(try TestHost.virsh("pool-info", pool.name).stdout.contains("running"))
        let data = try pool.info("data")
        #expect(data["format"] as? String == "qcow2")
        #expect(data["virtual-size"] as? Int == 48 << 20)
        let copy = try pool.info("copy")
        #expect(copy["format"] as? String == "qcow2" && copy["virtual-size"] as? Int == 16 << 20)
        #expect(copy["backing-filename"] == nil, "a copy stands alone")
        let marker = try TestHost.run("qemu-io", ["-f", "qcow2", "-r", "-c", "read -P 0x42 1M 64k", pool.file("copy")])
        #expect(marker.status == 0 && !marker.stdout.contains("verification failed"), "\(marker.stdout)\(marker.stderr)")
        let overlay = try pool.info("overlay")
        #expect(overlay["format"] as? String == "qcow2" && overlay["virtual-size"] as? Int == 32 << 20)
        #expect(overlay["backing-filename"] as? String == pool.file("copy"))
        #expect(overlay["backing-filename-format"] as? String == "qcow2")
        #expect(try CLI.run("plan", workspace.path, "--detailed-exitcode").status == 0)
    }

    @Test func growingKeepsDataAndShrinkingIsRefused() throws {
        let pool = try TestPool()
        let workspace = try Workspace()
        defer { pool.delete(domains: []); workspace.delete() }
        try workspace.write("storage.yaml", [pool.yaml, TestPool.volume("disk", pool: pool.name, "capacity: 16MiB")].documents)
        #expect(try Self.apply(workspace).status == 0)
        #expect(try TestHost.run("qemu-io", ["-f", "qcow2", "-c", "write -P 0x5a 4M 64k", pool.file("disk")]).status == 0)

        try workspace.write("storage.yaml", [pool.yaml, TestPool.volume("disk", pool: pool.name, "capacity: 32MiB")].documents)
        let plan = try CLI.run("plan", workspace.path)
        #expect(plan.stdout.contains("~ volume disk (pool \(pool.name), 32MiB qcow2)"), "\(plan.stdout)\(plan.stderr)")
        #expect(plan.stdout.contains("~ capacity = 16MiB -> 32MiB"))
        #expect(try Self.apply(workspace).status == 0)
        #expect(try pool.info("disk")["virtual-size"] as? Int == 32 << 20)
        let marker = try TestHost.run("qemu-io", ["-f", "qcow2", "-r", "-c", "read -P 0x5a 4M 64k", pool.file("disk")])
        #expect(marker.status == 0 && !marker.stdout.contains("verification failed"), "\(marker.stdout)\(marker.stderr)")

        // The capacity is on line 9: the pool document (4 lines), `---`, then the Volume's spec line.
        try workspace.write("storage.yaml", [pool.yaml, TestPool.volume("disk", pool: pool.name, "capacity: 8MiB")].documents)
        let shrink = try Self.apply(workspace)
        #expect(shrink.status == 1)
        let location = "storage.yaml:9:\(("spec: {pool: \(pool.name), capacity: " as String).count + 1)"
        #expect(shrink.stderr.contains("\(location): error: Volume 'disk': capacity 8MiB is smaller than the volume's current size 32MiB; shrinking a volume loses data and is refused"),
                "\(shrink.stderr)")
        #expect(try pool.info("disk")["virtual-size"] as? Int == 32 << 20, "nothing was touched")
    }

    @Test func theCloudInitSeedIsAnISOLabelledCidataAndIsRebuiltWhenItChanges() throws {
        let pool = try TestPool()
        let workspace = try Workspace()
        let vm = TestHost.uniqueName("seed")
        defer { pool.delete(domains: [vm]); workspace.delete() }
        try workspace.write("user-data.txt", "#cloud-config\nhostname: seeded\n")
        let manifests = { (networkConfig: String) in
            [pool.yaml, TestPool.volume("\(vm)-root", pool: pool.name, "capacity: 16MiB"),
             TestPool.vm(vm, state: "stopped", "  disks: [{volume: \(vm)-root}]\n  cloudInit:\n    userData: {file: user-data.txt}\n    networkConfig: \"\(networkConfig)\"")].documents
        }
        try workspace.write("vms.yaml", manifests("version: 2"))
        let applied = try Self.apply(workspace)
        #expect(applied.status == 0, "\(applied.stdout)\(applied.stderr)")
        let iso = pool.file("\(vm)-cidata.iso")
        #expect(try TestHost.run("isoinfo", ["-d", "-i", iso]).stdout.contains("Volume id: cidata"))
        #expect(try TestHost.run("isoinfo", ["-R", "-x", "/user-data", "-i", iso]).stdout == "#cloud-config\nhostname: seeded\n")
        #expect(try TestHost.run("isoinfo", ["-R", "-x", "/meta-data", "-i", iso]).stdout.contains("instance-id: \(vm)"))
        let xml = try #require(try TestHost.inactiveXML(vm))
        #expect(xml.contains("<source pool='\(pool.name)' volume='\(vm)-cidata.iso'/>") && xml.contains("<readonly/>"))

        try workspace.write("vms.yaml", manifests("version: 2 # changed"))
        let plan = try CLI.run("plan", workspace.path)
        #expect(plan.stdout.contains("~ volume \(vm)-cidata.iso"), "\(plan.stdout)\(plan.stderr)")
        #expect(plan.stdout.contains("the VM reads the new seed when it next boots"))
        #expect(try Self.apply(workspace).status == 0)
        #expect(try TestHost.run("isoinfo", ["-R", "-x", "/network-config", "-i", iso]).stdout == "version: 2 # changed")
        #expect(try CLI.run("plan", workspace.path, "--detailed-exitcode").status == 0)
    }

    @Test func aRunningVMGetsDisksLiveAndLosesThem() throws {
        let pool = try TestPool()
        let workspace = try Workspace()
        let vm = TestHost.uniqueName("hotplug")
        defer { pool.delete(domains: [vm]); workspace.delete() }
        let manifests = { (disks: String) in
            [pool.yaml] + ["root", "extra", "scratch"].map { TestPool.volume("\(vm)-\($0)", pool: pool.name, "capacity: 8MiB") }
                + [TestPool.vm(vm, "  disks: [\(disks)]")]
        }
        try workspace.write("vms.yaml", manifests("{volume: \(vm)-root}").documents)
        #expect(try Self.apply(workspace).status == 0)
        let id = try TestHost.virsh("domid", vm).stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        func liveXML() throws -> String { try TestHost.virsh("dumpxml", vm).stdout }

        // A virtio disk comes live.
        try workspace.write("vms.yaml", manifests("{volume: \(vm)-root}, {volume: \(vm)-extra, bus: virtio}").documents)
        let plan = try CLI.run("plan", workspace.path)
        #expect(plan.stdout.contains("~ \(vm) (live)"), "\(plan.stdout)\(plan.stderr)")
        let attach = try Self.apply(workspace)
        #expect(attach.status == 0 && attach.stdout.contains("attaching disk vdb (\(vm)-extra) live"), "\(attach.stdout)\(attach.stderr)")
        #expect(try liveXML().contains("volume='\(vm)-extra'"))
        #expect(try TestHost.virsh("domid", vm).stdout.trimmingCharacters(in: .whitespacesAndNewlines) == id)

        // A SCSI disk comes and goes live: QEMU removes it without the guest's help. A virtio disk needs
        // the guest to acknowledge the unplug: GuestTests.aVirtioDiskDetachedLiveIsReleasedByTheGuest.
        try workspace.write("vms.yaml", manifests("{volume: \(vm)-root}, {volume: \(vm)-extra}, {volume: \(vm)-scratch, bus: scsi}").documents)
        #expect(try Self.apply(workspace).status == 0)
        #expect(try liveXML().contains("volume='\(vm)-scratch'"))
        try workspace.write("vms.yaml", manifests("{volume: \(vm)-root}, {volume: \(vm)-extra}").documents)
        let detach = try Self.apply(workspace)
        #expect(detach.status == 0 && detach.stdout.contains("detaching disk"), "\(detach.stdout)\(detach.stderr)")
        #expect(!(try liveXML().contains("volume='\(vm)-scratch'")))
        #expect(!(try #require(try TestHost.inactiveXML(vm)).contains("volume='\(vm)-scratch'")))
        #expect(try TestHost.virsh("domid", vm).stdout.trimmingCharacters(in: .whitespacesAndNewlines) == id)
        #expect(try CLI.run("plan", workspace.path, "--detailed-exitcode").status == 0)
    }

    @Test func aVolumeOfARunningVMGrowsLive() throws {
        let pool = try TestPool()
        let workspace = try Workspace()
        let vm = TestHost.uniqueName("blockresize")
        defer { pool.delete(domains: [vm]); workspace.delete() }
        let manifests = { (capacity: String) in
            [pool.yaml, TestPool.volume("\(vm)-data", pool: pool.name, "capacity: \(capacity)"),
             TestPool.vm(vm, "  disks: [{volume: \(vm)-data, bus: virtio}]")].documents
        }
        try workspace.write("vms.yaml", manifests("16MiB"))
        #expect(try Self.apply(workspace).status == 0)
        let id = try TestHost.virsh("domid", vm).stdout.trimmingCharacters(in: .whitespacesAndNewlines)

        try workspace.write("vms.yaml", manifests("48MiB"))
        let grow = try Self.apply(workspace)
        #expect(grow.status == 0, "\(grow.stdout)\(grow.stderr)")
        // The running QEMU sees the new size (virDomainBlockResize), and so does the file.
        let info = try TestHost.virsh("domblkinfo", vm, "vda").stdout
        #expect(info.split(separator: "\n").contains { $0.hasPrefix("Capacity:") && $0.hasSuffix(" \(48 << 20)") }, "\(info)")
        #expect(try pool.info("\(vm)-data")["virtual-size"] as? Int == 48 << 20)
        #expect(try TestHost.virsh("domid", vm).stdout.trimmingCharacters(in: .whitespacesAndNewlines) == id, "no restart")
        #expect(try CLI.run("plan", workspace.path, "--detailed-exitcode").status == 0)
    }

    @Test func volumesOutliveTheirVMUnlessReclaimDeleteAndForeignVolumesAreNeverTouched() throws {
        let pool = try TestPool()
        let workspace = try Workspace()
        let vm = TestHost.uniqueName("reclaim")
        defer { pool.delete(domains: [vm]); workspace.delete() }
        try workspace.write("vms.yaml", [
            pool.yaml,
            TestPool.volume("keep", pool: pool.name, "capacity: 8MiB"),
            TestPool.volume("scratch", pool: pool.name, "capacity: 8MiB, reclaim: delete"),
            TestPool.vm(vm, state: "stopped", "  disks: [{volume: keep}, {volume: scratch}]"),
        ].documents)
        #expect(try Self.apply(workspace).status == 0)
        #expect(try TestHost.virsh("vol-create-as", pool.name, "foreign", "4M", "--format", "raw").status == 0)

        // A manifest cannot take over the foreign volume.
        try workspace.write("claim.yaml", TestPool.volume("foreign", pool: pool.name, "capacity: 8MiB"))
        let claim = try CLI.run("plan", workspace.path)
        #expect(claim.status == 1 && claim.stderr.contains("a volume named 'foreign' already exists in pool '\(pool.name)' on host 'local' and was not created by vmplan"),
                "\(claim.stderr)")
        try workspace.remove("claim.yaml")

        try workspace.write("vms.yaml", pool.yaml)
        let plan = try CLI.run("plan", workspace.path)
        #expect(plan.stdout.contains("- volume scratch (DATA LOSS: reclaim: delete; pool \(pool.name), 8MiB qcow2)"), "\(plan.stdout)\(plan.stderr)")
        #expect(plan.stdout.contains("- volume keep (kept on the host; vmplan forgets it)"))
        #expect(plan.stdout.contains("Plan: 0 to add, 0 to change, 2 to destroy."))
        let applied = try Self.apply(workspace)
        #expect(applied.status == 0, "\(applied.stdout)\(applied.stderr)")
        #expect(try TestHost.domainState(vm) == nil)
        #expect(try pool.volumeNames().sorted() == ["foreign", "keep"])

        // Without the pool document, the pool still holds volumes: it is forgotten, not deleted.
        try workspace.remove("vms.yaml")
        try workspace.write("other.yaml", TestPool.vm(TestHost.uniqueName("unrelated"), state: "stopped", ""))
        let last = try CLI.run("plan", workspace.path)
        #expect(last.stdout.contains("- pool \(pool.name) (kept on the host; vmplan forgets it)"), "\(last.stdout)\(last.stderr)")
        #expect(try pool.volumeNames().sorted() == ["foreign", "keep"])
    }
}
