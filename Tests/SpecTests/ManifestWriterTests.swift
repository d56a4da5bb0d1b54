import Testing
@testable import Spec

/// The manifests `vmplan import` writes: vmplan's own style, stable, and read back as the same specs.
@Suite("Manifest writer")
struct ManifestWriterTests {
    static let pool = StoragePoolSpec(name: "images", host: "h", path: "/var/lib/libvirt/images")
    static let root = VolumeSpec(name: "web-1.qcow2", pool: "images", capacity: .gibibytes(10), reclaim: .retain)
    static let seed = VolumeSpec(name: "web-1-seed", pool: "images", capacity: .kibibytes(374), format: .raw, reclaim: .retain, shareable: true)

    static var fullVM: VirtualMachineSpec {
        var spec = VirtualMachineSpec(
            name: "web-1", host: "h", vcpus: 2, maxVcpus: 4, memory: .mebibytes(1536), maxMemory: .gibibytes(4),
            firmware: .uefi, machine: .q35, state: .stopped, description: "Front end: \"web\"\n  second line\twith a tab",
            labels: ["tier": "web", "yes": "no"],
            gpus: [GPURequest(pci: PCIAddress(domain: 0, bus: 0xff, slot: 0x1f, function: 7)!, allowNonGPU: true)],
            vgpus: [VGPURequest(type: "nvidia-222", parent: PCIAddress(domain: 0, bus: 0x3b, slot: 0, function: 0)!,
                                uuid: "7d1f0c52-90a4-4f0b-9d8e-5c6b7a8f9e01", display: true)],
            disks: [DiskSpec(volume: "web-1.qcow2", pool: "images", boot: 1),
                    DiskSpec(volume: "web-1-seed", pool: "images", bus: .sata, device: .cdrom, readonly: true, format: .raw, shareable: true)],
            networks: [NetworkInterface(source: .network("default"), mac: "52:54:00:aa:bb:01"),
                       NetworkInterface(source: .bridge("br0"), model: .e1000e, mac: "52:54:00:aa:bb:02")],
            cpu: CPUSpec(mode: .hostPassthrough, topology: CPUSpec.Topology(sockets: 1, cores: 2, threads: 2)),
            autostart: true, graphics: GraphicsSpec(type: .spice, listen: "::1"), guestAgent: true,
            importing: DomainImport(uuid: "0a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d"))
        spec.lifecycle = Lifecycle(protect: true)
        return spec
    }

    static func files(_ vm: VirtualMachineSpec) -> [(path: String, text: String)] {
        [("host.yaml", hostDocument),
         ("pool.yaml", ManifestWriter.storagePool(pool)),
         ("vm.yaml", ManifestWriter.file([ManifestWriter.virtualMachine(vm, comments: ["Imported.", "cannot express:\n  - clock"]),
                                          ManifestWriter.volume(root), ManifestWriter.volume(seed)]))]
    }

    @Test func aVirtualMachineReadsBackAsTheSameSpec() throws {
        let manifest = try ManifestLoader.load(files: Self.files(Self.fullVM))
        let vm = try #require(manifest.virtualMachines.first?.value)
        #expect(vm == Self.fullVM)
        #expect(vm.specHash == Self.fullVM.specHash)
        #expect(manifest.storage.pool(named: "images") == Self.pool)
        #expect(manifest.storage.volume(named: "web-1.qcow2") == Self.root)
        #expect(manifest.storage.volume(named: "web-1-seed") == Self.seed)
    }

