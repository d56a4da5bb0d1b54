import Foundation
import Testing
import TestSupport
import Drivers
import Spec

/// Against the real private libvirtd (scripts/host-up). Results are read back with virsh, not through vmplan.
@Suite("LibvirtDriver on a real libvirtd", .enabled(if: TestHost.shouldRun(), "needs a libvirt host: run scripts/host-up"))
struct LibvirtDriverTests {
    let quickStop = StopPolicy(timeout: .seconds(1), forceAfterTimeout: true)

    func connect() async throws -> LibvirtDriver {
        try await LibvirtDriver.connect(host: "local", uri: TestHost.uri)
    }

    @Test func defineStartUpdateLiveAndDelete() async throws {
        let name = TestHost.uniqueName("drv")
        defer { TestHost.removeDomains([name]) }
        let driver = try await connect()
        var spec = VirtualMachineSpec(name: name, host: "local", vcpus: 1, maxVcpus: 2, memory: .mebibytes(64),
                                      maxMemory: .mebibytes(128), state: .running, labels: ["tier": "test"])
        try await driver.define(spec, owner: "test-state")

        let xml = try #require(try TestHost.inactiveXML(name))
        #expect(TestHost.element("currentMemory", in: xml) == "65536")
        #expect(TestHost.element("memory", in: xml) == "131072")
        #expect(TestHost.openingTag("vcpu", in: xml)?.contains("current='1'") == true)
        #expect(TestHost.element("vcpu", in: xml) == "2")
        #expect(xml.contains("urn:vmplan:1"))
        #expect(try TestHost.domainState(name) == "shut off")

        try await driver.start(name)
        #expect(try TestHost.domainState(name) == "running")
        let observed = try #require(try await driver.observe().first { $0.name == name })
        #expect(observed.isManaged)
        #expect(observed.owner?.state == "test-state", "the marker names the state that defined it")
        #expect(observed.spec.labels == ["tier": "test"])
        let id = try #require(observed.id)

        spec.vcpus = 2
        spec.memory = .mebibytes(96)
        try await driver.update(spec, owner: "test-state", progress: nil)
        let after = try TestHost.virsh("vcpucount", name, "--live", "--current").stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        #expect(after == "2")
        let config = try #require(try TestHost.inactiveXML(name))
        #expect(TestHost.element("currentMemory", in: config) == "98304")
        let again = try #require(try await driver.observe().first { $0.name == name })
        #expect(again.id == id, "a live change must not restart the domain")

        try await driver.delete(name, policy: quickStop, progress: nil)
        #expect(try TestHost.domainState(name) == nil)
    }

    @Test func refusesToTouchADomainItDoesNotOwn() async throws {
        let name = TestHost.uniqueName("foreign")
        defer { TestHost.removeDomains([name]) }
        let file = FileManager.default.temporaryDirectory.appendingPathComponent("\(name).xml")
        try """
            <domain type='qemu'><name>\(name)</name><memory unit='KiB'>65536</memory><vcpu>1</vcpu>
            <os><type arch='x86_64'>hvm</type></os></domain>
            """.write(to: file, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(at: file) }
        #expect(try TestHost.virsh("define", file.path).status == 0)

        let driver = try await connect()
        let observed = try #require(try await driver.observe().first { $0.name == name })
        #expect(!observed.isManaged)
        let spec = VirtualMachineSpec(name: name, host: "local", vcpus: 2, memory: .mebibytes(128))
        await #expect(throws: DriverError.self) { try await driver.update(spec, owner: "test-state", progress: nil) }
        await #expect(throws: DriverError.self) { try await driver.delete(name, policy: quickStop, progress: nil) }
        await #expect(throws: DriverError.self) { try await driver.start(name) }
        await #expect(throws: DriverError.self) { try await driver.define(spec, owner: "test-state") }
        let xml = try #require(try TestHost.inactiveXML(name), "the foreign domain must still exist")
        #expect(TestHost.element("memory", in: xml) == "65536")
        #expect(try TestHost.domainState(name) == "shut off")
    }

