import Foundation
import Testing
import TestSupport

/// What vmplan does to a running VM, checked from inside a real guest (scripts/guest/build-image)
/// over its serial console, and through libvirt, never through vmplan.
@Suite("A real guest on a real libvirtd", .enabled(if: TestGuest.shouldRun(), "needs a libvirt host and vmplan's test guest: run scripts/host-up and scripts/guest/build-image"))
struct GuestTests {
    /// Long enough for a graceful stop to be told apart from a forced one by a wide margin.
    static let shutdownTimeout = 120

    static func apply(_ workspace: Workspace) throws -> TestHost.Output {
        try CLI.run("apply", workspace.path, "--auto-approve", "--shutdown-timeout", String(Self.shutdownTimeout))
    }

    static func domainID(_ name: String) throws -> String {
        try TestHost.virsh("domid", name).stdout.trimmingCharacters(in: .whitespacesAndNewlines)
    }

    /// A workspace whose Host runs the guest, with these documents.
    static func workspace(_ documents: [String]) throws -> Workspace {
        let workspace = try Workspace()
        try workspace.write("host.yaml", TestGuest.hostManifest())
        try workspace.write("vms.yaml", documents.joined(separator: "\n---\n"))
        return workspace
    }

    @Test func theGuestBootsDirectlyAndANewCommandLineRestartsIt() throws {
        let name = TestHost.uniqueName("guest")
        let workspace = try Self.workspace([TestGuest.vmManifest(name)])
        defer { TestHost.removeDomains([name]); workspace.delete() }
        let apply = try Self.apply(workspace)
        #expect(apply.status == 0, "\(apply.stdout)\(apply.stderr)")
        let console = try GuestConsole(domain: name)
        try console.waitForShell()

        let xml = try #require(try TestHost.inactiveXML(name))
        #expect(TestHost.element("kernel", in: xml) == TestGuest.kernel)
        #expect(TestHost.element("initrd", in: xml) == TestGuest.initrd)
        #expect(TestHost.element("cmdline", in: xml) == TestGuest.cmdline)
        #expect(try console.run("cat /proc/cmdline") == TestGuest.cmdline + "\n", "the guest booted the kernel vmplan named")
        #expect(try CLI.run("plan", workspace.path, "--detailed-exitcode").status == 0, "boot is read back")

        // QEMU reads the kernel and its command line when it starts: a new one is a restart.
        let id = try Self.domainID(name)
        let cmdline = TestGuest.cmdline + " vmplan.test=restarted"
        try workspace.write("vms.yaml", TestGuest.vmManifest(name).replacingOccurrences(of: "cmdline: \"\(TestGuest.cmdline)\"", with: "cmdline: \"\(cmdline)\""))
        let plan = try CLI.run("plan", workspace.path)
        #expect(plan.stdout.contains("~ \(name) (restart)") && plan.stdout.contains("vmplan.test=restarted"), "\(plan.stdout)\(plan.stderr)")
        let restart = try Self.apply(workspace)
        #expect(restart.status == 0 && !restart.stdout.contains("forcing off"), "\(restart.stdout)\(restart.stderr)")
        #expect(try Self.domainID(name) != id)
        let again = try GuestConsole(domain: name)
        try again.waitForShell()
        #expect(try again.run("cat /proc/cmdline") == cmdline + "\n")
        #expect(try CLI.run("plan", workspace.path, "--detailed-exitcode").status == 0)
    }

