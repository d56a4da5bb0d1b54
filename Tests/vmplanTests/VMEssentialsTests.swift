import Foundation
import Testing
import TestSupport

/// Autostart, the serial console, graphics, the guest agent channel and NIC hot-plug on the real private libvirtd.
@Suite("VM essentials on a real libvirtd", .enabled(if: TestHost.shouldRun(), "needs a libvirt host: run scripts/host-up"))
struct VMEssentialsTests {
    static func apply(_ workspace: Workspace) throws -> TestHost.Output {
        try TestHost.run(CLI.binary, ["apply", workspace.path, "--auto-approve", "--shutdown-timeout", "1"])
    }

    static func domainID(_ name: String) throws -> String {
        try TestHost.virsh("domid", name).stdout.trimmingCharacters(in: .whitespacesAndNewlines)
    }

    static func autostart(_ name: String) throws -> String? {
        try TestHost.virsh("dominfo", name).stdout.split(separator: "\n")
            .first { $0.hasPrefix("Autostart:") }.map { $0.dropFirst("Autostart:".count).trimmingCharacters(in: .whitespaces) }
    }

    static func liveXML(_ name: String) throws -> String { try TestHost.virsh("dumpxml", name).stdout }

    static func count(_ needle: String, in text: String) -> Int { text.components(separatedBy: needle).count - 1 }

    @Test func autostartIsSetForARunningVMAndChangesLive() throws {
        let name = TestHost.uniqueName("autostart")
        let workspace = try Workspace()
        defer { TestHost.removeDomains([name]); workspace.delete() }
        try workspace.write("vm.yaml", Workspace.vm(name))
        let created = try Self.apply(workspace)
        #expect(created.status == 0, "\(created.stdout)\(created.stderr)")
        #expect(try Self.autostart(name) == "enable", "state: running autostarts by default")
        let id = try Self.domainID(name)

        try workspace.write("vm.yaml", Workspace.vm(name) + "\n  autostart: false")
        let plan = try CLI.run("plan", workspace.path)
        #expect(plan.stdout.contains("~ \(name) (live)") && plan.stdout.contains("autostart"), "\(plan.stdout)\(plan.stderr)")
        #expect(try Self.apply(workspace).status == 0)
        #expect(try Self.autostart(name) == "disable")
        #expect(try Self.domainID(name) == id, "no restart")
        #expect(try CLI.run("plan", workspace.path, "--detailed-exitcode").status == 0)

        // Turned back on by hand: drift, which the next apply undoes.
        #expect(try TestHost.virsh("autostart", name).status == 0)
        let drift = try CLI.run("plan", workspace.path, "--detailed-exitcode")
        #expect(drift.status == 2 && drift.stdout.contains("autostart"), "\(drift.stdout)")
        #expect(try Self.apply(workspace).status == 0)
        #expect(try Self.autostart(name) == "disable")
    }

    @Test func graphicsTheAgentChannelAndTheSerialConsoleReachTheRunningVM() throws {
        let name = TestHost.uniqueName("console")
        let workspace = try Workspace()
        defer { TestHost.removeDomains([name]); workspace.delete() }
        try workspace.write("vm.yaml", Workspace.vm(name, memory: "64MiB", maxMemory: "128MiB"))
        #expect(try Self.apply(workspace).status == 0)
        let plain = try Self.liveXML(name)
        #expect(Self.count("<serial type='pty'>", in: plain) == 1 && Self.count("<console type='pty'", in: plain) == 1, "\(plain)")
        #expect(!plain.contains("<graphics") && !plain.contains("org.qemu.guest_agent.0"))

        try workspace.write("vm.yaml", Workspace.vm(name, memory: "64MiB", maxMemory: "128MiB")
            + "\n  graphics: {type: vnc, listen: 127.0.0.1}\n  guestAgent: true")
        let plan = try CLI.run("plan", workspace.path)
        #expect(plan.stdout.contains("(restart)"), "\(plan.stdout)\(plan.stderr)")
        let apply = try Self.apply(workspace)
        #expect(apply.status == 0, "\(apply.stdout)\(apply.stderr)")
        let live = try Self.liveXML(name)
        #expect(live.contains("<graphics type='vnc'") && live.contains("<listen type='address' address='127.0.0.1'/>"), "\(live)")
        #expect(live.contains("<target type='virtio' name='org.qemu.guest_agent.0'"), "\(live)")
        #expect(Self.count("<serial type='pty'>", in: live) == 1 && Self.count("<console type='pty'", in: live) == 1)
        #expect(try CLI.run("plan", workspace.path, "--detailed-exitcode").status == 0)

        // A live change redefines the config: the console, display and channel stay, once each.
        try workspace.write("vm.yaml", Workspace.vm(name, memory: "96MiB", maxMemory: "128MiB")
            + "\n  graphics: {type: vnc, listen: 127.0.0.1}\n  guestAgent: true")
        #expect(try Self.apply(workspace).status == 0)
        let config = try #require(try TestHost.inactiveXML(name))
        for element in ["<serial type='pty'>", "<console type='pty'", "<graphics type='vnc'", "name='org.qemu.guest_agent.0'", "<video>"] {
            #expect(Self.count(element, in: config) == 1, "\(element) in \(config)")
        }
        // The agent is not connected (no guest OS): the shutdown goes through ACPI, then force.
        try workspace.write("vm.yaml", Workspace.vm(name, memory: "96MiB", maxMemory: "128MiB", state: "stopped")
            + "\n  graphics: {type: vnc, listen: 127.0.0.1}\n  guestAgent: true")
        let stop = try Self.apply(workspace)
        #expect(stop.status == 0 && stop.stdout.contains("\(name): shutting down (waiting up to"), "\(stop.stdout)\(stop.stderr)")
        #expect(try Self.autostart(name) == "disable", "state: stopped does not autostart")
    }

