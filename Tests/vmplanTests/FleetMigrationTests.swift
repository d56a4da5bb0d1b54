import Foundation
import Testing
import TestSupport

/// Moving VMs between two hosts of scripts/hosts-up: with their volumes (copied live, or streamed
/// when shut off), and the moves that must be replaces (lifecycle forbids it, a passthrough GPU).
/// In FleetTests' serialized suite, so that no test here runs while another stops a host.
extension FleetTests {
    /// A directory pool of one name on every extra host, each under that host's own /var/lib/libvirt.
    struct HostPool {
        let name = TestHost.uniqueName("mpool")
        var path: String { "/var/lib/libvirt/images/\(name)" }

        /// A volume's file as the test sees it, outside host `index`'s mount namespace.
        func file(_ volume: String, on index: Int) -> String { "\(TestHosts.directory)/host\(index)/lib/images/\(name)/\(volume)" }

        func yaml(host: String) -> String {
            "apiVersion: vmplan/v1\nkind: StoragePool\nmetadata: {name: \(name)}\nspec: {host: \(host), type: dir, path: \(path)}\n"
        }

        func remove(volumes: [String], from hosts: [Int]) {
            for index in hosts {
                for volume in volumes { _ = try? TestHosts.virsh(index, "vol-delete", volume, "--pool", name) }
                _ = try? TestHosts.virsh(index, "pool-destroy", name)
                _ = try? TestHosts.virsh(index, "pool-delete", name)
                _ = try? TestHosts.virsh(index, "pool-undefine", name)
            }
        }
    }

    /// `qemu-io` on a volume file: a pattern written, or checked (-U: a running VM may hold it).
    static func qemuIO(_ file: String, format: String, _ command: String, write: Bool = false) throws -> TestHost.Output {
        try TestHost.run("qemu-io", (write ? [] : ["-U", "-r"]) + ["-f", format, "-c", command, file])
    }

