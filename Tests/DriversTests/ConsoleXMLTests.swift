import Foundation
import Testing
import TestSupport
@testable import Drivers
import Spec

@Suite("Domain XML: serial console, graphics, guest agent")
struct ConsoleXMLTests {
    let kvmHost = HostCapabilities(arch: "x86_64", hvmDomainTypes: ["qemu", "kvm"])

    func spec(graphics: GraphicsSpec? = nil, guestAgent: Bool = false) -> VirtualMachineSpec {
        VirtualMachineSpec(name: "web-1", host: "kvm-01", vcpus: 1, memory: .mebibytes(64), autostart: true,
                           graphics: graphics, guestAgent: guestAgent)
    }

    func devices(_ xml: String) -> Substring {
        xml[xml.range(of: "<devices>")!.lowerBound..<xml.range(of: "</devices>")!.upperBound]
    }

    @Test func everyKVMDomainHasASerialConsoleAndNothingElseByDefault() throws {
        let xml = try DomainXML.kvm(for: spec(), capabilities: kvmHost)
        #expect(xml.contains("<serial type='pty'>\n      <target port='0'/>\n    </serial>"), "\(xml)")
        #expect(xml.contains("<console type='pty'>\n      <target type='serial' port='0'/>\n    </console>"))
        #expect(!xml.contains("<graphics") && !xml.contains("<channel") && !xml.contains("<video"))
    }

    @Test(arguments: [GraphicsSpec(type: .vnc), GraphicsSpec(type: .spice, listen: "::1"), GraphicsSpec(type: .vnc, listen: "192.0.2.7")])
    func graphicsAreWrittenAndReadBack(_ graphics: GraphicsSpec) throws {
        let xml = try DomainXML.kvm(for: spec(graphics: graphics), capabilities: kvmHost)
        #expect(xml.contains("<graphics type='\(graphics.type.rawValue)' autoport='yes'>\n      <listen type='address' address='\(graphics.listen)'/>"), "\(xml)")
        let read = try DomainXMLReader.read(xml).spec(host: "kvm-01", running: true, autostart: true)
        #expect(read == spec(graphics: graphics))
    }

    @Test func liveGraphicsAsLibvirtReportsThemReadBack() throws {
        let reader = try DomainXMLReader.read("""
            <domain type='kvm'><name>x</name><memory unit='KiB'>65536</memory><vcpu>1</vcpu><devices>
            <graphics type='vnc' port='5900' autoport='yes' listen='127.0.0.1'><listen type='address' address='127.0.0.1'/></graphics>
            <graphics type='spice' autoport='yes'><listen type='address' address='0.0.0.0'/></graphics>
            <channel type='unix'><source mode='bind' path='/var/lib/libvirt/qemu/channel/target/d/org.qemu.guest_agent.0'/>
            <target type='virtio' name='org.qemu.guest_agent.0' state='connected'/></channel>
            <channel type='spicevmc'><target type='virtio' name='com.redhat.spice.0'/></channel>
            </devices></domain>
            """)
        #expect(reader.graphics == GraphicsSpec(type: .vnc), "the first display counts")
        #expect(reader.guestAgent && reader.guestAgentConnected)
        let noAddress = try DomainXMLReader.read("<domain type='kvm'><name>x</name><devices><graphics type='vnc' port='-1'/></devices></domain>")
        #expect(noAddress.graphics?.listen == "qemu.conf default")
        let disconnected = try DomainXMLReader.read("""
            <domain type='kvm'><name>x</name><devices><channel type='unix'><target type='virtio' name='org.qemu.guest_agent.0' state='disconnected'/></channel></devices></domain>
            """)
        #expect(disconnected.guestAgent && !disconnected.guestAgentConnected)
    }

    @Test func listenAddressesAreEscaped() throws {
        var xml = XMLWriter()
        var vm = spec()
        vm.graphics = GraphicsSpec(type: .vnc, listen: "1'/><x a='")
        ConsoleXML.writeGraphics(into: &xml, spec: vm)
        #expect(xml.text.contains("address='1&apos;/&gt;&lt;x a=&apos;'"), "\(xml.text)")
    }

