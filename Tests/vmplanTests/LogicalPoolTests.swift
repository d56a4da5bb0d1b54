import Foundation
import Testing
import TestSupport

/// A volume group on a loop device over a sparse temporary file, torn down (pool, VG, PV, loop
/// device, file) by `delete()` whatever happened.
struct TestVolumeGroup {
    let name = TestHost.uniqueName("lvm")
    let volumeGroup = "vmplantest" + UUID().uuidString.prefix(8).lowercased()
    let file = FileManager.default.temporaryDirectory.appendingPathComponent("vmplan-lvm-\(UUID().uuidString).img").path
    let device: String

    /// lvm2 warns about every inherited file descriptor otherwise.
    static let lvmEnvironment = ["LVM_SUPPRESS_FD_WARNINGS": "1"]

    /// Why the LVM tests cannot run here, or nil.
    static var missing: String? {
        for tool in ["losetup", "vgs", "lvs", "pvs", "vgremove", "pvremove"] where !TestHost.commandExists(tool) {
            return "needs \(tool) (apt lvm2, mount): run scripts/host-up"
        }
        guard FileManager.default.fileExists(atPath: "/dev/loop-control") else { return "needs loop devices (/dev/loop-control)" }
        return nil
    }

    /// Logical volumes need the kernel's device-mapper; a volume group does not.
    static var hasDeviceMapper: Bool {
        ((try? String(contentsOfFile: "/proc/misc", encoding: .utf8)) ?? "").contains("device-mapper")
    }

    static func shouldRun() -> Bool {
        guard TestHost.shouldRun() else { return false }
        if let missing {
            print("SKIP: logical pools: \(missing)")
            return false
        }
        return true
    }

    init(size: String = "256M") throws {
        guard try TestHost.run("truncate", ["-s", size, file]).status == 0 else { throw CocoaError(.fileWriteUnknown) }
        let attached = try TestHost.run("losetup", ["-f", "--show", file])
        guard attached.status == 0 else {
            try? FileManager.default.removeItem(atPath: file)
            throw CocoaError(.fileWriteUnknown, userInfo: [NSLocalizedDescriptionKey: "losetup: \(attached.stderr)"])
        }
        device = attached.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
    }

    var yaml: String { yaml(build: true) }

    func yaml(build: Bool) -> String {
        "apiVersion: vmplan/v1\nkind: StoragePool\nmetadata: {name: \(name)}\n"
            + "spec: {host: local, type: logical, volumeGroup: \(volumeGroup), devices: [\(device)], build: \(build)}\n"
    }

    /// `lvm COMMAND --noheadings --units b --nosuffix -o FIELDS ARGS`, one row per line, fields split on blanks.
    func report(_ command: String, _ fields: String, _ arguments: [String] = []) throws -> [[String]] {
        let output = try TestHost.run(command, ["--noheadings", "--units", "b", "--nosuffix", "-o", fields] + arguments,
                                      environment: Self.lvmEnvironment)
        return output.stdout.split(separator: "\n").map { $0.split(separator: " ").map(String.init) }.filter { !$0.isEmpty }
    }

    func delete() {
        _ = try? TestHost.virsh("pool-destroy", name)
        _ = try? TestHost.virsh("pool-undefine", name)
        _ = try? TestHost.run("vgremove", ["-f", volumeGroup], environment: Self.lvmEnvironment)
        _ = try? TestHost.run("pvremove", ["-ff", "-y", device], environment: Self.lvmEnvironment)
        _ = try? TestHost.run("losetup", ["-d", device])
        try? FileManager.default.removeItem(atPath: file)
    }
}

/// Logical (LVM) pools on the real libvirtd, on a loop device. Results are read back with
/// vgs, pvs, lvs and virsh, never through vmplan.
@Suite("Logical pools on a real libvirtd", .serialized,
       .enabled(if: TestVolumeGroup.shouldRun(), "needs a libvirt host, lvm2 and loop devices: run scripts/host-up"))
struct LogicalPoolTests {
    static func apply(_ workspace: Workspace) throws -> TestHost.Output {
        try CLI.run("apply", workspace.path, "--auto-approve")
    }