    @Test func aRunningVMAndAStoppedOneMoveWithTheirVolumesCopied() throws {
        let running = TestHost.uniqueName("mrun"), stopped = TestHost.uniqueName("mstop")
        let runVolume = running + "-data", stopVolume = stopped + "-data"
        let pool = HostPool()
        let workspace = try Self.workspace()
        defer {
            Self.remove([[running, stopped], [running, stopped]])
            pool.remove(volumes: [runVolume, stopVolume], from: [1, 2])
            workspace.delete()
        }
        let write = { (host: String, state: String) in
            try workspace.write("vms.yaml", [
                pool.yaml(host: host),
                TestPool.volume(runVolume, pool: pool.name, "capacity: 16MiB, format: qcow2, reclaim: delete"),
                TestPool.volume(stopVolume, pool: pool.name, "capacity: 8MiB, format: qcow2"),
                Workspace.vm(running, state: state, host: host) + "\n  disks: [{volume: \(runVolume)}]\n",
                Workspace.vm(stopped, state: "stopped", host: host) + "\n  disks: [{volume: \(stopVolume)}]\n",
            ].documents)
        }
        // Made shut off, so that a marker can be written into each volume before the VM runs.
        try write("host1", "stopped")
        let setUp = try CLI.run("apply", workspace.path, "--auto-approve")
        try #require(setUp.status == 0, "\(setUp.stdout)\n\(setUp.stderr)")
        #expect(try Self.qemuIO(pool.file(runVolume, on: 1), format: "qcow2", "write -P 0x5a 0 4k", write: true).status == 0)
        #expect(try Self.qemuIO(pool.file(stopVolume, on: 1), format: "qcow2", "write -P 0x6b 64k 4k", write: true).status == 0)
        try write("host1", "running")
        let start = try CLI.run("apply", workspace.path, "--auto-approve")
        try #require(start.status == 0, "\(start.stdout)\n\(start.stderr)")
        let uuid = try TestHosts.virsh(1, "domuuid", running).stdout.trimmingCharacters(in: .whitespacesAndNewlines)

        try write("host2", "running")
        let plan = try CLI.run("plan", workspace.path)
        #expect(plan.status == 0, "\(plan.stdout)\n\(plan.stderr)")
        #expect(plan.stdout.contains("  + pool \(pool.name) (host2, dir \(pool.path))"), "\(plan.stdout)")
        #expect(plan.stdout.contains("  ~> volume \(runVolume) (migrate: host1 -> host2; pool \(pool.name), 16MiB qcow2)"), "\(plan.stdout)")
        #expect(plan.stdout.contains("created empty here, its data copied in by \(running)'s migration"))
        #expect(plan.stdout.contains("  ~> \(running) (migrate: host1 -> host2)"))
        #expect(plan.stdout.contains("its volumes (\(runVolume)) are copied while it runs (copy-storage-all)"))
        #expect(plan.stdout.contains("its volumes (\(stopVolume)) are copied first (streamed from host1 to host2)"))
        // What stays on host1, as each volume's reclaim says, and never DATA LOSS for a copied volume.
        #expect(plan.stdout.contains("  - volume \(runVolume) (left on host1: pool \(pool.name), 16MiB qcow2)"), "\(plan.stdout)")
        #expect(plan.stdout.contains("  - volume \(stopVolume) (kept on host1; vmplan forgets it there)"))
        #expect(plan.stdout.contains("  - pool \(pool.name) (kept on host1; vmplan forgets it there)"))
        #expect(!plan.stdout.contains("DATA LOSS"))
        #expect(plan.stdout.contains("Plan: 1 to add, 4 to change, 1 to destroy."), "\(plan.stdout)")

        let apply = try CLI.run("apply", workspace.path, "--auto-approve")
        #expect(apply.status == 0, "\(apply.stdout)\n\(apply.stderr)")
        #expect(apply.stdout.contains("\(running): migrating live from host1 to host2 with its volumes (\(runVolume))"), "\(apply.stdout)")
        #expect(apply.stdout.contains("\(stopped): copying volume \(stopVolume) from host1 to host2"))
        #expect(try TestHosts.virsh(2, "domstate", running).stdout.contains("running"))
        #expect(try TestHosts.virsh(2, "domuuid", running).stdout.trimmingCharacters(in: .whitespacesAndNewlines) == uuid)
        #expect(try TestHosts.virsh(2, "domstate", stopped).stdout.contains("shut off"))
        #expect(try Self.defined(on: 1).isDisjoint(with: [running, stopped]))
        // The data written on host1 is on host2.
        let copied = try Self.qemuIO(pool.file(runVolume, on: 2), format: "qcow2", "read -P 0x5a 0 4k")
        #expect(copied.status == 0 && !copied.stdout.contains("Pattern verification failed"), "\(copied.stdout)\(copied.stderr)")
        let streamed = try Self.qemuIO(pool.file(stopVolume, on: 2), format: "qcow2", "read -P 0x6b 64k 4k")
        #expect(streamed.status == 0 && !streamed.stdout.contains("Pattern verification failed"), "\(streamed.stdout)\(streamed.stderr)")
        // host1: the reclaim: delete copy is gone, the retained one is still there.
        #expect(!FileManager.default.fileExists(atPath: pool.file(runVolume, on: 1)))
        #expect(FileManager.default.fileExists(atPath: pool.file(stopVolume, on: 1)))

        let list = try CLI.run("state", "list", workspace.path)
        for name in [running, stopped, runVolume, stopVolume, pool.name] {
            let line = list.stdout.split(separator: "\n").first { $0.contains(" \(name) ") }.map(String.init) ?? ""
            #expect(line.contains("host2") && !line.contains("host1"), "\(name): \(list.stdout)")
        }
        let noop = try CLI.run("plan", workspace.path, "--detailed-exitcode")
        #expect(noop.status == 0, "\(noop.stdout)\n\(noop.stderr)")

        try workspace.remove("vms.yaml")
        let delete = try CLI.run("apply", workspace.path, "--auto-approve", "--shutdown-timeout", "1")
        #expect(delete.status == 0, "\(delete.stdout)\n\(delete.stderr)")
    }