    @Test func aDisplayVGPUGetsAVNCConsoleUnlessGraphicsSayOtherwise() throws {
        var vm = spec()
        vm.vgpus = [VGPURequest(type: "nvidia-222", uuid: VGPURequest.derivedUUID(vm: "web-1", index: 0), display: true)]
        let xml = try DomainXML.kvm(for: vm, capabilities: kvmHost)
        #expect(xml.contains("<graphics type='vnc' autoport='yes'>\n      <listen type='address' address='127.0.0.1'/>"))
        #expect(xml.contains("<model type='none'/>"))
        #expect(try DomainXMLReader.read(xml).spec(host: "kvm-01", running: true).graphics == nil, "no graphics in the manifest, none read back")
        vm.graphics = GraphicsSpec(type: .spice)
        let spice = try DomainXML.kvm(for: vm, capabilities: kvmHost)
        #expect(spice.components(separatedBy: "<graphics").count == 2 && spice.contains("<graphics type='spice'"))
        #expect(try DomainXMLReader.read(spice).spec(host: "kvm-01", running: true).graphics == GraphicsSpec(type: .spice))
    }

    @Test func theGuestAgentChannelIsWrittenAndReadBack() throws {
        let xml = try DomainXML.kvm(for: spec(guestAgent: true), capabilities: kvmHost)
        #expect(xml.contains("<channel type='unix'>\n      <target type='virtio' name='org.qemu.guest_agent.0'/>\n    </channel>"), "\(xml)")
        #expect(try DomainXMLReader.read(xml).spec(host: "kvm-01", running: true, autostart: true) == spec(guestAgent: true))
    }

    @Test func autostartIsNotInTheXMLButWhatLibvirtSays() throws {
        let reader = try DomainXMLReader.read(DomainXML.kvm(for: spec(), capabilities: kvmHost))
        #expect(reader.spec(host: "kvm-01", running: true, autostart: false).autostart == false)
        #expect(reader.spec(host: "kvm-01", running: true).autostart == nil)
    }

    @Test func aRedefineReplacesTheDisplayTheAgentChannelAndTheirCardButKeepsOtherChannels() throws {
        let current = """
            <domain type='kvm'><name>web</name><devices>
            <serial type='pty'><target type='isa-serial' port='0'/></serial><console type='pty'><target type='serial' port='0'/></console>
            <channel type='unix'><target type='virtio' name='org.qemu.guest_agent.0'/></channel>
            <channel type='spicevmc'><target type='virtio' name='com.redhat.spice.0'/></channel>
            <graphics type='vnc' port='-1' autoport='yes'/>
            <audio id='1' type='none'/>
            <video><model type='virtio' heads='1' primary='yes'/></video>
            </devices></domain>
            """
        let kept = try UnmanagedDevices.extract(from: current, keepingVideo: false)
        #expect(kept.count == 1 && kept[0].contains("com.redhat.spice.0"), "\(kept)")
        let withCard = try UnmanagedDevices.extract(from: current, keepingVideo: true)
        #expect(withCard.count == 2 && withCard[1].hasPrefix("<video"), "a display keeps the card chosen for it: \(withCard)")
    }

    @Test(.enabled(if: TestHost.commandExists("virt-xml-validate"), "needs virt-xml-validate (apt libxml2-utils, libvirt-clients)"))
    func consoleXMLValidatesAgainstLibvirtSchema() throws {
        for vm in [spec(graphics: GraphicsSpec(type: .vnc), guestAgent: true), spec(graphics: GraphicsSpec(type: .spice, listen: "::1"))] {
            let file = FileManager.default.temporaryDirectory.appendingPathComponent("vmplan-\(UUID().uuidString).xml")
            try DomainXML.kvm(for: vm, capabilities: kvmHost).write(to: file, atomically: true, encoding: .utf8)
            defer { try? FileManager.default.removeItem(at: file) }
            let result = try TestHost.run("virt-xml-validate", [file.path, "domain"])
            #expect(result.status == 0, "\(result.stdout)\(result.stderr)")
        }
    }
}