    @Test func aVolumeGroupIsBuiltOnALoopDeviceAndOutlivesThePool() throws {
        let group = try TestVolumeGroup()
        let workspace = try Workspace()
        defer { group.delete(); workspace.delete() }
        try workspace.write("storage.yaml", group.yaml)

        let plan = try CLI.run("plan", workspace.path)
        #expect(plan.stdout.contains("+ pool \(group.name) (DATA LOSS: build: true erases its devices; local, logical \(group.volumeGroup) on \(group.device))"),
                "\(plan.stdout)\(plan.stderr)")
        #expect(plan.stdout.contains("# build: true makes the volume group \(group.volumeGroup) on \(group.device): whatever they hold is lost"))
        let applied = try Self.apply(workspace)
        #expect(applied.status == 0, "\(applied.stdout)\(applied.stderr)")

        // The group exists, on the loop device, with the file's size less LVM's metadata.
        let groups = try group.report("vgs", "vg_name,pv_count,vg_size", [group.volumeGroup])
        #expect(groups.count == 1 && groups.first?[1] == "1", "\(groups)")
        let size = UInt64(groups.first?[2] ?? "") ?? 0
        #expect(size > 240 << 20 && size <= 256 << 20, "vg_size \(size)")
        #expect(try group.report("pvs", "pv_name,vg_name", [group.device]).first == [group.device, group.volumeGroup])
        let info = try TestHost.virsh("pool-info", group.name).stdout
        #expect(info.contains("running") && info.range(of: #"Autostart:\s+yes"#, options: .regularExpression) != nil, "\(info)")
        #expect(try TestHost.virsh("pool-dumpxml", group.name).stdout.contains("<path>/dev/\(group.volumeGroup)</path>"))
        #expect(try CLI.run("plan", workspace.path, "--detailed-exitcode").status == 0, "built once; the next plan has nothing to do")

