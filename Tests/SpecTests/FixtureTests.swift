import Foundation
import Testing
@testable import Spec

@Suite("Fixture manifests")
struct FixtureTests {
    let good = fixturesPath + "/good"

    @Test("a directory tree with nested dirs, multi-document files, .yml and .yaml loads")
    func goodTreeLoads() throws {
        let manifest = try ManifestLoader.load(path: good)
        #expect(manifest.hosts.map(\.value.name) == ["kvm-01", "xen-01"])
        // Sorted path order: hosts.yaml, vms/nested/db.yaml, vms/web.yml.
        #expect(manifest.virtualMachines.map(\.value.name) == ["db-1", "web-1", "web-2"])

        let kvm = try #require(manifest.host(named: "kvm-01"))
        #expect(kvm == HostSpec(name: "kvm-01", uri: "qemu:///system", hypervisor: .kvm,
                                labels: ["rack": "r1", "zone": "eu-west/a"]))
        #expect(manifest.host(named: "xen-01")?.uri == "xen+ssh://root@xen-01/system")
        #expect(manifest.host(named: "xen-01")?.hypervisor == .xen)
    }

    @Test("values and defaults of virtual machines")
    func vmValuesAndDefaults() throws {
        let manifest = try ManifestLoader.load(path: good)
        let vms = Dictionary(uniqueKeysWithValues: manifest.virtualMachines.map { ($0.value.name, $0.value) })
        #expect(vms["web-1"] == VirtualMachineSpec(
            name: "web-1", host: "kvm-01", vcpus: 2, maxVcpus: 4,
            memory: .mebibytes(512), maxMemory: .gibibytes(1), firmware: .uefi, state: .stopped,
            description: "Front web server", labels: ["tier": "web"], autostart: false))
        let web2 = try #require(vms["web-2"])
        #expect(web2.firmware == .bios)
        #expect(web2.state == .running)
        #expect(web2.autostart == true, "a running VM starts with its host unless the manifest says otherwise")
        #expect(web2.maxVcpus == nil)
        #expect(web2.maxMemory == nil)
        #expect(web2.description == nil)
        #expect(web2.labels == [:])
        #expect(web2.memory == .mebibytes(128))
        #expect(vms["db-1"]?.memory == .gibibytes(8))
        #expect(vms["db-1"]?.host == "xen-01")
    }

    @Test("each document is located at its first key")
    func documentLocations() throws {
        let manifest = try ManifestLoader.load(path: good)
        #expect(manifest.hosts.map(\.location.description) == [
            "\(good)/hosts.yaml:2:1", "\(good)/hosts.yaml:12:1",
        ])
        #expect(manifest.virtualMachines.map(\.location.description) == [
            "\(good)/vms/nested/db.yaml:1:1", "\(good)/vms/web.yml:1:1", "\(good)/vms/web.yml:17:1",
        ])
    }

    @Test("hidden directories and other extensions are skipped")
    func discovery() throws {
        let paths = try ManifestLoader.manifestPaths(at: good)
        #expect(paths == [
            "\(good)/hosts.yaml", "\(good)/vms/nested/db.yaml", "\(good)/vms/web.yml",
        ])
    }

    @Test("errors in two files are all reported together, sorted")
    func badTree() {
        let bad = fixturesPath + "/bad"
        var reported: [String] = []
        do {
            _ = try ManifestLoader.load(path: bad)
        } catch let error as ManifestError {
            reported = error.diagnostics.map(\.description)
            #expect(error.description.hasSuffix("4 errors in manifests; nothing was changed."))
        } catch {
            Issue.record("unexpected error \(error)")
        }
        #expect(reported == [
            "\(bad)/hosts.yaml:7:15: error: hypervisor must be one of kvm, xen; got 'vmware'",
            "\(bad)/vms.yaml:6:3: error: missing required field 'vcpus' in VirtualMachine spec",
            "\(bad)/vms.yaml:7:3: error: unknown field 'vcpu' in VirtualMachine spec; did you mean 'vcpus'?",
            "\(bad)/vms.yaml:8:11: error: memory must be a size with a binary unit such as 512MiB or 8GiB; got '8'",
        ])
    }

    @Test("a single file can be loaded by path")
    func singleFile() throws {
        let manifest = try ManifestLoader.load(path: good + "/hosts.yaml")
        #expect(manifest.hosts.count == 2)
        #expect(manifest.virtualMachines.isEmpty)
    }
}
