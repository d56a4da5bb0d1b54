import Testing
import Drivers
import Reconciler
import Spec

/// `kind: Network` in the planner: desired, recorded and live built in memory.
@Suite("Planner: Network documents")
struct NetworkKindPlannerTests {
    typealias P = PlannerTests
    static let here = SourceLocation(file: "networks.yaml", line: 3, column: 1)
    static let nicAt = SourceLocation(file: "vms.yaml", line: 12, column: 18)
    static let state = "state-1"

    static func lab(hosts: [DHCPSpec.Host] = [], range: String? = "198.18.0.100-198.18.0.199", address: String = "198.18.0.1/24",
                    mode: NetworkMode = .isolated) -> NetworkSpec {
        let bounds = range?.split(separator: "-").compactMap { IPv4Address(parsing: String($0)) }
        let dhcp = bounds.map { DHCPSpec(range: .init(start: $0[0], end: $0[1]), hosts: hosts) } ?? (hosts.isEmpty ? nil : DHCPSpec(hosts: hosts))
        return NetworkSpec(name: "lab", host: "kvm-01", mode: mode, address: IPv4Interface(parsing: address), dhcp: dhcp)
    }

    static func host(_ last: Int) -> DHCPSpec.Host {
        DHCPSpec.Host(mac: "52:54:00:00:00:0\(last)", ip: IPv4Address(parsing: "198.18.0.\(last)")!, name: "vm\(last)")
    }

    /// What libvirt reports for `spec` (with the bridge it chose), with a marker for `owner` (nil: none).
    static func observed(_ spec: NetworkSpec, owner: String? = state, active: Bool = true, autostart: Bool = true) -> ObservedNetwork {
        var live = spec
        live.bridge = live.bridge ?? "virbr7"
        return ObservedNetwork(name: spec.name, uuid: "uuid-\(spec.name)", isActive: active, autostart: autostart,
                               owner: owner.map { OwnershipMarker(resource: spec.name, specHash: spec.specHash, state: $0) }, spec: live)
    }

    static func vm(_ name: String, on network: String, state: PowerState = .running) -> VirtualMachineSpec {
        var vm = P.vm(name, state: state)
        vm.networks = [NetworkInterface(source: .network(network), mac: NetworkInterface.derivedMAC(vm: name, index: 0))]
        return vm
    }

    static func plan(_ networks: [NetworkSpec] = [], recorded: [NetworkSpec] = [], live: [ObservedNetwork] = [],
                     vms: [VirtualMachineSpec] = [], domains: [ObservedDomain] = [], targets: Set<String> = []) throws(PlanError) -> [ResourceChange] {
        let snapshot = NetworkSnapshot(networks: networks.map { Located($0, at: here) },
                                       recorded: Dictionary(uniqueKeysWithValues: recorded.map { ($0.name, $0) }),
                                       live: ["kvm-01": live], nicLocations: Dictionary(uniqueKeysWithValues: vms.map { ($0.name, [0: nicAt]) }))
        return try NetworkPlanner.plan(snapshot, vms: vms.map { Located($0, at: P.here) }, recordedVMs: Set(domains.map(\.name)),
                                       domains: ["kvm-01": domains], stateID: state, targets: targets)
    }

    static func problems(_ body: () throws(PlanError) -> [ResourceChange]) -> [String] {
        do { _ = try body(); return [] } catch { return error.problems.map(\.description) }
    }

    @Test func aNewNetworkIsCreatedWithEveryField() throws {
        let change = try #require(try Self.plan([Self.lab(hosts: [Self.host(5)])]).first)
        #expect(change.action == .create && change.reason == .new)
        #expect(change.effect == .createNetwork(Self.lab(hosts: [Self.host(5)])))
        #expect(change.address.description == "network lab")
        #expect(change.summary == "kvm-01, isolated 198.18.0.1/24, DHCP 198.18.0.100-198.18.0.199, 1 static host")
        #expect(change.diffs.map(\.field) == ["mode", "address", "dhcp.range", "dhcp.hosts"])
        #expect(change.diffs.last?.after == "52:54:00:00:00:05=198.18.0.5 (vm5)")
    }