    /// vmplan's stop presses the ACPI power button (libvirt's shutdown without an agent), and the guest
    /// powers itself off: libvirt records the reason as a shutdown, not a destroy, long before the timeout.
    @Test func aGracefulStopCompletesThroughACPIWithoutForce() throws {
        let name = TestHost.uniqueName("acpi")
        let workspace = try Self.workspace([TestGuest.vmManifest(name)])
        defer { TestHost.removeDomains([name]); workspace.delete() }
        #expect(try Self.apply(workspace).status == 0)
        // acpid must be listening before the button is pressed: the shell answers once it is.
        try GuestConsole(domain: name).waitForShell()

        try workspace.write("vms.yaml", TestGuest.vmManifest(name, state: "stopped"))
        let started = ContinuousClock.now
        let stop = try Self.apply(workspace)
        let took = ContinuousClock.now - started
        #expect(stop.status == 0, "\(stop.stdout)\(stop.stderr)")
        #expect(stop.stdout.contains("\(name): shutting down"), "\(stop.stdout)")
        #expect(!stop.stdout.contains("forcing off") && !stop.stderr.contains("forcing off"), "\(stop.stdout)")
        #expect(took < .seconds(Self.shutdownTimeout / 2), "the stop took \(took) of the \(Self.shutdownTimeout) s allowed")
        #expect(try TestHost.virsh("domstate", name, "--reason").stdout.contains("shut off (shutdown)"),
                "libvirt saw the guest power itself off")
        #expect(try CLI.run("plan", workspace.path, "--detailed-exitcode").status == 0)
    }

    /// The balloon gives memory back live: the guest's own MemTotal grows, and the VM keeps running.
    @Test func liveMemoryGrowthReachesTheGuest() throws {
        let name = TestHost.uniqueName("balloon")
        let workspace = try Self.workspace([TestGuest.vmManifest(name, memory: "128MiB", maxMemory: "256MiB")])
        defer { TestHost.removeDomains([name]); workspace.delete() }
        #expect(try Self.apply(workspace).status == 0)
        let console = try GuestConsole(domain: name)
        try console.waitForShell()
        let id = try Self.domainID(name)
        // QEMU starts the guest with maxMemory; the balloon then takes it down to memory.
        let before = try console.poll(GuestConsole.memTotalCommand) { (GuestConsole.memTotalKiB(in: $0) ?? .max) < 128 << 10 }
        let baseline = try #require(GuestConsole.memTotalKiB(in: before))

        try workspace.write("vms.yaml", TestGuest.vmManifest(name, memory: "192MiB", maxMemory: "256MiB"))
        let plan = try CLI.run("plan", workspace.path)
        #expect(plan.stdout.contains("~ \(name) (live)") && plan.stdout.contains("~ memory = 128MiB -> 192MiB"), "\(plan.stdout)")
        let grow = try Self.apply(workspace)
        #expect(grow.status == 0, "\(grow.stdout)\(grow.stderr)")

        // 64MiB more, less what the kernel keeps for itself.
        let grown = try console.poll(GuestConsole.memTotalCommand) { (GuestConsole.memTotalKiB(in: $0) ?? 0) >= baseline + (56 << 10) }
        #expect(try console.memTotalKiB() >= baseline + (56 << 10), "\(before)\(grown)")
        #expect(try Self.domainID(name) == id, "no restart")
        #expect(try CLI.run("plan", workspace.path, "--detailed-exitcode").status == 0, "the guest took all of it: no drift")
    }

    /// A virtio disk detached live is really gone: the guest released it, so libvirt's live XML drops it
    /// at once (without a guest, it stays until the next boot).
    @Test func aVirtioDiskDetachedLiveIsReleasedByTheGuest() throws {
        let pool = try TestPool()
        let name = TestHost.uniqueName("unplug")
        let volume = "\(name)-data"
        let manifests = { (disks: String) in
            [pool.yaml, TestPool.volume(volume, pool: pool.name, "capacity: 8MiB"), TestGuest.vmManifest(name, extra: disks.isEmpty ? [] : ["  disks: \(disks)"])]
        }
        let workspace = try Self.workspace(manifests(""))
        defer { pool.delete(domains: [name]); workspace.delete() }
        let first = try Self.apply(workspace)
        #expect(first.status == 0, "\(first.stdout)\(first.stderr)")
        let console = try GuestConsole(domain: name)
        try console.waitForShell()
        let id = try Self.domainID(name)
        #expect(try !console.run("ls /sys/block").contains("vd"))

        try workspace.write("vms.yaml", manifests("[{volume: \(volume), bus: virtio}]").joined(separator: "\n---\n"))
        let attach = try Self.apply(workspace)
        #expect(attach.status == 0 && attach.stdout.contains("attaching disk vda (\(volume)) live"), "\(attach.stdout)\(attach.stderr)")
        try console.poll("ls /sys/block", until: { $0.contains("vda") })
        #expect(try console.run("cat /sys/block/vda/size") == "\(8 << 11)\n", "8MiB in 512-byte sectors")

        try workspace.write("vms.yaml", manifests("").joined(separator: "\n---\n"))
        let detach = try Self.apply(workspace)
        #expect(detach.status == 0 && detach.stdout.contains("detaching disk vda (\(volume)) live"), "\(detach.stdout)\(detach.stderr)")
        #expect(!detach.stdout.contains("has not released"), "\(detach.stdout)")
        #expect(!(try TestHost.virsh("dumpxml", name).stdout.contains(volume)), "gone from the live XML")
        #expect(!(try #require(try TestHost.inactiveXML(name)).contains(volume)), "and from the config")
        try console.poll("ls /sys/block", timeout: .seconds(30), until: { !$0.contains("vda") })
        #expect(try Self.domainID(name) == id)
        #expect(try CLI.run("plan", workspace.path, "--detailed-exitcode").status == 0)
    }
}
