import Foundation
import Testing
import TestSupport

/// NIC hot-plug checked from inside the real test guest: the guest sees the new card (and gets a
/// lease on it from vmplan's network), then sees it go.
@Suite("NIC hot-plug seen by a real guest", .enabled(if: TestGuest.shouldRun(), "needs a libvirt host and vmplan's test guest: run scripts/host-up and scripts/guest/build-image"))
struct GuestNICTests {
    @Test func aSecondNICIsHotPluggedIntoTheGuestAndUnplugged() throws {
        let network = VirtualNetworkTests.TestNetwork()
        let name = TestHost.uniqueName("guest-nic")
        let (first, second) = ("52:54:00:c7:00:01", "52:54:00:c7:00:02")
        let nics = { (macs: [String]) in
            ["  networks:"] + macs.map { "    - {network: \(network.name), mac: \"\($0)\"}" }
        }
        let workspace = try GuestTests.workspace([network.yaml(), TestGuest.vmManifest(name, extra: nics([first]))])
        defer {
            TestHost.removeDomains([name])
            network.remove()
            workspace.delete()
        }
        #expect(try GuestTests.apply(workspace).status == 0)
        let console = try GuestConsole(domain: name)
        try console.waitForShell()
        let id = try GuestTests.domainID(name)

        try workspace.write("vms.yaml", [network.yaml(), TestGuest.vmManifest(name, extra: nics([first, second]))].joined(separator: "\n---\n"))
        let plug = try GuestTests.apply(workspace)
        #expect(plug.status == 0 && plug.stdout.contains("hot-plugging NIC network \(network.name) virtio \(second) live"),
                "\(plug.stdout)\(plug.stderr)")
        #expect(try GuestTests.domainID(name) == id, "same domain, no restart")
        let seen = try console.poll("cat /sys/class/net/eth1/address 2>/dev/null; true", timeout: .seconds(120)) { $0.contains(second) }
        #expect(seen.contains(second), "the guest has a second card with the MAC vmplan gave it")
        let lease = try console.poll("ip -4 addr show eth1 2>/dev/null; true", timeout: .seconds(120)) { $0.contains("inet \(network.subnet).") }
        #expect(lease.contains("inet \(network.subnet)."), "the new card got a lease from vmplan's network: \(lease)")
        #expect(try CLI.run("plan", workspace.path, "--detailed-exitcode").status == 0)

        try workspace.write("vms.yaml", [network.yaml(), TestGuest.vmManifest(name, extra: nics([first]))].joined(separator: "\n---\n"))
        let unplug = try GuestTests.apply(workspace)
        #expect(unplug.status == 0 && unplug.stdout.contains("unplugging NIC network \(network.name) virtio \(second) live"),
                "\(unplug.stdout)\(unplug.stderr)")
        #expect(!unplug.stdout.contains("has not released"), "the guest let the card go: \(unplug.stdout)")
        #expect(try GuestTests.domainID(name) == id)
        let gone = try console.poll("ls /sys/class/net", timeout: .seconds(60)) { !$0.contains("eth1") }
        #expect(!gone.contains("eth1"), "the guest no longer has the card: \(gone)")
        #expect(try CLI.run("plan", workspace.path, "--detailed-exitcode").status == 0)
    }
}
