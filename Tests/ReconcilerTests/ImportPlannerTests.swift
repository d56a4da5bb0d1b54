import Foundation
import Testing
import Drivers
import Reconciler
import Spec

/// `import: {uuid}`: an unmanaged domain is imported only when its name, UUID and every compared
/// field match the manifest, and the import writes the marker and nothing else.
@Suite("Planner: imports")
struct ImportPlannerTests {
    typealias P = PlannerTests

    static func importing(_ spec: VirtualMachineSpec, uuid: String = "uuid-web") -> VirtualMachineSpec {
        var spec = spec
        spec.importing = DomainImport(uuid: uuid)
        return spec
    }

    @Test func aMatchingUnmanagedDomainIsImportedAndNothingElseHappens() throws {
        let plan = try P.plan(desired: [Self.importing(P.vm("web", vcpus: 2))], live: [P.domain(P.vm("web", vcpus: 2), managed: false)])
        let change = try #require(plan.changes.first)
        #expect(change.action == .import && change.reason == .importRequested)
        #expect(change.effect == .importDomain(uuid: "uuid-web"))
        #expect(change.diffs.isEmpty)
        #expect(plan.hasChanges, "an import is something to apply: --detailed-exitcode exits 2")
        #expect(plan.summary == "Plan: 1 to import, 0 to add, 0 to change, 0 to destroy.")
        #expect(plan.unmanaged.isEmpty, "a domain this plan imports is not also listed as unmanaged")
    }

    @Test func onlyTheImportedDomainLeavesTheUnmanagedList() throws {
        let plan = try P.plan(desired: [Self.importing(P.vm("web"))],
                              live: [P.domain(P.vm("web"), managed: false), P.domain(P.vm("by-hand"), managed: false)])
        #expect(plan.changes.map(\.action) == [.import])
        #expect(plan.unmanaged.map(\.name) == ["by-hand"])
        // A VM of the same name that is created (no import) leaves the domain unmanaged: that plan fails instead.
        #expect(throws: PlanError.self) { try P.plan(desired: [P.vm("web")], live: [P.domain(P.vm("web"), managed: false)]) }
    }

    @Test func driftShowsTheImportAsPendingAndTheDomainNotAsUnmanaged() throws {
        let live = [P.domain(P.vm("web"), managed: false), P.domain(P.vm("by-hand"), managed: false)]
        let report = DriftCheckTests.report(DriftCheckTests.snapshot(desired: [Self.importing(P.vm("web"))], recorded: [], live: live))
        let web = try DriftCheckTests.entry(report, "web")
        #expect(web.status == .notApplied && web.pendingAction == .import)
        #expect(report.unmanaged.map(\.name) == ["by-hand"])
        // Another UUID is not this domain: nothing is imported, and it stays unmanaged.
        let other = DriftCheckTests.report(DriftCheckTests.snapshot(desired: [Self.importing(P.vm("web"), uuid: "0a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d")],
                                                                    recorded: [], live: live))
        #expect(try DriftCheckTests.entry(other, "web").pendingAction == .create)
        #expect(other.unmanaged.map(\.name) == ["by-hand", "web"])
    }

    @Test func labelsMayBeAddedAtTheImportTheyGoIntoTheMarker() throws {
        var spec = Self.importing(P.vm("web"))
        spec.labels = ["tier": "web"]
        let plan = try P.plan(desired: [spec], live: [P.domain(P.vm("web"), managed: false)])
        #expect(plan.changes.first?.action == .import)
        #expect(plan.changes.first?.notes.contains("labels {tier: web} are written with the marker") == true)
    }

    @Test func aDifferingFieldFailsThePlanNamingIt() {
        #expect {
            try P.plan(desired: [Self.importing(P.vm("web", vcpus: 3))], live: [P.domain(P.vm("web", vcpus: 2), managed: false)])
        } throws: { error in
            "\(error)".contains("the manifest differs from the domain: vcpus is 2 on the host, 3 in the manifest; maxVcpus is 2 on the host, 3 in the manifest. ")
        }
    }

    @Test func anotherUUIDOrNoDomainIsNeverImported() {
        #expect {
            try P.plan(desired: [Self.importing(P.vm("web"), uuid: "0a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d")],
                       live: [P.domain(P.vm("web"), managed: false)])
        } throws: { error in
            "\(error)".contains("the domain 'web' on host 'kvm-01' has UUID uuid-web: it is not the domain the manifest was written for")
        }
        #expect {
            try P.plan(desired: [Self.importing(P.vm("web"))], live: [])
        } throws: { error in
            "\(error)".contains("but host 'kvm-01' has no domain named 'web'")
        }
    }

    @Test func onceRecordedTheImportFieldIsInertAndTheHashUnchanged() throws {
        let spec = Self.importing(P.vm("web"))
        #expect(spec.specHash == P.vm("web").specHash)
        let plan = try P.plan(desired: [spec], recorded: [P.recorded(P.vm("web"))], live: [P.domain(P.vm("web"))])
        #expect(plan.changes.first?.action == .noop)
        #expect(!plan.hasChanges)
    }
}

