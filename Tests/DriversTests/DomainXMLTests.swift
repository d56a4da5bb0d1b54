import Foundation
import Testing
import TestSupport
@testable import Drivers
import Spec

@Suite("Domain XML")
struct DomainXMLTests {
    let kvmHost = HostCapabilities(arch: "x86_64", hvmDomainTypes: ["qemu", "kvm"])
    let tcgHost = HostCapabilities(arch: "x86_64", hvmDomainTypes: ["qemu"])

    func spec(_ name: String = "web-1") -> VirtualMachineSpec {
        VirtualMachineSpec(name: name, host: "kvm-01", vcpus: 2, maxVcpus: 4, memory: .mebibytes(128),
                           maxMemory: .mebibytes(256), description: "a <b> & 'c' \"d\"", labels: ["tier": "web&db"])
    }

    @Test func domainTypeComesFromCapabilities() throws {
        #expect(try DomainXML.kvm(for: spec(), capabilities: kvmHost).contains("<domain type='kvm'>"))
        #expect(try DomainXML.kvm(for: spec(), capabilities: tcgHost).contains("<domain type='qemu'>"))
    }

    @Test func valuesAreEscaped() throws {
        let xml = try DomainXML.kvm(for: spec(), capabilities: kvmHost)
        #expect(xml.contains("<description>a &lt;b&gt; &amp; &apos;c&apos; &quot;d&quot;</description>"))
        #expect(xml.contains("<vmplan:label key='tier'>web&amp;db</vmplan:label>"))
        #expect(!xml.contains("<b>"))
    }

    @Test func controlCharactersCannotBreakTheDocument() {
        #expect(XMLWriter.escape("a\u{1}b\u{0}c") == "a\u{FFFD}b\u{FFFD}c")
    }

    @Test func unsafeNamesNeverReachXML() {
        for name in ["a<b", "x'/>", "../etc", ""] {
            #expect(throws: DriverError.self) { try DomainXML.kvm(for: spec(name), capabilities: kvmHost) }
        }
    }

    @Test func sizesAndCountsAreWrittenInLibvirtUnits() throws {
        let xml = try DomainXML.kvm(for: spec(), capabilities: kvmHost)
        #expect(xml.contains("<memory unit='KiB'>262144</memory>"))
        #expect(xml.contains("<currentMemory unit='KiB'>131072</currentMemory>"))
        #expect(xml.contains("<vcpu placement='static' current='2'>4</vcpu>"))
        #expect(xml.contains("xmlns:vmplan='urn:vmplan:1' name='web-1' hash='\(spec().specHash)'"))
    }

    @Test func readsBackWhatItWrites() throws {
        var original = spec()
        original.firmware = .uefi
        let reader = try DomainXMLReader.read(DomainXML.kvm(for: original, capabilities: kvmHost))
        #expect(reader.owner == OwnershipMarker(resource: "web-1", specHash: original.specHash))
        #expect(reader.spec(host: "kvm-01", running: true) == original)
    }

    @Test func aDomainWithoutMarkerHasNoOwner() throws {
        let reader = try DomainXMLReader.read("""
            <domain type='kvm'><name>hand-made</name><memory unit='KiB'>65536</memory><vcpu>1</vcpu>
            <metadata><other:x xmlns:other='urn:other'/></metadata></domain>
            """)
        #expect(reader.owner == nil)
        #expect(reader.spec(host: "h", running: false).memory == .mebibytes(64))
    }

    @Test(.enabled(if: TestHost.commandExists("virt-xml-validate"), "needs virt-xml-validate (apt libxml2-utils, libvirt-clients)"))
    func generatedXMLValidatesAgainstLibvirtSchema() throws {
        for firmware in Firmware.allCases {
            var vm = spec()
            vm.firmware = firmware
            let file = FileManager.default.temporaryDirectory.appendingPathComponent("vmplan-\(UUID().uuidString).xml")
            try DomainXML.kvm(for: vm, capabilities: kvmHost).write(to: file, atomically: true, encoding: .utf8)
            defer { try? FileManager.default.removeItem(at: file) }
            let result = try TestHost.run("virt-xml-validate", [file.path, "domain"])
            #expect(result.status == 0, "\(result.stdout)\(result.stderr)")
        }
    }

    @Test func capabilitiesChooseKVMOnlyWhenOffered() throws {
        let xml = """
            <capabilities><host><cpu><arch>x86_64</arch></cpu></host>
            <guest><os_type>hvm</os_type><arch name='x86_64'><domain type='qemu'/><domain type='kvm'/></arch></guest>
            <guest><os_type>hvm</os_type><arch name='i686'><domain type='qemu'/></arch></guest>
            </capabilities>
            """
        let caps = try HostCapabilities(parsing: xml)
        #expect(caps.arch == "x86_64")
        #expect(caps.preferredDomainType == "kvm")
        let tcgOnly = try HostCapabilities(parsing: xml.replacingOccurrences(of: "<domain type='kvm'/>", with: ""))
        #expect(tcgOnly.preferredDomainType == "qemu")
    }
}
