import Foundation
import Testing
import TestSupport

/// `vmplan import` on a real libvirtd: domains made without vmplan (virsh from hand-written XML,
/// virt-install) become manifests that validate, a plan that only imports them, and after the
/// apply a plan with no changes, the domains' XML changed only by vmplan's marker.
@Suite("Import of existing domains on a real libvirtd", .enabled(if: TestHost.shouldRun(), "needs a libvirt host: run scripts/host-up"))
struct ImportTests {
    /// A pool made with virsh, as an administrator would: vmplan did not create it.
    struct HandMadePool {
        let pool: TestPool
        let volumes: [(name: String, size: String, format: String)]

        init(volumes: [(name: String, size: String, format: String)]) throws {
            self.pool = try TestPool()
            self.volumes = volumes
            for arguments in [["pool-define-as", pool.name, "dir", "--target", pool.path], ["pool-build", pool.name], ["pool-start", pool.name]]
                + volumes.map({ ["vol-create-as", pool.name, $0.name, $0.size, "--format", $0.format] }) {
                let output = try TestHost.run("virsh", ["-c", TestHost.uri] + arguments)
                guard output.status == 0 else { throw CocoaError(.fileWriteUnknown, userInfo: [NSLocalizedDescriptionKey: output.stderr]) }
            }
        }
    }

    static func define(_ xml: String) throws {
        let file = FileManager.default.temporaryDirectory.appendingPathComponent("vmplan-import-\(UUID().uuidString).xml")
        try xml.write(to: file, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(at: file) }
        let output = try TestHost.virsh("define", file.path)
        #expect(output.status == 0, "\(output.stderr)")
    }

    /// The inactive XML without its `<metadata>` element: what an import must leave as it was.
    static func withoutMetadata(_ xml: String) -> String {
        xml.replacingOccurrences(of: "(?s)\\s*<metadata>.*</metadata>", with: "", options: .regularExpression)
    }

