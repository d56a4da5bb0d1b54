import Foundation
import Testing
import TestSupport
@testable import Drivers
import Spec

@Suite("Direct kernel boot and acceleration of KVM domains")
struct DirectBootXMLTests {
    let kvmHost = HostCapabilities(arch: "x86_64", hvmDomainTypes: ["qemu", "kvm"])

    func spec(_ boot: BootSpec?) -> VirtualMachineSpec {
        VirtualMachineSpec(name: "guest-1", host: "kvm-01", vcpus: 1, memory: .mebibytes(128), maxMemory: .mebibytes(256), boot: boot)
    }

    static let boots: [BootSpec] = [
        BootSpec(type: .direct, kernel: "/var/cache/vmplan-guest/image/vmlinuz", initrd: "/var/cache/vmplan-guest/image/initrd.cpio.gz",
                 cmdline: "console=ttyS0"),
        BootSpec(type: .direct, kernel: "/srv/kernels/vmlinuz"),
        // What XML would take for markup is escaped, in paths and the command line.
        BootSpec(type: .direct, kernel: "/srv/a&b/<vmlinuz>", initrd: "/srv/it's/initrd", cmdline: "root=\"/dev/vda\" x<y & z='1'"),
    ]

    @Test(arguments: boots)
    func readsBackWhatItWrites(_ boot: BootSpec) throws {
        let xml = try DomainXML.kvm(for: spec(boot), capabilities: kvmHost)
        #expect(try DomainXMLReader.read(xml).spec(host: "kvm-01", running: true) == spec(boot))
        #expect(!xml.contains("<boot dev="), "a kernel started directly needs no boot device: \(xml)")
    }

    @Test func theOSElementNamesTheFilesEscaped() throws {
        let xml = try DomainXML.kvm(for: spec(Self.boots[2]), capabilities: kvmHost)
        #expect(xml.contains("<kernel>/srv/a&amp;b/&lt;vmlinuz&gt;</kernel>"), "\(xml)")
        #expect(xml.contains("<initrd>/srv/it&apos;s/initrd</initrd>"))
        #expect(xml.contains("<cmdline>root=&quot;/dev/vda&quot; x&lt;y &amp; z=&apos;1&apos;</cmdline>"))
        #expect(!(try DomainXML.kvm(for: spec(nil), capabilities: kvmHost).contains("<kernel>")))
        #expect(try DomainXML.kvm(for: spec(nil), capabilities: kvmHost).contains("<boot dev='hd'/>"))
    }

    @Test func whatCannotBootNeverReachesLibvirt() {
        for boot in [BootSpec(type: .direct, kernel: "/var/lib/../../etc/shadow"), BootSpec(type: .direct, kernel: "/srv/k", initrd: "initrd"),
                     BootSpec(type: .pv, kernel: "/srv/k"), BootSpec(type: .direct)] {
            #expect(throws: DriverError.self, "\(boot)") { try DomainXML.kvm(for: spec(boot), capabilities: kvmHost) }
        }
        let xenHost = HostCapabilities(arch: "x86_64", hvmDomainTypes: ["xen"])
        #expect(throws: DriverError.self) { try DomainXML.xen(for: spec(Self.boots[0]), capabilities: xenHost) }
    }

    @Test func aNewKernelIsARestartChange() {
        #expect(ChangeRules.kvm.change(for: .boot) == .restart)
    }

    @Test(.enabled(if: TestHost.commandExists("virt-xml-validate"), "needs virt-xml-validate (apt libxml2-utils, libvirt-clients)"),
          arguments: boots)
    func validatesAgainstLibvirtSchema(_ boot: BootSpec) throws {
        let file = FileManager.default.temporaryDirectory.appendingPathComponent("vmplan-direct-\(UUID().uuidString).xml")
        try DomainXML.kvm(for: spec(boot), capabilities: kvmHost).write(to: file, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(at: file) }
        let result = try TestHost.run("virt-xml-validate", [file.path, "domain"])
        #expect(result.status == 0, "\(result.stdout)\(result.stderr)")
    }

    /// A Host with `acceleration: tcg` gets QEMU (TCG) domains even where libvirt offers KVM.
    @Test(.enabled(if: TestHost.shouldRun(), "needs a libvirt host: run scripts/host-up"))
    func aHostThatAsksForTCGGetsQEMUDomains() async throws {
        let host = HostSpec(name: "local", uri: TestHost.uri, hypervisor: .kvm, acceleration: .tcg)
        let driver = try await LibvirtDriver.connect(to: host)
        #expect(driver.capabilities.preferredDomainType == "qemu")
        #expect(try DomainXML.kvm(for: spec(nil), capabilities: driver.capabilities).contains("<domain type='qemu'>"))
    }
}
