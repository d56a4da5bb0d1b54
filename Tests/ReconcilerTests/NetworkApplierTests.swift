import Foundation
import Testing
import Drivers
import Reconciler
import Spec
import State

extension ApplierOrderTests.RecordingHost {
    func observeNetworks() async throws -> [ObservedNetwork] { [] }
    func createNetwork(_ spec: NetworkSpec, owner: String) async throws { try record("network+", spec.name) }
    func updateNetwork(_ spec: NetworkSpec, owner: String, restart: Bool) async throws {
        try record(restart ? "network-restart" : "network~", spec.name)
    }
    func deleteNetwork(_ name: String, owner: String) async throws { try record("network-", name) }
    func importNetwork(_ spec: NetworkSpec, uuid: String, owner: String) async throws { try record("network<=", spec.name) }
    func dhcpLeases(network: String) async throws -> [DHCPLease] { [] }
}

/// Networks in the applier: built before the VMs that use them, removed after; a VM whose network
/// could not be made is not started on nothing.
@Suite("Applier: networks")
struct NetworkApplierTests {
    typealias P = PlannerTests

    static let lab = NetworkSpec(name: "lab", host: "kvm-01", address: IPv4Interface(parsing: "198.18.0.1/24"))

    static func vm(_ name: String, on network: String) -> VirtualMachineSpec {
        var vm = P.vm(name)
        vm.networks = [NetworkInterface(source: .network(network), mac: NetworkInterface.derivedMAC(vm: name, index: 0))]
        return vm
    }

    func database() throws -> (StateDatabase, URL) {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("vmplan-network-applier-\(UUID().uuidString)")
        return (try StateDatabase(path: directory.appendingPathComponent("state.db").path), directory)
    }

    @Test func networksAreBuiltBeforeVMsAndRemovedAfterThem() async throws {
        let (database, directory) = try database()
        defer { try? FileManager.default.removeItem(at: directory) }
        let host = ApplierOrderTests.RecordingHost()
        let applier = try Applier(drivers: ["kvm-01": host], store: database, shutdownTimeout: .seconds(1))
        let web = Self.vm("web", on: "lab")
        let build = Plan(changes: [
            ResourceChange(ResourceAddress(.virtualMachine, "web", host: "kvm-01"), action: .create, reason: .new,
                           effect: .vm([.define(web), .start]), after: .virtualMachine(web)),
            ResourceChange(ResourceAddress(.network, "lab", host: "kvm-01"), action: .create, reason: .new,
                           effect: .createNetwork(Self.lab), after: .network(Self.lab)),
        ])
        #expect(build.changes.last?.requires == [ResourceAddress(.network, "lab", host: "kvm-01")], "the VM needs its network")
        let built = try await applier.apply(build, runID: try database.beginRun(.apply, actor: "test")) { _ in }
        #expect(built.succeeded)
        #expect(host.calls == ["network+ lab", "define web", "start web"])
        let record = try #require(try database.resources(kind: "Network").first)
        #expect(try JSONDecoder().decode(NetworkSpec.self, from: Data(record.specJSON.utf8)) == Self.lab)
        #expect(record.specHash == Self.lab.specHash)

        let remove = Plan(changes: [
            ResourceChange(ResourceAddress(.network, "lab", host: "kvm-01"), action: .delete, reason: .removedFromManifests,
                           effect: .deleteNetwork, before: .network(Self.lab)),
            ResourceChange(ResourceAddress(.virtualMachine, "web", host: "kvm-01"), action: .delete, reason: .removedFromManifests,
                           effect: .vm([.delete(host: "kvm-01")]), before: .virtualMachine(web), previousHost: "kvm-01"),
        ])
        let removed = try await applier.apply(remove, runID: try database.beginRun(.apply, actor: "test")) { _ in }
        #expect(removed.succeeded)
        #expect(host.calls.suffix(2) == ["delete web", "network- lab"])
        #expect(try database.resources().isEmpty)
    }

    @Test func aVMIsNotCreatedWhenItsNetworkFailed() async throws {
        let (database, directory) = try database()
        defer { try? FileManager.default.removeItem(at: directory) }
        let host = ApplierOrderTests.RecordingHost()
        host.failing = ["lab"]
        let applier = try Applier(drivers: ["kvm-01": host], store: database, shutdownTimeout: .seconds(1))
        let web = Self.vm("web", on: "lab"), other = Self.vm("other", on: "default")
        let plan = Plan(changes: [
            ResourceChange(ResourceAddress(.network, "lab", host: "kvm-01"), action: .replace, reason: .fieldsDiffer,
                           effect: .updateNetwork(Self.lab, restart: true), before: .network(Self.lab), after: .network(Self.lab)),
            ResourceChange(ResourceAddress(.virtualMachine, "web", host: "kvm-01"), action: .create, reason: .new,
                           effect: .vm([.define(web)]), after: .virtualMachine(web)),
            ResourceChange(ResourceAddress(.virtualMachine, "other", host: "kvm-01"), action: .create, reason: .new,
                           effect: .vm([.define(other)]), after: .virtualMachine(other)),
        ])
        let outcome = try await applier.apply(plan, runID: try database.beginRun(.apply, actor: "test")) { _ in }
        #expect(host.calls == ["network-restart lab", "define other"])
        #expect(outcome.failed.first { $0.change.name == "web" }?.error == "not applied: it needs network lab, which could not be changed")
    }
}
