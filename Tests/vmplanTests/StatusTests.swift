import Foundation
import Spec
import Testing
import TestSupport

/// `vmplan status` on the real private libvirtd, checked against what virsh and the guest itself say.
@Suite("vmplan status on a real libvirtd", .enabled(if: TestHost.shouldRun(), "needs a libvirt host: run scripts/host-up"))
struct StatusTests {
    struct Report: Decodable {
        var format: String
        var vms: [VM]
        var unknownHosts: [UnknownHost]

        struct VM: Decodable {
            var name: String
            var host: String
            var status: String
            var power: String?
            var addresses: [Address]
            var pendingRestart: [String]
            var sync: String
            var drift: String?
            var message: String?
        }

        struct Address: Decodable {
            var mac: String
            var ip: String
            var prefix: Int
            var source: String
        }

        struct UnknownHost: Decodable {
            var host: String
        }

        func vm(_ name: String) throws -> VM { try #require(vms.first { $0.name == name }, "\(name) in \(vms.map(\.name))") }
    }

    static func status(_ workspace: Workspace, _ extra: String...) throws -> (Report, TestHost.Output) {
        let output = try CLI.run(["status", workspace.path, "--json"] + extra)
        let report = try JSONDecoder().decode(Report.self, from: Data(output.stdout.utf8))
        return (report, output)
    }

    @Test func eachVMShowsItsStatusAndWhetherTheHostMatchesTheManifests() throws {
        let (running, stopped, missing, foreign) = (TestHost.uniqueName("st-run"), TestHost.uniqueName("st-stop"),
                                                    TestHost.uniqueName("st-miss"), TestHost.uniqueName("st-foreign"))
        let workspace = try Workspace()
        defer {
            TestHost.removeDomains([running, stopped, missing, foreign])
            workspace.delete()
        }
        try workspace.write("vms.yaml", [Workspace.vm(running), Workspace.vm(stopped, state: "stopped")].joined(separator: "\n---\n"))
        #expect(try CLI.run("apply", workspace.path, "--auto-approve", "--shutdown-timeout", "1").status == 0)
        let runsBefore = try CLI.run("state", "runs", workspace.path).stdout

        // A domain made by hand under a name the manifests also use, and a VM not applied yet.
        let foreignXML = workspace.directory.appendingPathComponent("foreign.xml")
        try "<domain type='qemu'><name>\(foreign)</name><memory unit='MiB'>32</memory><os><type arch='x86_64'>hvm</type></os></domain>"
            .write(to: foreignXML, atomically: true, encoding: .utf8)
        #expect(try TestHost.virsh("define", foreignXML.path).status == 0)
        try workspace.write("more.yaml", [Workspace.vm(missing), Workspace.vm(foreign, state: "stopped")].joined(separator: "\n---\n"))
        // A manifest edit not applied yet.
        try workspace.write("vms.yaml", [Workspace.vm(running, memory: "96MiB"), Workspace.vm(stopped, state: "stopped")]
            .joined(separator: "\n---\n"))

        let (report, output) = try Self.status(workspace)
        #expect(output.status == 0, "\(output.stderr)")
        #expect(report.format == "vmplan-status")
        #expect(try report.vm(running).status == "Running")
        #expect(try report.vm(running).power == "running")
        #expect(try report.vm(running).sync == "OutOfSync")
        let outOfSync = try report.vm(running)
        #expect(outOfSync.drift?.hasPrefix("update: memory") == true, "\(outOfSync)")
        #expect(try report.vm(stopped).status == "Stopped")
        #expect(try report.vm(stopped).sync == "Synced")
        #expect(try report.vm(missing).status == "Missing")
        #expect(try report.vm(missing).drift == "create")
        #expect(try report.vm(foreign).status == "Unowned")
        #expect(try report.vm(foreign).message?.contains("no vmplan marker") == true)
        #expect(Set(report.vms.map(\.host)) == ["local"])

        let text = try CLI.run("status", workspace.path)
        #expect(text.status == 0)
        let row = try #require(text.stdout.split(separator: "\n").first { $0.hasPrefix(running + " ") }, "\(text.stdout)")
        #expect(row.contains("Running") && row.contains("OutOfSync (update: memory"), "\(row)")
        #expect(text.stdout.contains("1 Missing, 1 Unowned, 1 Running, 1 Stopped; 2 out of sync."), "\(text.stdout)")

        #expect(try CLI.run("state", "runs", workspace.path).stdout == runsBefore, "status records no run")
        #expect(try TestHost.domainState(running) == "running", "status changed nothing")
    }