        // Without the pool document, the empty pool is undefined; the group and its device stay.
        try workspace.remove("storage.yaml")
        let removal = try CLI.run("plan", workspace.path)
        #expect(removal.stdout.contains("- pool \(group.name)") && removal.stdout.contains("The volume group \(group.volumeGroup) and its devices stay on the host"),
                "\(removal.stdout)\(removal.stderr)")
        let removed = try Self.apply(workspace)
        #expect(removed.status == 0, "\(removed.stdout)\(removed.stderr)")
        #expect(try TestHost.virsh("pool-info", group.name).status != 0, "the pool is undefined")
        #expect(try group.report("vgs", "vg_name", [group.volumeGroup]).first == [group.volumeGroup], "vmplan never removes a volume group")
    }

    @Test func anExistingVolumeGroupIsUsedAndPlansCheckItsFreeSpaceAndFormats() throws {
        let group = try TestVolumeGroup()
        let workspace = try Workspace()
        defer { group.delete(); workspace.delete() }
        let made = try TestHost.run("vgcreate", [group.volumeGroup, group.device], environment: TestVolumeGroup.lvmEnvironment)
        #expect(made.status == 0, "\(made.stderr)")
        try workspace.write("storage.yaml", group.yaml(build: false))
        let plan = try CLI.run("plan", workspace.path)
        #expect(plan.stdout.contains("+ pool \(group.name) (local, logical \(group.volumeGroup) on \(group.device))"), "\(plan.stdout)\(plan.stderr)")
        #expect(!plan.stdout.contains("DATA LOSS"))
        #expect(try Self.apply(workspace).status == 0)
        #expect(try TestHost.virsh("pool-info", group.name).stdout.contains("running"))

        // Free space comes from libvirt's pool info (the group's VFree): 512MiB cannot fit.
        try workspace.write("storage.yaml", [group.yaml(build: false),
                                             TestPool.volume("big", pool: group.name, "capacity: 512MiB")].documents)
        let tooBig = try CLI.run("plan", workspace.path)
        #expect(tooBig.status == 1 && tooBig.stderr.contains("volumes planned in pool '\(group.name)' on host 'local' need 512MiB more, but the pool has only"),
                "\(tooBig.stdout)\(tooBig.stderr)")
        #expect(tooBig.stderr.contains("free space in /dev/\(group.volumeGroup)"))

        // qcow2 is refused where it is written: line 9, the Volume's spec after the pool's 4 lines and `---`.
        try workspace.write("storage.yaml", [group.yaml(build: false),
                                             TestPool.volume("q", pool: group.name, "capacity: 16MiB, format: qcow2")].documents)
        let qcow2 = try CLI.run("plan", workspace.path)
        #expect(qcow2.status == 1 && qcow2.stderr.contains("storage.yaml:9:"), "\(qcow2.stderr)")
        #expect(qcow2.stderr.contains("whose volumes are raw block devices; format: qcow2 needs a dir pool"))

        // A raw volume plans as one; whether it can be made depends on the kernel.
        try workspace.write("storage.yaml", [group.yaml(build: false),
                                             TestPool.volume("data", pool: group.name, "capacity: 16MiB, reclaim: delete")].documents)
        let raw = try CLI.run("plan", workspace.path)
        #expect(raw.stdout.contains("+ volume data (pool \(group.name), 16MiB raw)"), "\(raw.stdout)\(raw.stderr)")
        guard TestVolumeGroup.hasDeviceMapper else {
            print("SKIP: logical volumes: this kernel has no device-mapper (no 'device-mapper' in /proc/misc), so lvcreate cannot activate one")
            return
        }
        try logicalVolumeLifecycle(group, workspace)
    }

    @Test func buildRefusesADeviceThatAlreadyHoldsAVolumeGroup() throws {
        let group = try TestVolumeGroup()
        let workspace = try Workspace()
        let other = "vmplantest" + UUID().uuidString.prefix(8).lowercased()
        defer { _ = try? TestHost.run("vgremove", ["-f", other], environment: TestVolumeGroup.lvmEnvironment); group.delete(); workspace.delete() }
        #expect(try TestHost.run("vgcreate", [other, group.device], environment: TestVolumeGroup.lvmEnvironment).status == 0)
        try workspace.write("storage.yaml", group.yaml)
        let applied = try Self.apply(workspace)
        #expect(applied.status == 1 && applied.stderr.contains("already formatted using 'LVM2_member'"), "\(applied.stdout)\(applied.stderr)")
        #expect(try TestHost.virsh("pool-info", group.name).status != 0, "the half-made pool was undefined again")
        #expect(try group.report("pvs", "pv_name,vg_name", [group.device]).first == [group.device, other], "the device still holds its group")
    }

    /// Runs only where the kernel has device-mapper.
    private func logicalVolumeLifecycle(_ group: TestVolumeGroup, _ workspace: Workspace) throws {
        let applied = try Self.apply(workspace)
        #expect(applied.status == 0, "\(applied.stdout)\(applied.stderr)")
        #expect(try group.report("lvs", "lv_name,lv_size", [group.volumeGroup]) == [["data", String(16 << 20)]])
        #expect(try CLI.run("plan", workspace.path, "--detailed-exitcode").status == 0)

        for (capacity, refusal) in [("32MiB", "growing a volume in the logical (LVM) pool"), ("8MiB", "shrinking a volume loses data and is refused")] {
            try workspace.write("storage.yaml", [group.yaml(build: false),
                                                 TestPool.volume("data", pool: group.name, "capacity: \(capacity), reclaim: delete")].documents)
            let refused = try CLI.run("plan", workspace.path)
            #expect(refused.status == 1 && refused.stderr.contains(refusal), "\(refused.stderr)")
        }
        #expect(try group.report("lvs", "lv_name,lv_size", [group.volumeGroup]) == [["data", String(16 << 20)]], "nothing was touched")

        try workspace.write("storage.yaml", group.yaml(build: false))
        let plan = try CLI.run("plan", workspace.path)
        #expect(plan.stdout.contains("- volume data (DATA LOSS: reclaim: delete; pool \(group.name), 16MiB raw)"), "\(plan.stdout)\(plan.stderr)")
        #expect(try Self.apply(workspace).status == 0)
        #expect(try group.report("lvs", "lv_name", [group.volumeGroup]).isEmpty, "the logical volume is gone")
    }
}
