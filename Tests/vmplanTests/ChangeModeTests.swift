import Foundation
import Testing
import TestSupport

/// Issue-level behaviour of updates on a real libvirtd: live, restart, next-boot, protect, ignore.
@Suite("Change modes on a real libvirtd", .enabled(if: TestHost.shouldRun(), "needs a libvirt host: run scripts/host-up"))
struct ChangeModeTests {
    static func domainID(_ name: String) throws -> String {
        try TestHost.virsh("domid", name).stdout.trimmingCharacters(in: .whitespacesAndNewlines)
    }

    static func qemuPID(_ name: String) -> String? {
        (try? String(contentsOfFile: "/run/libvirt/qemu/\(name).pid", encoding: .utf8))?
            .trimmingCharacters(in: .whitespacesAndNewlines)
    }

    static func apply(_ workspace: Workspace, _ extra: String...) throws -> TestHost.Output {
        try TestHost.run(CLI.binary, ["apply", workspace.path, "--auto-approve", "--shutdown-timeout", "1"] + extra)
    }

    @Test func growingWithinTheMaximaIsLiveAndKeepsTheProcess() throws {
        let name = TestHost.uniqueName("grow")
        let workspace = try Workspace()
        defer { TestHost.removeDomains([name]); workspace.delete() }
        try workspace.write("vm.yaml", Workspace.vm(name, vcpus: 1, maxVcpus: 2, memory: "64MiB", maxMemory: "128MiB"))
        #expect(try Self.apply(workspace).status == 0)
        let id = try Self.domainID(name)
        let pid = try #require(Self.qemuPID(name))

        try workspace.write("vm.yaml", Workspace.vm(name, vcpus: 2, maxVcpus: 2, memory: "96MiB", maxMemory: "128MiB"))
        let plan = try CLI.run("plan", workspace.path)
        #expect(plan.stdout.contains("~ \(name) (live)"), "\(plan.stdout)")
        let apply = try Self.apply(workspace)
        #expect(apply.status == 0, "\(apply.stdout)\(apply.stderr)")

        #expect(try Self.domainID(name) == id)
        #expect(Self.qemuPID(name) == pid, "the QEMU process must survive a live change")
        #expect(try TestHost.virsh("vcpucount", name, "--live", "--current").stdout.trimmingCharacters(in: .whitespacesAndNewlines) == "2")
        #expect(try TestHost.virsh("vcpucount", name, "--config", "--current").stdout.trimmingCharacters(in: .whitespacesAndNewlines) == "2")
        #expect(TestHost.element("currentMemory", in: try #require(try TestHost.inactiveXML(name))) == "98304")
        // This VM has no OS, so no balloon driver: its live memory does not move, and that is not drift.
        // GuestTests.liveMemoryGrowthReachesTheGuest checks a guest that has one.
        let again = try CLI.run("plan", workspace.path, "--detailed-exitcode")
        #expect(again.status == 0, "\(again.stdout)")
    }

    /// A guest without an OS never acknowledges a vCPU unplug: the live decrease cannot be made.
    @Test func aVCPUDecreaseTheGuestDoesNotTakeStaysPendingAndStoppingComesFirst() throws {
        let name = TestHost.uniqueName("unplug")
        let workspace = try Workspace()
        defer { TestHost.removeDomains([name]); workspace.delete() }
        try workspace.write("vm.yaml", Workspace.vm(name, vcpus: 2, maxVcpus: 2, lifecycle: "{restart: never}"))
        #expect(try Self.apply(workspace).status == 0)

        try workspace.write("vm.yaml", Workspace.vm(name, vcpus: 1, maxVcpus: 2, lifecycle: "{restart: never}"))
        _ = try Self.apply(workspace)
        let live = try TestHost.virsh("vcpucount", name, "--live", "--current").stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        let plan = try CLI.run("plan", workspace.path, "--detailed-exitcode")
        if live == "2" {
            // Whatever the apply said, the next plan must not call this in sync.
            #expect(!plan.stdout.contains("No changes. The hosts match the manifests.") || plan.stdout.contains("Waiting for the next boot"),
                    "\(plan.stdout)")
            #expect(plan.stdout.contains("    \(name): vcpus"), "the vCPU the guest kept is shown as waiting: \(plan.stdout)")
        } else {
            #expect(live == "1")
            #expect(plan.status == 0, "the guest took the change: \(plan.stdout)")
        }