/// The networks `vmplan import` drafts for the domains it imports, from sources built in memory.
@Suite("Import draft: networks")
struct ImportDraftNetworkTests {
    static let host = HostSpec(name: "kvm-01", uri: "test:///default", hypervisor: .kvm)

    static func domain(_ name: String, on networks: [String]) -> DomainSource {
        let nics = networks.enumerated().map { index, network in
            "<interface type='network'><mac address='52:54:00:00:\(String(format: "%02x", name.count)):0\(index)'/><source network='\(network)'/><model type='virtio'/></interface>"
        }
        return DomainSource(name: name, uuid: "0a1b2c3d-4e5f-4a6b-8c7d-00000000000\(name.count)", inactiveXML: """
            <domain type='kvm'><name>\(name)</name><memory unit='MiB'>64</memory><vcpu>1</vcpu>
            <os><type arch='x86_64' machine='pc'>hvm</type></os><devices>\(nics.joined())</devices></domain>
            """, autostart: false, isRunning: false)
    }

    static func network(_ name: String, _ body: String = "<ip address='198.18.4.1' prefix='24'/>", active: Bool = true) -> NetworkSource {
        NetworkSource(name: name, uuid: "5B3F0A6E-0000-4000-8000-00000000000\(name.count)",
                      inactiveXML: "<network><name>\(name)</name><uuid>5b3f0a6e-0000-4000-8000-00000000000\(name.count)</uuid>\(body)</network>",
                      isActive: active, autostart: active)
    }

    static func draft(_ domains: [DomainSource], networks: [NetworkSource], manifest: Manifest = Manifest()) -> ImportDraft {
        ImportDraft(sources: domains, host: host, facts: .init(storage: ObservedStorage(), inventory: nil, networks: networks),
                    manifest: manifest, stateID: "state-1", recorded: [])
    }

    @Test func domainsSharingANetworkGetOneDocumentAndTheDefaultNetworkIsUsedByName() throws {
        let draft = Self.draft([Self.domain("web", on: ["lab", "default"]), Self.domain("db-1", on: ["lab"])],
                               networks: [Self.network("lab"), Self.network("default", "<forward mode='nat'/><ip address='192.168.122.1' prefix='24'/>")])
        #expect(draft.networks.map(\.spec.name) == ["lab"])
        #expect(draft.networks.first?.spec.importing == NetworkImport(uuid: "5b3f0a6e-0000-4000-8000-000000000003"))
        #expect(draft.files.map(\.path) == ["network-lab.yaml", "vm-web.yaml", "vm-db-1.yaml"])
        #expect(draft.files.filter { $0.text.contains("kind: Network") }.count == 1)
        #expect(draft.files.first?.text.contains("used by web, db-1.") == true)
        #expect(draft.usedNetworksByName.map(\.name) == ["default"])
        #expect(draft.usedNetworksByName.first?.reason.hasPrefix("the host's own network (libvirt's default)") == true)
        let web = try #require(draft.files.first { $0.path == "vm-web.yaml" }?.text)
        #expect(web.contains("# Its NIC on network default uses that network by name, without a Network document: the host's own network"), "\(web)")
        #expect(web.contains("    - {network: default, mac: "), "\(web)")
    }

    @Test func aNetworkADocumentCannotSayOrAlreadyMarkedOrDeclaredGetsNoDocument() {
        let marked = "<metadata><vmplan:resource xmlns:vmplan='urn:vmplan:1' name='ours' hash='x' state='state-2'/></metadata>"
        var manifest = Manifest()
        manifest.networks = [Located(NetworkSpec(name: "known", host: "kvm-01"), at: SourceLocation(file: "net.yaml", line: 1, column: 1))]
        let draft = Self.draft([Self.domain("web", on: ["routed", "ours", "known"])],
                               networks: [Self.network("routed", "<forward mode='route'/>"), Self.network("ours", marked), Self.network("known")],
                               manifest: manifest)
        #expect(draft.networks.isEmpty)
        #expect(draft.usedNetworksByName.map { "\($0.name): \($0.reason)" } == [
            "known: declared in the manifests (net.yaml:1:1)",
            "ours: carries the marker of vmplan state state-2",
            "routed: a Network document cannot express it: forward mode route: a Network is isolated (no forward), nat or bridge",
        ])
    }
}
