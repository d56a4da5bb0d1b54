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

    static let cpus: [CPUSpec] = [
        CPUSpec(mode: .hostPassthrough, topology: CPUSpec.Topology(sockets: 1, cores: 2, threads: 1)),
        CPUSpec(mode: .hostModel),
        CPUSpec(mode: .custom, model: "Skylake-Server", topology: CPUSpec.Topology(sockets: 2, cores: 1, threads: 1)),
    ]

    @Test(arguments: cpus)
    func theCPUReadsBackAndValidates(_ cpu: CPUSpec) throws {
        var vm = spec()
        vm.vcpus = 2
        vm.cpu = cpu
        let xml = try DomainXML.kvm(for: vm, capabilities: kvmHost)
        #expect(try DomainXMLReader.read(xml).spec(host: "kvm-01", running: true) == vm)
        // libvirt's spelling of what it adds (dies, check, migratable) reads back the same.
        let libvirts = xml.replacingOccurrences(of: "<cpu mode='host-passthrough'>", with: "<cpu mode='host-passthrough' check='none' migratable='on'>")
            .replacingOccurrences(of: "<topology sockets=", with: "<topology dies='1' sockets=")
        #expect(try DomainXMLReader.read(libvirts).spec(host: "kvm-01", running: true).cpu == cpu)
        guard TestHost.commandExists("virt-xml-validate") else { return }
        let file = FileManager.default.temporaryDirectory.appendingPathComponent("vmplan-\(UUID().uuidString).xml")
        try xml.write(to: file, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(at: file) }
        let result = try TestHost.run("virt-xml-validate", [file.path, "domain"])
        #expect(result.status == 0, "\(result.stdout)\(result.stderr)")
    }

    @Test func aDomainWithoutMarkerHasNoOwner() throws {
        let reader = try DomainXMLReader.read("""
            <domain type='kvm'><name>hand-made</name><memory unit='KiB'>65536</memory><vcpu>1</vcpu>
            <metadata><other:x xmlns:other='urn:other'/></metadata></domain>
            """)
        #expect(reader.owner == nil)
        #expect(reader.spec(host: "h", running: false).memory == .mebibytes(64))
    }

    @Test func aTruncatedDomainIsAnErrorNotAPartialSpec() throws {
        let xml = try DomainXML.kvm(for: spec(), capabilities: kvmHost)
        expectTruncationRejected(xml.cut(before: "</domain>"), what: "domain", inside: "<domain>") { _ = try DomainXMLReader.read($0) }
        for cut in [xml.cut(after: "</name>"), xml.cut(after: "<vcpu"), ""] {
            expectTruncationRejected(cut, what: "domain") { _ = try DomainXMLReader.read($0) }
        }
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

    func gpuSpec() -> VirtualMachineSpec {
        var vm = spec("gpu-vm")
        vm.gpus = [GPURequest(pci: PCIAddress(parsing: "0000:3b:00.0")), GPURequest(pci: PCIAddress(parsing: "0000:65:00.1"), allowNonGPU: true)]
        vm.vgpus = [VGPURequest(type: "nvidia-222", uuid: VGPURequest.derivedUUID(vm: "gpu-vm", index: 0), display: true),
                    VGPURequest(type: "nvidia-230", uuid: VGPURequest.derivedUUID(vm: "gpu-vm", index: 1))]
        return vm
    }

    @Test func hostdevsForGPUsAndVGPUs() throws {
        let xml = try DomainXML.kvm(for: gpuSpec(), capabilities: kvmHost)
        #expect(xml.contains("<hostdev mode='subsystem' type='pci' managed='yes'>"))
        #expect(xml.contains("<address domain='0x0000' bus='0x3b' slot='0x00' function='0x0'/>"))
        #expect(xml.contains("<address domain='0x0000' bus='0x65' slot='0x00' function='0x1'/>"))
        #expect(xml.contains("<hostdev mode='subsystem' type='mdev' model='vfio-pci' display='on'>"))
        #expect(xml.contains("<address uuid='\(VGPURequest.derivedUUID(vm: "gpu-vm", index: 1))'/>"))
        let read = try DomainXMLReader.read(xml).spec(host: "h", running: false)
        #expect(read.gpus.compactMap(\.pci).map(\.description) == ["0000:3b:00.0", "0000:65:00.1"])
        #expect(read.vgpus.map(\.uuid) == gpuSpec().vgpus.map(\.uuid))
        #expect(read.vgpus.map(\.display) == [true, false])
    }

    @Test func derivedVGPUUUIDsAreStableVersion5UUIDs() {
        let uuid = VGPURequest.derivedUUID(vm: "web-1", index: 0)
        #expect(uuid == VGPURequest.derivedUUID(vm: "web-1", index: 0))
        #expect(uuid != VGPURequest.derivedUUID(vm: "web-1", index: 1))
        #expect(uuid != VGPURequest.derivedUUID(vm: "web-2", index: 0))
        #expect(VGPURequest.canonicalUUID(uuid) == uuid)
        let chars = Array(uuid)
        #expect(chars[14] == "5", "version 5")
        #expect("89ab".contains(chars[19]), "RFC 4122 variant")
    }

    @Test(.enabled(if: TestHost.commandExists("virt-xml-validate"), "needs virt-xml-validate (apt libxml2-utils, libvirt-clients)"))
    func gpuDomainXMLValidatesAgainstLibvirtSchema() throws {
        var cases = [gpuSpec()]
        var onlyVGPU = gpuSpec()
        onlyVGPU.gpus = []
        cases.append(onlyVGPU)
        var onlyGPU = gpuSpec()
        onlyGPU.vgpus = []
        cases.append(onlyGPU)
        for vm in cases {
            let file = FileManager.default.temporaryDirectory.appendingPathComponent("vmplan-\(UUID().uuidString).xml")
            try DomainXML.kvm(for: vm, capabilities: kvmHost).write(to: file, atomically: true, encoding: .utf8)
            defer { try? FileManager.default.removeItem(at: file) }
            let result = try TestHost.run("virt-xml-validate", [file.path, "domain"])
            #expect(result.status == 0, "\(result.stdout)\(result.stderr)")
        }
        let device = FileManager.default.temporaryDirectory.appendingPathComponent("vmplan-\(UUID().uuidString).xml")
        try DeviceXML.mediatedDevice(uuid: gpuSpec().vgpus[0].uuid, type: "nvidia-222", parent: try #require(PCIAddress(parsing: "0000:3b:00.0")))
            .write(to: device, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(at: device) }
        let result = try TestHost.run("virt-xml-validate", [device.path, "nodedev"])
        #expect(result.status == 0, "\(result.stdout)\(result.stderr)")
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
