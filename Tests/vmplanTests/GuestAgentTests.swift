import Foundation
import Testing
import TestSupport

/// `guestAgent: true` with the real guest, whose QEMU guest agent starts on the virtio-serial port:
/// `vmplan status` takes the addresses from the agent, and a stop goes through it.
@Suite("The QEMU guest agent in a real guest", .enabled(if: TestGuest.shouldRun(), "needs a libvirt host and vmplan's test guest: run scripts/host-up and scripts/guest/build-image"))
struct GuestAgentTests {
    @Test func statusReadsTheAgentAndAStopGoesThroughIt() throws {
        let network = VirtualNetworkTests.TestNetwork()
        let name = TestHost.uniqueName("guest-agent")
        let vm = { (state: String) in
            TestGuest.vmManifest(name, state: state, extra: ["  guestAgent: true", "  networks: [{network: \(network.name)}]"])
        }
        let workspace = try GuestTests.workspace([network.yaml(), vm("running")])
        defer {
            TestHost.removeDomains([name])
            network.remove()
            workspace.delete()
        }
        #expect(try GuestTests.apply(workspace).status == 0)
        try GuestConsole(domain: name).waitForShell()

        // The agent answers once the guest's init started it; its addresses then come from inside the guest.
        var report: StatusTests.Report.VM?
        for _ in 0..<120 {
            report = try StatusTests.status(workspace).0.vm(name)
            if report?.addresses.contains(where: { $0.source == "agent" }) == true { break }
            Thread.sleep(forTimeInterval: 1)
        }
        let vm1 = try #require(report)
        #expect(vm1.status == "Running", "\(vm1)")
        let address = try #require(vm1.addresses.first { $0.source == "agent" }, "\(vm1)")
        #expect(address.ip.hasPrefix(network.subnet + "."), "\(address)")
        #expect(!vm1.addresses.contains { $0.ip.hasPrefix("127.") }, "loopback is left out")

        try workspace.write("vms.yaml", [network.yaml(), vm("stopped")].joined(separator: "\n---\n"))
        let stop = try GuestTests.apply(workspace)
        #expect(stop.status == 0, "\(stop.stdout)\(stop.stderr)")
        #expect(stop.stdout.contains("\(name): shutting down through the guest agent"), "\(stop.stdout)")
        #expect(!stop.stdout.contains("forcing off"), "\(stop.stdout)")
        #expect(try TestHost.virsh("domstate", name, "--reason").stdout.contains("shut off (shutdown)"))
        #expect(try StatusTests.status(workspace).0.vm(name).status == "Stopped")
    }
}