    @Test func defaultsAreLeftOutAndSizesHaveUnits() {
        let vm = VirtualMachineSpec(name: "small", host: "h", vcpus: 1, memory: .mebibytes(512),
                                    disks: [DiskSpec(volume: "small-root", pool: "images")],
                                    importing: DomainImport(uuid: "0a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d"))
        #expect(ManifestWriter.virtualMachine(vm) == """
            apiVersion: vmplan/v1
            kind: VirtualMachine
            metadata: {name: small}
            spec:
              host: h
              import: {uuid: 0a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d}
              vcpus: 1
              memory: 512MiB
              disks:
                - {volume: small-root}

            """)
        #expect(ManifestWriter.volume(Self.root).contains("spec: \n") == false)
        #expect(ManifestWriter.volume(Self.root).hasSuffix("spec:\n  pool: images\n  capacity: 10GiB\n  reclaim: retain\n"))
    }

    @Test func aNetworkIsWrittenInTheDocumentsOrderAndReadsBackAsTheSameSpec() throws {
        let lab = NetworkSpec(
            name: "lab", host: "h", mode: .nat, bridge: "virbr3", address: IPv4Interface(parsing: "198.18.3.1/24"),
            dhcp: DHCPSpec(range: .init(start: IPv4Address(parsing: "198.18.3.100")!, end: IPv4Address(parsing: "198.18.3.199")!),
                           hosts: [.init(mac: "52:54:00:00:00:07", ip: IPv4Address(parsing: "198.18.3.7")!, name: "web-1"),
                                   .init(mac: "52:54:00:00:00:06", ip: IPv4Address(parsing: "198.18.3.6")!)]),
            domain: "lab.test", mtu: 1400, importing: NetworkImport(uuid: "0a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d"))
        let text = ManifestWriter.network(lab, comments: ["Imported."])
        #expect(text == """
            # Imported.
            apiVersion: vmplan/v1
            kind: Network
            metadata: {name: lab}
            spec:
              host: h
              import: {uuid: 0a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d}
              mode: nat
              bridge: virbr3
              address: 198.18.3.1/24
              dhcp:
                range: {start: 198.18.3.100, end: 198.18.3.199}
                hosts:
                  - {mac: "52:54:00:00:00:06", ip: 198.18.3.6}
                  - {mac: "52:54:00:00:00:07", ip: 198.18.3.7, name: web-1}
              domain: lab.test
              mtu: 1400

            """)
        let manifest = try ManifestLoader.load(files: [("h.yaml", hostDocument), ("n.yaml", text)])
        #expect(manifest.networks.first?.value == lab)
        let layer2 = NetworkSpec(name: "l2", host: "h")
        #expect(ManifestWriter.network(layer2).hasSuffix("spec:\n  host: h\n  mode: isolated\n"))
        #expect(try ManifestLoader.load(files: [("h.yaml", hostDocument), ("n.yaml", ManifestWriter.network(layer2))]).networks.first?.value == layer2)
    }

    @Test func theSameSpecAlwaysGivesTheSameText() {
        let texts = (0..<5).map { _ in ManifestWriter.virtualMachine(Self.fullVM) }
        #expect(Set(texts).count == 1)
        // Labels are sorted; the entries keep the domain's order.
        let text = texts[0]
        #expect(text.contains("labels: {tier: web, \"yes\": \"no\"}"))
        #expect(text.range(of: "network: default")!.lowerBound < text.range(of: "bridge: br0")!.lowerBound)
    }

    @Test(arguments: [
        ("web-1", "web-1"), ("10", "\"10\""), ("010", "\"010\""), ("yes", "\"yes\""), ("off", "\"off\""), ("null", "\"null\""),
        ("1.5", "\"1.5\""), ("1e3", "\"1e3\""), ("0x1f", "\"0x1f\""), ("12:30", "\"12:30\""), ("", "\"\""), ("-", "\"-\""),
        ("a b", "\"a b\""), ("a: b", "\"a: b\""), ("#x", "\"#x\""), ("/var/lib/x.qcow2", "/var/lib/x.qcow2"),
        ("line\nbreak", "\"line\\nbreak\""), ("quote\"back\\", "\"quote\\\"back\\\\\""), ("bell\u{07}", "\"bell\\x07\""),
    ])
    func scalarsAreQuotedWhenYAMLWouldReadThemOtherwise(text: String, written: String) throws {
        #expect(ManifestWriter.scalar(text) == written)
        // Whatever the form, a manifest reads the same string back.
        let vm = VirtualMachineSpec(name: "q", host: "h", vcpus: 1, memory: .mebibytes(64), description: "x" + text)
        if !text.contains("\u{07}") {
            let manifest = try ManifestLoader.load(files: [("h.yaml", hostDocument), ("q.yaml", ManifestWriter.virtualMachine(vm))])
            #expect(manifest.virtualMachines.first?.value.description == "x" + text)
        }
    }

    @Test func commentLinesCannotEndEarly() {
        let text = ManifestWriter.virtualMachine(VirtualMachineSpec(name: "c", host: "h", vcpus: 1, memory: .mebibytes(64)),
                                                 comments: ["two\nlines\r", "", "kind: Host"])
        #expect(text.hasPrefix("# two\n# lines\n#\n# kind: Host\napiVersion: vmplan/v1\n"))
    }
}