    /// The ownership check reads only the marker (virDomainGetMetadata): a marker for another
    /// resource, or metadata of another namespace only, is not vmplan's for this domain.
    @Test func aMarkerForAnotherResourceIsNotOwnership() async throws {
        let copied = TestHost.uniqueName("copied")
        let other = TestHost.uniqueName("othermeta")
        defer { TestHost.removeDomains([copied, other]) }
        let metadata = [
            copied: "<vmplan:resource xmlns:vmplan='urn:vmplan:1' name='someone-else' hash='0' state='test-state'/>",
            other: "<app:owner xmlns:app='urn:example:other' name='\(other)'/>",
        ]
        for (name, element) in metadata {
            let file = FileManager.default.temporaryDirectory.appendingPathComponent("\(name).xml")
            try """
                <domain type='qemu'><name>\(name)</name><metadata>\(element)</metadata><memory unit='KiB'>65536</memory>
                <vcpu>1</vcpu><os><type arch='x86_64'>hvm</type></os></domain>
                """.write(to: file, atomically: true, encoding: .utf8)
            defer { try? FileManager.default.removeItem(at: file) }
            #expect(try TestHost.virsh("define", file.path).status == 0)
        }
        let driver = try await connect()
        for name in [copied, other] {
            await #expect { try await driver.delete(name, policy: quickStop, progress: nil) } throws: { error in
                "\(error)".contains("is not managed by vmplan; it was left untouched")
            }
            #expect(try TestHost.domainState(name) == "shut off", "\(name) must still be defined")
        }
        // A new definition under a taken name is refused by libvirt itself, and said plainly.
        let spec = VirtualMachineSpec(name: copied, host: "local", vcpus: 1, memory: .mebibytes(64), state: .stopped)
        await #expect { try await driver.define(spec, owner: "test-state") } throws: { error in
            "\(error)".contains("a domain named \(copied) already exists")
        }
        #expect(try TestHost.inactiveXML(copied)?.contains("someone-else") == true, "the existing definition is unchanged")
    }

    @Test func stopWithoutForceLeavesAnUnresponsiveGuestRunning() async throws {
        let name = TestHost.uniqueName("noforce")
        defer { TestHost.removeDomains([name]) }
        let driver = try await connect()
        try await driver.define(VirtualMachineSpec(name: name, host: "local", vcpus: 1, memory: .mebibytes(64)), owner: "test-state")
        try await driver.start(name)
        // No guest OS answers ACPI, so the graceful stop runs out of time.
        let policy = StopPolicy(timeout: .milliseconds(500), forceAfterTimeout: false)
        await #expect(throws: DriverError.self) { try await driver.stop(name, policy: policy, progress: nil) }
        #expect(try TestHost.domainState(name) == "running")
        try await driver.stop(name, policy: quickStop, progress: nil)
        #expect(try TestHost.domainState(name) == "shut off")
    }

    @Test func mdevctlIsLookedForOnlyWhereVmplanCanSee() async throws {
        let local = try await connect()
        #expect(local.features.mdevctl == (TestHost.uri.hasPrefix("qemu:///") ? TestHost.commandExists("mdevctl") : nil))
        let remoteLooking = try await LibvirtDriver.connect(host: "t", uri: "test:///default")
        #expect(remoteLooking.features.mdevctl == nil)
        let xen = try await LibvirtDriver.connect(host: "t", uri: "test:///default", flavour: .xen)
        #expect(!xen.features.mediatedDevices && xen.features.mdevctl == nil && xen.features.changeRules == .xen)
    }

    @Test func unreachableHostIsATypedConnectionError() async {
        await #expect {
            _ = try await LibvirtDriver.connect(host: "nowhere", uri: "qemu+unix:///system?socket=/nonexistent/sock")
        } throws: { error in
            (error as? DriverError)?.code == .connection
        }
    }
}