    /// A bridge without uplink, made for one test and removed after it: nothing leaves the machine.
    struct TestBridge {
        let name = "vmpb" + String(UUID().uuidString.prefix(8)).lowercased()

        init() throws {
            let added = try TestHost.run("ip", ["link", "add", name, "type", "bridge"])
            guard added.status == 0 else { throw BridgeError(message: "ip link add \(name) type bridge: \(added.stderr)") }
            try TestHost.run("ip", ["link", "set", name, "up"])
        }

        func delete() { _ = try? TestHost.run("ip", ["link", "del", name]) }

        struct BridgeError: Error { var message: String }
    }

    static func interfaces(in xml: String) -> [String] { NetworkInterfaceTests.interfaces(in: xml) }

    /// The guest without an OS never releases an unplugged NIC; a real guest does (then `released` is true).
    @Test func aNICIsHotPluggedIntoARunningVMAndUnplugged() throws {
        let bridge = try TestBridge()
        let name = TestHost.uniqueName("nichotplug")
        let workspace = try Workspace()
        defer { TestHost.removeDomains([name]); workspace.delete(); bridge.delete() }
        let second = "52:54:00:c6:12:02"
        let manifest = { (nics: String) in Workspace.vm(name) + "\n  networks:\n" + nics }
        try workspace.write("vm.yaml", manifest("    - {bridge: \(bridge.name)}\n"))
        let created = try Self.apply(workspace)
        #expect(created.status == 0, "\(created.stdout)\(created.stderr)")
        let id = try Self.domainID(name)
        #expect(Self.interfaces(in: try Self.liveXML(name)).count == 1)

        try workspace.write("vm.yaml", manifest("    - {bridge: \(bridge.name)}\n    - {bridge: \(bridge.name), model: e1000e, mac: \"\(second)\"}\n"))
        let plan = try CLI.run("plan", workspace.path)
        #expect(plan.stdout.contains("~ \(name) (live)") && plan.stdout.contains("hot-plugs NIC bridge \(bridge.name) e1000e \(second) live"),
                "\(plan.stdout)\(plan.stderr)")
        let plug = try Self.apply(workspace)
        #expect(plug.status == 0 && plug.stdout.contains("hot-plugging NIC bridge \(bridge.name) e1000e \(second) live"), "\(plug.stdout)\(plug.stderr)")
        #expect(try Self.domainID(name) == id, "same domain, no restart")
        let plugged = Self.interfaces(in: try Self.liveXML(name))
        #expect(plugged.count == 2 && plugged.last?.contains("<mac address='\(second)'/>") == true, "\(plugged)")
        #expect(Self.interfaces(in: try #require(try TestHost.inactiveXML(name))).count == 2)
        #expect(try CLI.run("plan", workspace.path, "--detailed-exitcode").status == 0)
        // Guest-visible check (once the test guest boots here): the guest lists a second interface with `second`.

        try workspace.write("vm.yaml", manifest("    - {bridge: \(bridge.name)}\n"))
        let unplug = try Self.apply(workspace)
        #expect(unplug.status == 0 && unplug.stdout.contains("unplugging NIC bridge \(bridge.name) e1000e \(second) live"), "\(unplug.stdout)\(unplug.stderr)")
        #expect(try Self.domainID(name) == id)
        #expect(Self.interfaces(in: try #require(try TestHost.inactiveXML(name))).count == 1, "gone from the config at once")
        let released = Self.interfaces(in: try Self.liveXML(name)).count == 1
        if released {
            #expect(try CLI.run("plan", workspace.path, "--detailed-exitcode").status == 0)
        } else {
            // Without a guest OS nothing acknowledges the unplug: vmplan says so, and plans show the NIC waiting for a restart.
            #expect(unplug.stdout.contains("the guest has not released NIC \(second)"), "\(unplug.stdout)")
            let pending = try CLI.run("plan", workspace.path)
            #expect(pending.stdout.contains("networks wait for a restart"), "\(pending.stdout)\(pending.stderr)")
        }
    }
}