        // Down to one vCPU and stopped in one apply: the VM stops first, so nothing needs the guest.
        try workspace.write("vm.yaml", Workspace.vm(name, vcpus: 1, maxVcpus: 2, state: "stopped", lifecycle: "{restart: never}"))
        try TestHost.virsh("setvcpus", name, "2", "--config")  // the config as before the first decrease
        let stop = try Self.apply(workspace)
        #expect(stop.status == 0, "\(stop.stdout)\(stop.stderr)")
        #expect(try TestHost.domainState(name) == "shut off")
        #expect(try TestHost.virsh("vcpucount", name, "--config", "--current").stdout.trimmingCharacters(in: .whitespacesAndNewlines) == "1")
    }

    @Test func devicesAddedByHandSurviveAnUpdate() throws {
        let name = TestHost.uniqueName("handmade")
        let workspace = try Workspace()
        defer { TestHost.removeDomains([name]); workspace.delete() }
        try workspace.write("vm.yaml", Workspace.vm(name, memory: "64MiB", maxMemory: "128MiB", state: "stopped"))
        #expect(try Self.apply(workspace).status == 0)
        let devices = workspace.directory.appendingPathComponent("devices.xml")
        for device in ["<rng model='virtio'><backend model='random'>/dev/urandom</backend></rng>",
                       "<watchdog model='i6300esb' action='reset'/>"] {
            try device.write(to: devices, atomically: true, encoding: .utf8)
            let attached = try TestHost.virsh("attach-device", name, devices.path, "--config")
            #expect(attached.status == 0, "\(attached.stderr)")
        }

        try workspace.write("vm.yaml", Workspace.vm(name, memory: "96MiB", maxMemory: "128MiB", state: "stopped"))
        let plan = try CLI.run("plan", workspace.path)
        #expect(plan.stdout.contains("      ~ memory = 64MiB -> 96MiB"), "\(plan.stdout)")
        #expect(try Self.apply(workspace).status == 0)
        let xml = try #require(try TestHost.inactiveXML(name))
        #expect(TestHost.element("currentMemory", in: xml) == "98304")
        #expect(xml.contains("<rng model='virtio'>") && xml.contains("/dev/urandom"), "the rng was kept: \(xml)")
        #expect(xml.contains("<watchdog model='i6300esb' action='reset'"), "the watchdog was kept: \(xml)")
        #expect(try CLI.run("plan", workspace.path, "--detailed-exitcode").status == 0, "kept devices are no change")
    }

    @Test func theCPUModeAndTopologyAreWrittenReadBackAndARestartChange() throws {
        let name = TestHost.uniqueName("cpu")
        let workspace = try Workspace()
        defer { TestHost.removeDomains([name]); workspace.delete() }
        // Stopped: TCG cannot run host-passthrough, and the definition is what is checked.
        func write(_ cpu: String) throws {
            try workspace.write("vm.yaml", Workspace.vm(name, vcpus: 2, state: "stopped") + "\n  cpu: \(cpu)")
        }
        try write("{mode: host-passthrough, topology: {sockets: 1, cores: 2, threads: 1}}")
        #expect(try Self.apply(workspace).status == 0)
        let xml = try #require(try TestHost.inactiveXML(name))
        #expect(TestHost.openingTag("cpu", in: xml)?.contains("mode='host-passthrough'") == true, "\(xml)")
        #expect(TestHost.openingTag("topology", in: xml)?.contains("cores='2'") == true)
        #expect(try CLI.run("plan", workspace.path, "--detailed-exitcode").status == 0, "read back: no change")

        try write("{mode: host-model, topology: {sockets: 2, cores: 1, threads: 1}}")
        let plan = try CLI.run("plan", workspace.path)
        #expect(plan.stdout.contains("~ cpu = host-passthrough, 1 socket x 2 cores x 1 thread -> host-model, 2 sockets x 1 core x 1 thread"),
                "\(plan.stdout)")
    }

    @Test func aNewMaximumRestartsTheVMUnlessRestartIsNever() throws {
        let restarted = TestHost.uniqueName("restart")
        let kept = TestHost.uniqueName("norestart")
        let workspace = try Workspace()
        defer { TestHost.removeDomains([restarted, kept]); workspace.delete() }
        func write(max: String) throws {
            try workspace.write("vm.yaml", Workspace.vm(restarted, memory: "64MiB", maxMemory: max) + "\n---\n"
                + Workspace.vm(kept, memory: "64MiB", maxMemory: max, lifecycle: "{restart: never}"))
        }
        try write(max: "128MiB")
        #expect(try Self.apply(workspace).status == 0)
        let restartedID = try Self.domainID(restarted)
        let keptID = try Self.domainID(kept)

        try write(max: "192MiB")
        let plan = try CLI.run("plan", workspace.path)
        #expect(plan.stdout.contains("~ \(restarted) (restart)"))
        #expect(plan.stdout.contains("~ \(kept) (next-boot)"))
        #expect(plan.stdout.contains("lifecycle.restart is never"))
        let apply = try Self.apply(workspace)
        #expect(apply.status == 0, "\(apply.stdout)\(apply.stderr)")

        #expect(try Self.domainID(restarted) != restartedID, "a restart gives the domain a new id")
        #expect(try TestHost.domainState(restarted) == "running")
        #expect(try Self.domainID(kept) == keptID)
        #expect(TestHost.element("memory", in: try #require(try TestHost.inactiveXML(kept))) == "196608")
        let live = try TestHost.virsh("dumpxml", kept).stdout
        #expect(TestHost.element("memory", in: live) == "131072", "the running VM keeps its old maximum until it boots again")

        let after = try CLI.run("plan", workspace.path, "--detailed-exitcode")
        #expect(after.status == 0)
        #expect(after.stdout.contains("Waiting for the next boot"))
        #expect(after.stdout.contains("\(kept): maxMemory"))
        let state = try CLI.run("state", "list", workspace.path)
        #expect(state.stdout.split(separator: "\n").contains { $0.contains(kept) && $0.contains("restart: maxMemory") })
        #expect(state.stdout.split(separator: "\n").contains { $0.contains(restarted) && $0.hasSuffix("-") })
    }

    @Test func protectStopsDeleteAndReplaceAtPlanTime() throws {
        let name = TestHost.uniqueName("protected")
        let workspace = try Workspace()
        defer { TestHost.removeDomains([name]); workspace.delete() }
        // libvirt's test driver cannot take a migration: a move there is a replace.
        try workspace.write("other-host.yaml", """
            apiVersion: vmplan/v1
            kind: Host
            metadata: {name: other}
            spec: {uri: "test:///default", hypervisor: kvm}
            """)
        try workspace.write("vm.yaml", Workspace.vm(name, state: "stopped", lifecycle: "{protect: true}"))
        #expect(try Self.apply(workspace).status == 0)
        let before = try #require(try TestHost.inactiveXML(name))

        try workspace.write("vm.yaml", Workspace.vm(name, state: "stopped", host: "other", lifecycle: "{protect: true}"))
        let moved = try Self.apply(workspace)
        #expect(moved.status == 1)
        #expect(moved.stderr.contains("vm.yaml:1:1: error: VirtualMachine '\(name)' is protected (lifecycle.protect: true), but host changed from local to other"),
                "\(moved.stderr)")
        try workspace.write("vm.yaml", Workspace.vm(name, state: "stopped", lifecycle: "{protect: true}"))

        // A host change of a VM that can move is a migration, which loses nothing; a replace is refused.
        let replaced = try CLI.run("apply", workspace.path, "--auto-approve", "--replace", name)
        #expect(replaced.status == 1)
        #expect(replaced.stderr.contains("vm.yaml:1:1: error: VirtualMachine '\(name)' is protected (lifecycle.protect: true), but "),
                "\(replaced.stderr)")

        try workspace.remove("vm.yaml")
        let removed = try Self.apply(workspace)
        #expect(removed.status == 1)
        #expect(removed.stderr.contains("'\(name)' is protected (lifecycle.protect: true), but it was removed from the manifests"))
        #expect(try TestHost.inactiveXML(name) == before, "nothing was touched")
    }

    @Test func ignoredFieldsStayAsTheHostHasThem() throws {
        let name = TestHost.uniqueName("ignore")
        let workspace = try Workspace()
        defer { TestHost.removeDomains([name]); workspace.delete() }
        try workspace.write("vm.yaml", Workspace.vm(name, memory: "64MiB", maxMemory: "128MiB", state: "stopped", lifecycle: "{ignoreChanges: [memory]}"))
        #expect(try Self.apply(workspace).status == 0)

        #expect(try TestHost.virsh("setmem", name, "80M", "--config").status == 0)
        try workspace.write("vm.yaml", Workspace.vm(name, memory: "96MiB", maxMemory: "128MiB", state: "stopped", lifecycle: "{ignoreChanges: [memory]}"))
        let plan = try CLI.run("plan", workspace.path, "--detailed-exitcode")
        #expect(plan.status == 0, "\(plan.stdout)")
        #expect(plan.stdout.contains("\(name).memory: 80MiB on the host, 96MiB in the manifests"))
        #expect(try Self.apply(workspace).status == 0)
        #expect(TestHost.element("currentMemory", in: try #require(try TestHost.inactiveXML(name))) == "81920")
    }

    @Test func aVMThatMayNotBeForcedStaysRunningAndTheChangeFails() throws {
        let name = TestHost.uniqueName("noforce")
        let workspace = try Workspace()
        defer { TestHost.removeDomains([name]); workspace.delete() }
        try workspace.write("vm.yaml", Workspace.vm(name, lifecycle: "{forceStop: false}"))
        #expect(try Self.apply(workspace).status == 0)
        try workspace.write("vm.yaml", Workspace.vm(name, state: "stopped", lifecycle: "{forceStop: false}"))
        let stop = try Self.apply(workspace)
        #expect(stop.status == 1)
        #expect(stop.stderr.contains("did not shut down within 1s and a forced stop is not allowed; it is still running"))
        #expect(try TestHost.domainState(name) == "running")
        // The failed change is journaled and the next plan still wants the stop.
        #expect(try CLI.run("plan", workspace.path, "--detailed-exitcode").status == 2)
    }

    @Test func aNewMachineTypeRestartsTheVM() throws {
        let name = TestHost.uniqueName("machine")
        let workspace = try Workspace()
        defer { TestHost.removeDomains([name]); workspace.delete() }
        try workspace.write("vm.yaml", Workspace.vm(name))
        #expect(try Self.apply(workspace).status == 0)
        let before = try Self.domainID(name)
        let xml = try #require(try TestHost.inactiveXML(name))
        #expect(TestHost.openingTag("type", in: xml)?.contains("machine='pc-i440fx") == true, "libvirt's default is kept: \(xml)")
        #expect(try CLI.run("plan", workspace.path, "--detailed-exitcode").status == 0, "an open machine type is no difference")

        try workspace.write("vm.yaml", Workspace.vm(name) + "\n  machine: q35")
        let plan = try CLI.run("plan", workspace.path)
        #expect(plan.stdout.contains("~ \(name) (restart)"), "\(plan.stdout)")
        #expect(plan.stdout.contains("~ machine = pc -> q35"))
        let apply = try Self.apply(workspace)
        #expect(apply.status == 0, "\(apply.stdout)\(apply.stderr)")
        #expect(try Self.domainID(name) != before)
        #expect(TestHost.openingTag("type", in: try #require(try TestHost.inactiveXML(name)))?.contains("machine='pc-q35") == true)
        #expect(try CLI.run("plan", workspace.path, "--detailed-exitcode").status == 0)
    }
}