    @Test func domainsOfSeveralShapesAreImportedWithAPlanThatChangesNothingElse() throws {
        let (uefi, hostdev, refused) = (TestHost.uniqueName("imp-uefi"), TestHost.uniqueName("imp-pci"), TestHost.uniqueName("imp-bad"))
        let storage = try HandMadePool(volumes: [("\(uefi)-root.qcow2", "16M", "qcow2"), ("\(uefi)-data.img", "8M", "raw")])
        let workspace = try Workspace()
        // A libvirt network made by hand (defined, never started) for the NIC on a network (NetworkImportTests imports running ones).
        let network = TestHost.uniqueName("imp-net")
        let networkXML = workspace.directory.appendingPathComponent("network.xml")
        try "<network><name>\(network)</name><ip address='198.19.\(Int.random(in: 0...199)).1' prefix='24'/></network>"
            .write(to: networkXML, atomically: true, encoding: .utf8)
        #expect(try TestHost.virsh("net-define", networkXML.path).status == 0)
        defer {
            storage.pool.delete(domains: [uefi, hostdev, refused])
            _ = try? TestHost.virsh("net-undefine", network)
            workspace.delete()
        }
        // The PCI device exists on no machine (bus 0xff): the inventory cannot confirm it, so the Host only warns.
        try workspace.write("host.yaml", """
            apiVersion: vmplan/v1
            kind: Host
            metadata: {name: local}
            spec: {uri: "\(TestHost.uri)", hypervisor: kvm, deviceChecks: warn}
            """)
        try Self.define("""
            <domain type='qemu'>
              <name>\(uefi)</name>
              <description>Front end &amp; "cache"</description>
              <memory unit='MiB'>512</memory>
              <currentMemory unit='MiB'>256</currentMemory>
              <vcpu placement='static' current='2'>4</vcpu>
              <os firmware='efi'><type arch='x86_64' machine='q35'>hvm</type></os>
              <features><acpi/><apic/></features>
              <clock offset='utc'><timer name='rtc' tickpolicy='catchup'/></clock>
              <devices>
                <disk type='volume' device='disk'>
                  <driver name='qemu' type='qcow2'/><source pool='\(storage.pool.name)' volume='\(uefi)-root.qcow2'/>
                  <target dev='vda' bus='virtio'/><boot order='1'/>
                </disk>
                <disk type='file' device='disk'>
                  <driver name='qemu' type='raw'/><source file='\(storage.pool.file("\(uefi)-data.img"))'/><target dev='vdb' bus='virtio'/>
                </disk>
                <interface type='network'><mac address='52:54:00:3a:00:01'/><source network='\(network)'/><model type='virtio'/></interface>
                <interface type='bridge'><mac address='52:54:00:3a:00:02'/><source bridge='br-import'/><model type='e1000e'/></interface>
                <graphics type='vnc' autoport='yes' listen='127.0.0.1'/>
              </devices>
            </domain>
            """)
        try Self.define("""
            <domain type='qemu'>
              <name>\(hostdev)</name>
              <memory unit='MiB'>64</memory>
              <vcpu>1</vcpu>
              <os><type arch='x86_64' machine='pc'>hvm</type></os>
              <devices>
                <hostdev mode='subsystem' type='pci' managed='yes'>
                  <source><address domain='0x0000' bus='0xff' slot='0x1f' function='0x7'/></source>
                </hostdev>
              </devices>
            </domain>
            """)
        try Self.define("""
            <domain type='qemu'>
              <name>\(refused)</name>
              <memory unit='MiB'>64</memory>
              <vcpu>1</vcpu>
              <os><type arch='x86_64'>hvm</type></os>
              <devices>
                <disk type='file' device='cdrom'><target dev='sda' bus='sata'/><readonly/></disk>
                <disk type='file' device='disk'><driver name='qemu' type='raw'/><source file='/var/tmp/\(refused).img'/><target dev='vda' bus='virtio'/></disk>
                <graphics type='vnc' port='-1' autoport='yes'/>
              </devices>
            </domain>
            """)
        let before = try [uefi, hostdev].map { try #require(try TestHost.inactiveXML($0)) }

        let out = workspace.directory.appendingPathComponent("imported").path
        let imported = try CLI.run("import", workspace.path, "--host", "local", uefi, hostdev, refused, "--out", out)
        #expect(imported.status == 1, "one domain is refused: \(imported.stdout)\(imported.stderr)")
        #expect(imported.stdout.contains("vm-\(uefi).yaml"), "\(imported.stdout)")
        #expect(imported.stdout.contains("pool-\(storage.pool.name).yaml"))
        #expect(imported.stdout.contains("\(refused): disk sda: a cdrom drive without a medium"), "\(imported.stdout)")
        #expect(imported.stdout.contains("disk /var/tmp/\(refused).img is in no active storage pool"), "\(imported.stdout)")
        #expect(imported.stdout.contains("graphics vnc without a listen address: QEMU listens where qemu.conf's vnc_listen says"),
                "\(imported.stdout)")
        #expect(imported.stdout.contains("  <= \(uefi) (import: local; the host is not changed)"), "\(imported.stdout)")
        #expect(imported.stdout.contains("Plan: 5 to import, 0 to add, 0 to change, 0 to destroy."), "\(imported.stdout)")
        #expect(!FileManager.default.fileExists(atPath: out + "/vm-\(refused).yaml"))
        // What the schema cannot say is reported on standard error and in the file.
        #expect(imported.stderr.contains("\(uefi): vmplan cannot express"), "\(imported.stderr)")
        #expect(imported.stderr.contains("lost on redefine: clock (offset=utc; timer rtc)"), "\(imported.stderr)")
        #expect(!imported.stderr.contains("graphics"), "graphics is expressed: \(imported.stderr)")
        #expect(imported.stderr.contains("lost on redefine: os machine pc-i440fx-"), "\(imported.stderr)")
        // The network was never started: a Network document could not import it, so the NIC uses it by name.
        #expect(imported.stderr.contains("note: network \(network) gets no Network document; the imported NICs use it by name as it is: "
            + "a plan over its manifest fails: "), "\(imported.stderr)")
        #expect(!FileManager.default.fileExists(atPath: out + "/network-\(network).yaml"))

        let uefiFile = try String(contentsOfFile: out + "/vm-\(uefi).yaml", encoding: .utf8)
        let uuid = try TestHost.virsh("domuuid", uefi).stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        #expect(uefiFile.contains("#     - clock (offset=utc; timer rtc)"), "\(uefiFile)")
        for line in ["  import: {uuid: \(uuid)}", "  vcpus: 2", "  maxVcpus: 4", "  memory: 256MiB", "  maxMemory: 512MiB", "  firmware: uefi",
                     "  machine: q35", "  state: stopped", "  graphics: {type: vnc}", "  description: \"Front end & \\\"cache\\\"\"",
                     "    - {volume: \(uefi)-root.qcow2, boot: 1}", "    - {volume: \(uefi)-data.img}",
                     "    - {network: \(network), mac: \"52:54:00:3a:00:01\"}", "    - {bridge: br-import, model: e1000e, mac: \"52:54:00:3a:00:02\"}",
                     "metadata: {name: \(uefi)-data.img}", "  capacity: 8MiB", "  format: raw", "  reclaim: retain"] {
            #expect(uefiFile.contains(line + "\n"), "\(line) in \(uefiFile)")
        }
        let hostdevFile = try String(contentsOfFile: out + "/vm-\(hostdev).yaml", encoding: .utf8)
        #expect(hostdevFile.contains("    - {pci: \"0000:ff:1f.7\"}\n"), "\(hostdevFile)")

        #expect(try CLI.run("validate", workspace.path).status == 0)
        let plan = try CLI.run("plan", workspace.path, "--detailed-exitcode")
        #expect(plan.status == 2, "\(plan.stderr)")
        #expect(plan.stdout.contains("  <= volume \(uefi)-root.qcow2 (import: pool \(storage.pool.name), 16MiB qcow2; the host is not changed)"), "\(plan.stdout)")
        #expect(plan.stdout.contains("Plan: 5 to import, 0 to add, 0 to change, 0 to destroy."), "\(plan.stdout)")
        let json = try CLI.run("plan", workspace.path, "--json")
        #expect(json.stdout.contains("\"action\" : \"import\""), "\(json.stdout)")

        // A manifest that no longer says what the domain is: the import is refused with the field.
        let edited = uefiFile.replacingOccurrences(of: "  vcpus: 2\n", with: "  vcpus: 3\n")
        try edited.write(toFile: out + "/vm-\(uefi).yaml", atomically: true, encoding: .utf8)
        let differing = try CLI.run("plan", workspace.path)
        #expect(differing.status == 1)
        #expect(differing.stderr.contains("the manifest differs from the domain: vcpus is 2 on the host, 3 in the manifest. An import changes nothing"), "\(differing.stderr)")
        try uefiFile.write(toFile: out + "/vm-\(uefi).yaml", atomically: true, encoding: .utf8)

        let apply = try CLI.run("apply", workspace.path, "--auto-approve")
        #expect(apply.status == 0, "\(apply.stdout)\(apply.stderr)")
        #expect(apply.stdout.contains("Resources: 5 imported, 0 added, 0 changed, 0 destroyed."), "\(apply.stdout)")
        let after = try CLI.run("plan", workspace.path, "--detailed-exitcode")
        #expect(after.status == 0, "\(after.stdout)\(after.stderr)")

        // Only the marker was added; everything else of the definitions is as it was.
        for (name, old) in zip([uefi, hostdev], before) {
            let new = try #require(try TestHost.inactiveXML(name))
            #expect(new.contains("<vmplan:resource xmlns:vmplan=\"urn:vmplan:1\" name=\"\(name)\""), "\(new)")
            #expect(Self.withoutMetadata(new) == Self.withoutMetadata(old), "\(name) changed beyond its marker")
        }
        // The pool and volumes are recorded as found; the volumes may never be deleted by accident.
        let records = try TestSQL.query(workspace.statePath, "SELECT kind || ' ' || name FROM resource ORDER BY kind, name")
        #expect(records.contains("Volume \(uefi)-root.qcow2") && records.contains("StoragePool \(storage.pool.name)"), "\(records)")
    }

    @Test func aDomainMadeByVirtInstallIsImportedRunning() throws {
        guard TestHost.commandExists("virt-install") else {
            print("skipped: virt-install is not installed (Debian package virtinst; scripts/host-up installs it)")
            return
        }
        let name = TestHost.uniqueName("imp-vi")
        let storage = try HandMadePool(volumes: [("\(name).qcow2", "16M", "qcow2")])
        let workspace = try Workspace()
        defer { storage.pool.delete(domains: [name]); workspace.delete() }
        let printed = try TestHost.run("virt-install", [
            "--connect", TestHost.uri, "--print-xml", "--virt-type", "qemu", "--name", name, "--memory", "64", "--vcpus", "1", "--import",
            "--disk", "path=\(storage.pool.file("\(name).qcow2")),format=qcow2,bus=virtio", "--network", "none", "--graphics", "none",
            "--osinfo", "linux2022", "--noautoconsole",
        ])
        try #require(printed.status == 0, "\(printed.stderr)")
        try Self.define(printed.stdout)
        let started = try TestHost.virsh("start", name)
        #expect(started.status == 0, "\(started.stderr)")
        let before = try #require(try TestHost.inactiveXML(name))

        let out = workspace.directory.appendingPathComponent("imported").path
        let imported = try CLI.run("import", workspace.path, "--host", "local", name, "--out", out)
        #expect(imported.status == 0, "\(imported.stdout)\(imported.stderr)")
        #expect(imported.stderr.contains("\(name): vmplan cannot express"), "\(imported.stderr)")
        #expect(try CLI.run("validate", workspace.path).status == 0)
        let file = try String(contentsOfFile: out + "/vm-\(name).yaml", encoding: .utf8)
        #expect(!file.contains("state:"), "running is the default: \(file)")

        let apply = try CLI.run("apply", workspace.path, "--auto-approve")
        #expect(apply.status == 0, "\(apply.stdout)\(apply.stderr)")
        let after = try CLI.run("plan", workspace.path, "--detailed-exitcode")
        #expect(after.status == 0, "\(after.stdout)\(after.stderr)")
        #expect(try TestHost.domainState(name) == "running")
        let new = try #require(try TestHost.inactiveXML(name))
        #expect(Self.withoutMetadata(new) == Self.withoutMetadata(before))
        #expect(new.contains("<libosinfo:libosinfo") == before.contains("<libosinfo:libosinfo"), "virt-install's own metadata stays")
    }

    @Test func aDomainVmplanManagesIsSkipped() throws {
        let name = TestHost.uniqueName("imp-own")
        let workspace = try Workspace()
        defer { TestHost.removeDomains([name]); workspace.delete() }
        try workspace.write("vm.yaml", Workspace.vm(name, state: "stopped"))
        #expect(try CLI.run("apply", workspace.path, "--auto-approve").status == 0)
        let other = try Workspace()
        defer { other.delete() }
        let imported = try CLI.run("import", other.path, "--host", "local", name, "--out", other.directory.appendingPathComponent("in").path)
        #expect(imported.status == 0, "\(imported.stderr)")
        #expect(imported.stdout.contains("\(name): carries the marker of vmplan state "), "\(imported.stdout)")
        #expect(imported.stdout.contains("Nothing to import from host local; no file was written."))
        let own = try CLI.run("import", workspace.path, "--host", "local", name, "--out", workspace.directory.appendingPathComponent("in").path)
        #expect(own.stdout.contains("\(name): already managed by this state"), "\(own.stdout)")
    }
}