    @Test func aHostThatDoesNotAnswerMakesItsVMsUnknownAndTheOthersAreStillShown() throws {
        let (here, there) = (TestHost.uniqueName("st-here"), TestHost.uniqueName("st-there"))
        let workspace = try Workspace()
        defer {
            TestHost.removeDomains([here])
            workspace.delete()
        }
        // Port 1 on loopback: nothing listens, the connection is refused at once.
        try workspace.write("gone.yaml", """
            apiVersion: vmplan/v1
            kind: Host
            metadata: {name: gone}
            spec: {uri: "qemu+tcp://127.0.0.1:1/system", hypervisor: kvm}
            """)
        try workspace.write("here.yaml", Workspace.vm(here, state: "stopped"))
        try workspace.write("vms.yaml", Workspace.vm(there, host: "gone"))

        let (report, output) = try Self.status(workspace, "--connect-timeout", "5")
        #expect(output.status == 1, "a host that did not answer: \(output.stderr)")
        #expect(try report.vm(there).status == "Unknown")
        #expect(try report.vm(there).sync == "Unknown")
        #expect(try report.vm(there).message?.contains("host gone did not answer") == true)
        #expect(try report.vm(here).status == "Missing")
        #expect(report.unknownHosts.map(\.host) == ["gone"])
        #expect(!FileManager.default.fileExists(atPath: workspace.statePath), "status never creates a state")
    }
}

/// The guest's address, through a vmplan network's DHCP lease, as `vmplan status` shows it.
@Suite("vmplan status with a real guest", .enabled(if: TestGuest.shouldRun(), "needs a libvirt host and vmplan's test guest: run scripts/host-up and scripts/guest/build-image"))
struct GuestStatusTests {
    @Test func theGuestsLeaseOnAVMPlanNetworkIsShownWithItsDerivedMAC() throws {
        let network = VirtualNetworkTests.TestNetwork()
        let name = TestHost.uniqueName("st-guest")
        let workspace = try GuestTests.workspace([
            network.yaml(), TestGuest.vmManifest(name, extra: ["  networks: [{network: \(network.name)}]"]),
        ])
        defer {
            TestHost.removeDomains([name])
            network.remove()
            workspace.delete()
        }
        let apply = try GuestTests.apply(workspace)
        #expect(apply.status == 0, "\(apply.stdout)\(apply.stderr)")
        let console = try GuestConsole(domain: name)
        _ = try console.waitFor("VMPLAN-LEASE eth0", timeout: .seconds(300))

        let mac = NetworkInterface.derivedMAC(vm: name, index: 0)
        #expect(try TestHost.inactiveXML(name)?.contains("<mac address='\(mac)'/>") == true, "the NIC has the derived MAC")
        var report: StatusTests.Report?
        // dnsmasq writes the lease when it answers; the guest prints it once it has it.
        for _ in 0..<30 {
            report = try StatusTests.status(workspace).0
            if try report?.vm(name).addresses.isEmpty == false { break }
            Thread.sleep(forTimeInterval: 1)
        }
        let vm = try #require(try report?.vm(name))
        #expect(vm.status == "Running")
        #expect(vm.sync == "Synced")
        let address = try #require(vm.addresses.first, "\(vm)")
        #expect(address.mac == mac)
        #expect(address.ip.hasPrefix(network.subnet + "."), "\(address.ip) is in \(network.subnet).0/24")
        let last = Int(address.ip.split(separator: ".").last ?? "") ?? 0
        #expect((100...199).contains(last), "from the DHCP range: \(address.ip)")
        #expect(address.prefix == 24)
        let seen = try console.run("ip -4 addr show eth0")
        #expect(seen.contains("inet \(address.ip)/24"), "the guest has the address status shows: \(seen)")
        let text = try CLI.run("status", workspace.path)
        #expect(text.stdout.contains("\(address.ip)/24"), "\(text.stdout)")
    }
}