    @Test func aNetworkThatMatchesIsANoOpAndLibvirtsBridgeIsNoDifference() throws {
        let change = try #require(try Self.plan([Self.lab()], recorded: [Self.lab()], live: [Self.observed(Self.lab())]).first)
        #expect(change.action == .noop && change.effect == .none && change.reason == .inSync)
    }

    @Test func staticHostsChangeLive() throws {
        let before = Self.lab(hosts: [Self.host(5)]), after = Self.lab(hosts: [Self.host(5), Self.host(6)])
        let change = try #require(try Self.plan([after], recorded: [before], live: [Self.observed(before)]).first)
        #expect(change.action == .update && change.mode == .live)
        #expect(change.effect == .updateNetwork(after, restart: false))
        #expect(change.diffs == [FieldDiff(field: "dhcp.hosts", before: "52:54:00:00:00:05=198.18.0.5 (vm5)",
                                           after: "52:54:00:00:00:05=198.18.0.5 (vm5), 52:54:00:00:00:06=198.18.0.6 (vm6)", origin: .manifest)])
        #expect(change.notes == ["the running network takes the DHCP changes live (virNetworkUpdate); nothing restarts"])
    }

    @Test func anAddressChangeRestartsTheNetworkAndSaysWhoLosesTheirConnection() throws {
        let before = Self.lab(), after = Self.lab(range: "198.18.1.100-198.18.1.199", address: "198.18.1.1/24")
        let web = Self.vm("web", on: "lab"), idle = Self.vm("idle", on: "lab", state: .stopped)
        let change = try #require(try Self.plan([after], recorded: [before], live: [Self.observed(before)], vms: [web, idle],
                                                domains: [P.domain(web), P.domain(idle)]).first)
        #expect(change.action == .replace && change.mode == .restart)
        #expect(change.effect == .updateNetwork(after, restart: true))
        #expect(change.diffs.map(\.field) == ["address", "dhcp.range"])
        #expect(change.notes == [
            "address cannot change on a running network: it is redefined, then stopped and started again (its UUID stays)",
            "the running VMs on it (web) lose their connection: libvirt does not plug their NICs back in when the network starts again; "
                + "they are connected again when they restart",
        ])
    }

    @Test func aStoppedNetworkIsRedefinedAndStartedAndADisabledAutostartIsDrift() throws {
        let stopped = try #require(try Self.plan([Self.lab()], recorded: [Self.lab()], live: [Self.observed(Self.lab(), active: false)]).first)
        #expect(stopped.action == .update && stopped.effect == .updateNetwork(Self.lab(), restart: false))
        #expect(stopped.diffs == [FieldDiff(field: "active", before: "false", after: "true", origin: .drift)])
        let manual = try #require(try Self.plan([Self.lab()], recorded: [Self.lab()], live: [Self.observed(Self.lab(), autostart: false)]).first)
        #expect(manual.action == .update && manual.mode == .live)
        #expect(manual.diffs == [FieldDiff(field: "autostart", before: "false", after: "true", origin: .drift)])
    }

    @Test func aFieldChangedByHandIsDrift() throws {
        var edited = Self.lab()
        edited.mtu = 1400
        let change = try #require(try Self.plan([Self.lab()], recorded: [Self.lab()], live: [Self.observed(edited)]).first)
        #expect(change.diffs == [FieldDiff(field: "mtu", before: "1400", after: nil, origin: .drift)])
        #expect(change.action == .replace, "an MTU needs the bridge made again")
        #expect(change.notes.contains("mtu was changed on the host outside vmplan (drift)"))
    }

    @Test func anUnmarkedNetworkIsNeverTakenOverNorIsAnotherStates() {
        #expect(Self.problems { () throws(PlanError) in try Self.plan([Self.lab()], live: [Self.observed(Self.lab(), owner: nil)]) } == [
            "networks.yaml:3:1: error: a network named 'lab' already exists on host 'kvm-01' and was not created by vmplan (the host's own, "
                + "or defined by hand); vmplan never changes or takes over a network it did not create: rename the Network, remove this "
                + "document (VMs can use the host's network by name without one), or import it as it is (vmplan import, or import: {uuid: …} "
                + "in the document; docs/import.md)",
        ])
        #expect(Self.problems { () throws(PlanError) in try Self.plan([Self.lab()], live: [Self.observed(Self.lab(), owner: "state-2")]) } == [
            "networks.yaml:3:1: error: the network 'lab' on host 'kvm-01' belongs to vmplan state state-2; vmplan never takes over another "
                + "state's network: rename the Network, or remove it from that state's manifests first",
        ])
    }

    static func importing(_ spec: NetworkSpec, uuid: String = "uuid-lab") -> NetworkSpec {
        var spec = spec
        spec.importing = NetworkImport(uuid: uuid)
        return spec
    }

    @Test func anUnmarkedNetworkThatMatchesItsImportIsImportedAndOnlyMarked() throws {
        let wanted = Self.importing(Self.lab(hosts: [Self.host(5)]))
        let change = try #require(try Self.plan([wanted], live: [Self.observed(Self.lab(hosts: [Self.host(5)]), owner: nil)]).first)
        #expect(change.action == .import && change.reason == .importRequested)
        #expect(change.effect == .importNetwork(uuid: "uuid-lab"))
        #expect(change.after == .network(wanted) && change.before == nil && change.diffs.isEmpty)
        #expect(change.isChange, "an import is something to apply")
    }

    @Test func anImportWhoseDocumentDiffersFromTheNetworkFailsNamingEveryField() {
        var wanted = Self.importing(Self.lab())
        wanted.mtu = 1400
        let problems = Self.problems { () throws(PlanError) in
            try Self.plan([wanted], live: [Self.observed(Self.lab(range: "198.18.0.50-198.18.0.60"), owner: nil, active: false)])
        }
        #expect(problems.count == 1)
        for part in ["networks.yaml:3:1: error: Network 'lab' imports the network with UUID uuid-lab, but the document differs from the network: ",
                     "dhcp.range is 198.18.0.50-198.18.0.60 on the host, 198.18.0.100-198.18.0.199 in the document; ",
                     "mtu is - on the host, 1400 in the document; ", "active is false on the host (virsh net-start lab starts it)"] {
            #expect(problems.first?.contains(part) == true, "\(part) in \(problems)")
        }
        #expect(!(problems.first?.contains("autostart is false") ?? true), "autostart matches")
    }

    @Test func anImportOfAnotherUUIDOrOfNoNetworkIsRefused() {
        #expect(Self.problems { () throws(PlanError) in
            try Self.plan([Self.importing(Self.lab(), uuid: "0a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d")], live: [Self.observed(Self.lab(), owner: nil)])
        }.first?.contains("but the network 'lab' on host 'kvm-01' has UUID uuid-lab: it is not the network the document was written for") == true)
        #expect(Self.problems { () throws(PlanError) in try Self.plan([Self.importing(Self.lab())]) }
            .first?.contains("but host 'kvm-01' has no network named 'lab'") == true)
        #expect(Self.problems { () throws(PlanError) in
            try Self.plan([Self.importing(Self.lab())], live: [Self.observed(Self.lab(), owner: "state-2")])
        }.first?.contains("belongs to vmplan state state-2") == true, "import never takes another state's network")
    }

    @Test func onceRecordedOrMarkedTheImportFieldIsInert() throws {
        let wanted = Self.importing(Self.lab())
        #expect(wanted.specHash == Self.lab().specHash)
        let recorded = try #require(try Self.plan([wanted], recorded: [Self.lab()], live: [Self.observed(Self.lab())]).first)
        #expect(recorded.action == .noop && recorded.effect == .none)
        // An apply that wrote the marker but not the record: the network is recorded as it is.
        let interrupted = try #require(try Self.plan([wanted], live: [Self.observed(Self.lab())]).first)
        #expect(interrupted.action == .adopt && interrupted.effect == .recordOnly)
    }

    @Test func aMarkedNetworkThisStateDidNotRecordIsAdopted() throws {
        let change = try #require(try Self.plan([Self.lab()], live: [Self.observed(Self.lab())]).first)
        #expect(change.action == .adopt && change.effect == .recordOnly && change.reason == .unrecorded)
    }

    @Test func removedNetworksAreDeletedOnlyWhenTheyAreThisStatesAndUnused() throws {
        let deleted = try #require(try Self.plan(recorded: [Self.lab()], live: [Self.observed(Self.lab())]).first)
        #expect(deleted.action == .delete && deleted.effect == .deleteNetwork && deleted.before == .network(Self.lab()))
        let handMade = try #require(try Self.plan(recorded: [Self.lab()], live: [Self.observed(Self.lab(), owner: nil)]).first)
        #expect(handMade.action == .forget && handMade.effect == .recordOnly)
        let gone = try #require(try Self.plan(recorded: [Self.lab()]).first)
        #expect(gone.action == .forget && gone.notes == ["removed from the manifests; the network is already gone from kvm-01, only the record is dropped"])
    }

    @Test func deletingANetworkAVMStillUsesFailsNamingTheVM() {
        let web = Self.vm("web", on: "lab")
        #expect(Self.problems { () throws(PlanError) in
            try Self.plan(recorded: [Self.lab()], live: [Self.observed(Self.lab())], vms: [web], domains: [P.domain(web)])
        } == [
            "vms.yaml:12:18: error: Network 'lab' was removed from the manifests, which would delete it from host 'kvm-01', but VirtualMachine "
                + "web (its NIC at vms.yaml:12:18) still uses it; remove their NICs on it first, or keep the Network",
        ])
        // A domain no manifest or record names (made by hand) counts too; a VM being deleted does not.
        let byHand = P.domain(Self.vm("by-hand", on: "lab"), managed: false)
        #expect(Self.problems { () throws(PlanError) in
            try Self.plan(recorded: [Self.lab()], live: [Self.observed(Self.lab())], domains: [byHand])
        } == [
            "error: Network 'lab' was removed from the manifests, which would delete it from host 'kvm-01', but VirtualMachine "
                + "by-hand (a domain on kvm-01) still uses it; remove their NICs on it first, or keep the Network",
        ])
        let leaving = P.domain(Self.vm("leaving", on: "lab"))
        #expect(Self.problems { () throws(PlanError) in
            try Self.plan(recorded: [Self.lab()], live: [Self.observed(Self.lab())], domains: [leaving])
        }.isEmpty)
    }

    @Test func aNICOnANetworkTheHostLacksFailsThePlanAtTheNIC() {
        let web = Self.vm("web", on: "labb")
        #expect(Self.problems { () throws(PlanError) in
            try Self.plan([Self.lab()], vms: [web])
        } == [
            "vms.yaml:12:18: error: VirtualMachine 'web': network 'labb' is neither declared for host 'kvm-01' nor defined there; "
                + "declare it with kind: Network, or name one of the host's networks: lab; did you mean 'lab'?",
        ])
        #expect(Self.problems { () throws(PlanError) in
            try Self.plan(live: [Self.observed(NetworkSpec(name: "labb", host: "kvm-01"), owner: nil)], vms: [web])
        }.isEmpty, "a network the host has, vmplan's or not, may be used")
    }

    @Test func aNetworkDoesNotMoveBetweenHosts() {
        var moved = Self.lab()
        moved.host = "kvm-02"
        #expect(Self.problems { () throws(PlanError) in try Self.plan([moved], recorded: [Self.lab()]) } == [
            "networks.yaml:3:1: error: Network 'lab' is recorded on host 'kvm-01' but declared for host 'kvm-02'; a network does not move: "
                + "remove it from the manifests and apply (it is deleted on kvm-01), then declare it for kvm-02",
        ])
    }

    @Test func aTargetedPlanTouchesOnlyTheTargetsNetworksAndRemovesNothing() throws {
        var other = Self.lab()
        other.name = "other"
        other.address = IPv4Interface(parsing: "198.18.9.1/24")
        other.dhcp = nil
        let web = Self.vm("web", on: "lab")
        let changes = try Self.plan([Self.lab(), other], recorded: [NetworkSpec(name: "old", host: "kvm-01")], vms: [web], targets: ["web"])
        #expect(changes.map(\.name) == ["lab"])
    }
}