/// A PV guest made with virsh on the Xen test host is imported the same way.
@Suite("Import from the Xen test host", .enabled(if: XenTestHost.shouldRun(), "needs the Xen test host: run scripts/xen/up"))
struct XenImportTests {
    @Test func aPVGuestIsImportedWithItsKernelAndOnlyItsMarkerChanges() throws {
        let name = TestHost.uniqueName("imp-xen")
        let workspace = try Workspace()
        defer { XenTestHost.removeDomains([name]); workspace.delete() }
        try workspace.write("host.yaml", """
            apiVersion: vmplan/v1
            kind: Host
            metadata: {name: local}
            spec: {uri: "\(XenTestHost.uri)", hypervisor: xen}
            """)
        let file = workspace.directory.appendingPathComponent("domain.xml")
        try """
            <domain type='xen'>
              <name>\(name)</name>
              <memory unit='MiB'>128</memory>
              <vcpu>1</vcpu>
              <os>
                <type arch='x86_64' machine='xenpv'>linux</type>
                <kernel>\(XenTestHost.guestKernel)</kernel><initrd>\(XenTestHost.guestInitrd)</initrd><cmdline>console=hvc0</cmdline>
              </os>
              <devices><console type='pty'><target type='xen' port='0'/></console></devices>
            </domain>
            """.write(to: file, atomically: true, encoding: .utf8)
        let defined = try XenTestHost.virsh("define", file.path)
        try #require(defined.status == 0, "\(defined.stderr)")
        try FileManager.default.removeItem(at: file)
        #expect(try XenTestHost.virsh("start", name).status == 0)
        let before = try XenTestHost.virsh("dumpxml", "--inactive", name).stdout

        let out = workspace.directory.appendingPathComponent("imported").path
        let imported = try CLI.run("import", workspace.path, "--host", "local", name, "--out", out)
        #expect(imported.status == 0, "\(imported.stdout)\(imported.stderr)")
        let manifest = try String(contentsOfFile: out + "/vm-\(name).yaml", encoding: .utf8)
        #expect(manifest.contains("  boot: {type: pv, kernel: \(XenTestHost.guestKernel), initrd: \(XenTestHost.guestInitrd), cmdline: \"console=hvc0\"}\n"),
                "\(manifest)")
        #expect(try CLI.run("validate", workspace.path).status == 0)
        let apply = try CLI.run("apply", workspace.path, "--auto-approve")
        #expect(apply.status == 0, "\(apply.stdout)\(apply.stderr)")
        let after = try CLI.run("plan", workspace.path, "--detailed-exitcode")
        #expect(after.status == 0, "\(after.stdout)\(after.stderr)")
        let new = try XenTestHost.virsh("dumpxml", "--inactive", name).stdout
        #expect(new.contains("<vmplan:resource xmlns:vmplan=\"urn:vmplan:1\" name=\"\(name)\""), "\(new)")
        #expect(ImportTests.withoutMetadata(new) == ImportTests.withoutMetadata(before))
        #expect(try XenTestHost.domainState(name) == "running")
    }
}