    /// Shut-off VMs, defined only: one whose lifecycle forbids migration, one with a passthrough GPU
    /// (an address no bus here has: the extra hosts have no GPU, so their Host only warns).
    @Test func aVMWhoseLifecycleForbidsMigrationAndAGPUVMAreReplaced() throws {
        let pinned = TestHost.uniqueName("pinned"), gpu = TestHost.uniqueName("gpumove")
        let workspace = try Self.workspace()
        defer {
            Self.remove([[pinned, gpu], [pinned, gpu]])
            workspace.delete()
        }
        let hosts = try String(contentsOfFile: workspace.path + "/host.yaml", encoding: .utf8)
        try workspace.write("host.yaml", hosts.replacingOccurrences(of: "hypervisor: kvm}", with: "hypervisor: kvm, deviceChecks: warn}"))
        let write = { (host: String) in
            try workspace.write("vms.yaml", Workspace.vm(pinned, state: "stopped", host: host, lifecycle: "{migrate: never}")
                + "\n---\n" + Workspace.vm(gpu, state: "stopped", host: host) + "\n  gpus: [{pci: \"0000:ff:1f.7\"}]\n")
        }
        try write("host1")
        let setUp = try CLI.run("apply", workspace.path, "--auto-approve")
        try #require(setUp.status == 0, "\(setUp.stdout)\n\(setUp.stderr)")
        let uuids = try [pinned, gpu].map { try TestHosts.virsh(1, "domuuid", $0).stdout.trimmingCharacters(in: .whitespacesAndNewlines) }
        #expect(try TestHosts.virsh(1, "dumpxml", gpu).stdout.contains("bus='0xff' slot='0x1f' function='0x7'"))

        try write("host2")
        let plan = try CLI.run("plan", workspace.path)
        #expect(plan.status == 0, "\(plan.stdout)\n\(plan.stderr)")
        #expect(plan.stdout.contains("  -/+ \(pinned) (replace: host changed)"), "\(plan.stdout)")
        #expect(plan.stdout.contains("host changed from host1 to host2; not migrated: lifecycle forbids migration (lifecycle.migrate: never)"))
        #expect(plan.stdout.contains("  -/+ \(gpu) (replace: host changed)"))
        #expect(plan.stdout.contains("host changed from host1 to host2; not migrated: it has a passthrough GPU or a vGPU, which is bound to its host"))
        #expect(!plan.stdout.contains("~>"))

        let apply = try CLI.run("apply", workspace.path, "--auto-approve")
        #expect(apply.status == 0, "\(apply.stdout)\n\(apply.stderr)")
        #expect(try Self.defined(on: 1).isDisjoint(with: [pinned, gpu]))
        // Replaced: made anew on host2, with new UUIDs.
        for (name, uuid) in zip([pinned, gpu], uuids) {
            let now = try TestHosts.virsh(2, "domuuid", name).stdout.trimmingCharacters(in: .whitespacesAndNewlines)
            #expect(!now.isEmpty && now != uuid, "\(name): \(now)")
        }
        let noop = try CLI.run("plan", workspace.path, "--detailed-exitcode")
        #expect(noop.status == 0, "\(noop.stdout)\n\(noop.stderr)")

        try workspace.remove("vms.yaml")
        let delete = try CLI.run("apply", workspace.path, "--auto-approve")
        #expect(delete.status == 0, "\(delete.stdout)\n\(delete.stderr)")
    }

