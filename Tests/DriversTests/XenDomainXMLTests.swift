import Foundation
import Testing
import TestSupport
@testable import Drivers
import Spec

@Suite("Xen domain XML")
struct XenDomainXMLTests {
    let xenHost = HostCapabilities(arch: "x86_64", hvmDomainTypes: ["xen"])

    func spec(_ boot: BootSpec?) -> VirtualMachineSpec {
        VirtualMachineSpec(name: "xen-guest", host: "xen-01", vcpus: 1, maxVcpus: 2, memory: .mebibytes(64), maxMemory: .mebibytes(128),
                           description: "a <pv> guest", gpus: [GPURequest(pci: PCIAddress(parsing: "0000:03:00.0"), allowNonGPU: true)], boot: boot)
    }

    static let boots: [BootSpec?] = [
        BootSpec(type: .pv, kernel: "/var/lib/vmplan/guest/vmlinuz", initrd: "/var/lib/vmplan/guest/initrd.gz", cmdline: "console=hvc0 quiet"),
        BootSpec(type: .pv, bootloader: "/usr/lib/xen-4.17/bin/pygrub"),
        BootSpec(type: .pvh, kernel: "/var/lib/vmplan/guest/vmlinuz", cmdline: "console=hvc0"),
        nil,
    ]

    @Test(arguments: boots)
    func readsBackWhatItWrites(_ boot: BootSpec?) throws {
        let xml = try DomainXML.xen(for: spec(boot), capabilities: xenHost)
        #expect(xml.contains("<domain type='xen'>"))
        let read = try DomainXMLReader.read(xml)
        #expect(read.spec(host: "xen-01", running: true) == spec(boot))
    }

    @Test func machinesFollowTheBootType() throws {
        #expect(try DomainXML.xen(for: spec(Self.boots[0]), capabilities: xenHost).contains("<type arch='x86_64' machine='xenpv'>linux</type>"))
        #expect(try DomainXML.xen(for: spec(Self.boots[2]), capabilities: xenHost).contains("<type arch='x86_64' machine='xenpvh'>xenpvh</type>"))
        #expect(try DomainXML.xen(for: spec(nil), capabilities: xenHost).contains("<type arch='x86_64' machine='xenfv'>hvm</type>"))
        #expect(try DomainXML.xen(for: spec(Self.boots[1]), capabilities: xenHost).contains("<bootloader>/usr/lib/xen-4.17/bin/pygrub</bootloader>"))
    }

    @Test func whatLibxlCannotDoNeverReachesIt() {
        var uefi = spec(nil)
        uefi.firmware = .uefi
        #expect(throws: DriverError.self) { try DomainXML.xen(for: uefi, capabilities: xenHost) }
        var vgpu = spec(nil)
        vgpu.vgpus = [VGPURequest(type: "nvidia-222", uuid: VGPURequest.derivedUUID(vm: "x", index: 0))]
        #expect(throws: DriverError.self) { try DomainXML.xen(for: vgpu, capabilities: xenHost) }
        #expect(throws: DriverError.self) {
            try DomainXML.xen(for: spec(BootSpec(type: .pv, kernel: "/boot/../etc/shadow")), capabilities: xenHost)
        }
    }

    @Test(.enabled(if: TestHost.commandExists("virt-xml-validate"), "needs virt-xml-validate (apt libxml2-utils, libvirt-clients)"),
          arguments: boots)
    func validatesAgainstLibvirtSchema(_ boot: BootSpec?) throws {
        let file = FileManager.default.temporaryDirectory.appendingPathComponent("vmplan-xen-\(UUID().uuidString).xml")
        try DomainXML.xen(for: spec(boot), capabilities: xenHost).write(to: file, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(at: file) }
        let result = try TestHost.run("virt-xml-validate", [file.path, "domain"])
        #expect(result.status == 0, "\(result.stdout)\(result.stderr)")
    }
}