/// A domain with a passed-through GPU and a vGPU, on libvirt's test driver loaded with the GPU host
/// fixture (no real GPU needed): both are imported pinned, the vGPU with its type and parent.
@Suite("Import of GPUs and vGPUs against libvirt's test driver")
struct GPUImportTests {
    @Test func hostdevsAndMdevsBecomePinnedGPUsAndVGPUs() throws {
        let workspace = try Workspace()
        defer { workspace.delete() }
        // The fixture with one domain more, that holds the A100 and the T4's existing vGPU. Its UUID is
        // written out: the test driver gives a domain without one a new UUID on every connection.
        let fixture = try String(contentsOfFile: GPUPlanTests.fixture, encoding: .utf8).replacingOccurrences(of: "</node>", with: """
              <domain type='test'>
                <name>desk-imp</name>
                <uuid>5e1d7c3a-2f4b-4a6e-9b8c-0d1e2f3a4b5c</uuid>
                <memory unit='MiB'>1024</memory>
                <vcpu>2</vcpu>
                <os><type arch='x86_64'>hvm</type></os>
                <devices>
                  <hostdev mode='subsystem' type='pci' managed='yes'>
                    <source><address domain='0x0000' bus='0x17' slot='0x00' function='0x0'/></source>
                  </hostdev>
                  <hostdev mode='subsystem' type='mdev' model='vfio-pci' display='off'>
                    <source><address uuid='4b20d080-1b54-4048-85b3-a6a62d165c01'/></source>
                  </hostdev>
                </devices>
              </domain>
            </node>
            """)
        let host = workspace.directory.appendingPathComponent("gpu-host.xml").path
        try fixture.write(toFile: host, atomically: true, encoding: .utf8)
        try workspace.write("host.yaml", """
            apiVersion: vmplan/v1
            kind: Host
            metadata: {name: gpu-01}
            spec: {uri: "test://\(host)", hypervisor: kvm}
            """)
        let out = workspace.directory.appendingPathComponent("imported").path
        let imported = try CLI.run("import", workspace.path, "--host", "gpu-01", "desk-imp", "--out", out)
        #expect(imported.status == 0, "\(imported.stdout)\(imported.stderr)")
        #expect(imported.stdout.contains("  <= desk-imp (import: gpu-01; the host is not changed)"), "\(imported.stdout)")
        let file = try String(contentsOfFile: out + "/vm-desk-imp.yaml", encoding: .utf8)
        #expect(file.contains("  gpus:\n    - {pci: \"0000:17:00.0\"}\n"), "\(file)")
        #expect(file.contains("  vgpus:\n    - {type: nvidia-222, parent: \"0000:3b:00.0\", uuid: 4b20d080-1b54-4048-85b3-a6a62d165c01}\n"), "\(file)")
        #expect(try CLI.run("validate", workspace.path).status == 0)
        let plan = try CLI.run("plan", workspace.path, "--detailed-exitcode")
        #expect(plan.status == 2, "\(plan.stderr)")
        #expect(plan.stdout.contains("Plan: 1 to import, 0 to add, 0 to change, 0 to destroy."), "\(plan.stdout)")
    }
}