    /// A pool under /tmp, which the extra hosts do not bind-mount: both see the same directory, as
    /// NFS would make them. A shut-off VM moves with nothing copied. libvirt itself checks the file
    /// system before a live migration without copies, and refuses a local one (this /tmp): the
    /// running VM stays where it is, and so do its volume and records. (A live migration on real
    /// shared storage cannot be made here: the machine has no NFS or cluster file system.)
    @Test func aVolumeInSharedStorageMovesWithoutACopy() throws {
        let stopped = TestHost.uniqueName("sstop"), running = TestHost.uniqueName("srun")
        let stopVolume = stopped + "-data", runVolume = running + "-data"
        let pool = try TestPool()
        let workspace = try Self.workspace()
        defer {
            Self.remove([[stopped, running], [stopped, running]])
            for index in [1, 2] {
                _ = try? TestHosts.virsh(index, "pool-destroy", pool.name)
                _ = try? TestHosts.virsh(index, "pool-undefine", pool.name)
            }
            try? FileManager.default.removeItem(at: pool.directory)
            workspace.delete()
        }
        let write = { (host: String) in
            try workspace.write("vms.yaml", [
                "apiVersion: vmplan/v1\nkind: StoragePool\nmetadata: {name: \(pool.name)}\nspec: {host: \(host), type: dir, path: \(pool.path), shared: true}\n",
                TestPool.volume(stopVolume, pool: pool.name, "capacity: 8MiB, format: qcow2, reclaim: delete"),
                TestPool.volume(runVolume, pool: pool.name, "capacity: 8MiB, format: qcow2, reclaim: delete"),
                Workspace.vm(stopped, state: "stopped", host: host) + "\n  disks: [{volume: \(stopVolume)}]\n",
                Workspace.vm(running, host: host) + "\n  disks: [{volume: \(runVolume)}]\n",
            ].documents)
        }
        try write("host1")
        let setUp = try CLI.run("apply", workspace.path, "--auto-approve")
        try #require(setUp.status == 0, "\(setUp.stdout)\n\(setUp.stderr)")
        #expect(try Self.qemuIO(pool.file(stopVolume), format: "qcow2", "write -P 0x5a 0 4k", write: true).status == 0)
        let inode = { (path: String) in (try? FileManager.default.attributesOfItem(atPath: path)[.systemFileNumber]) as? Int }
        let fileBefore = inode(pool.file(stopVolume))

        try write("host2")
        let plan = try CLI.run("plan", workspace.path)
        #expect(plan.stdout.contains("  ~> volume \(stopVolume) (migrate: host1 -> host2; pool \(pool.name), 8MiB qcow2)"), "\(plan.stdout)")
        #expect(plan.stdout.contains("moves from host1 to host2 in shared storage: the same file, nothing is copied"))
        #expect(plan.stdout.contains("its volumes in shared storage (\(stopVolume)) are not copied"))
        #expect(plan.stdout.contains("  - volume \(stopVolume) (kept on host1; vmplan forgets it there)"), "reclaim: delete never deletes shared storage")
        #expect(!plan.stdout.contains("DATA LOSS") && plan.stdout.contains("0 to destroy."), "\(plan.stdout)")

        let apply = try CLI.run("apply", workspace.path, "--auto-approve")
        #expect(apply.status == 1, "\(apply.stdout)\n\(apply.stderr)")
        #expect(apply.stderr.contains("error: \(running) (host2): cannot migrate domain \(running)"), "\(apply.stderr)")
        #expect(apply.stderr.contains("Migration without shared storage is unsafe"), "\(apply.stderr)")
        // The shut-off VM moved, and its volume is the same file with the same data.
        #expect(try TestHosts.virsh(2, "domstate", stopped).stdout.contains("shut off"))
        #expect(try Self.defined(on: 1).isDisjoint(with: [stopped]))
        #expect(inode(pool.file(stopVolume)) == fileBefore && fileBefore != nil)
        let data = try Self.qemuIO(pool.file(stopVolume), format: "qcow2", "read -P 0x5a 0 4k")
        #expect(data.status == 0 && !data.stdout.contains("Pattern verification failed"), "\(data.stdout)")
        // The running VM stayed, with its volume and its records.
        #expect(try TestHosts.virsh(1, "domstate", running).stdout.contains("running"))
        #expect(FileManager.default.fileExists(atPath: pool.file(runVolume)))
        let list = try CLI.run("state", "list", workspace.path).stdout
        let host = { (name: String) in list.split(separator: "\n").first { $0.contains(" \(name) ") }.map(String.init) ?? "" }
        #expect(host(stopped).contains("host2") && host(stopVolume).contains("host2"), "\(list)")
        #expect(host(running).contains("host1") && host(runVolume).contains("host1") && host(pool.name).contains("host1"), "\(list)")

        try workspace.remove("vms.yaml")
        let delete = try CLI.run("apply", workspace.path, "--auto-approve", "--shutdown-timeout", "1")
        #expect(delete.status == 0, "\(delete.stdout)\n\(delete.stderr)")
    }
}
