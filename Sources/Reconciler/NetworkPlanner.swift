import Drivers
import Spec

/// Plans libvirt networks, and checks that every VM's NIC names a network its host will have.
/// Pure, like `Planner`. A network is changed or deleted only when its marker names this state;
/// the host's `default` and networks made by hand are never touched, and declaring one is refused.
public enum NetworkPlanner {
    /// - Parameters:
    ///   - vms: the manifests' VMs (their NICs name networks).
    ///   - recordedVMs: names of the VMs in the state database: with the desired ones, the domains
    ///     whose NICs the VM planner takes care of.
    ///   - stateID: this state's id; nil takes every marked network for this state's.
    public static func plan(_ snapshot: NetworkSnapshot, vms: [Located<VirtualMachineSpec>], recordedVMs: Set<String>,
                            domains: [String: [ObservedDomain]], stateID: String?, interruptedCreates: Set<ResourceAddress> = [],
                            targets: Set<String> = []) throws(PlanError) -> [ResourceChange] {
        var problems: [Diagnostic] = []
        var changes: [ResourceChange] = []
        let scopedVMs = vms.filter { targets.isEmpty || targets.contains($0.value.name) }
        problems += unknownNetworks(snapshot, vms: scopedVMs)

        // With --target, only the networks the targeted VMs use, and nothing is removed.
        let used = Set(scopedVMs.flatMap { vm in (vm.value.networks ?? []).compactMap { nic -> String? in
            if case .network(let name) = nic.source { name } else { nil }
        } })
        for located in snapshot.networks where targets.isEmpty || used.contains(located.value.name) {
            let spec = located.value
            if let recorded = snapshot.recorded[spec.name], recorded.host != spec.host {
                problems.append(Diagnostic("Network '\(spec.name)' is recorded on host '\(recorded.host)' but declared for host '\(spec.host)'; "
                    + "a network does not move: remove it from the manifests and apply (it is deleted on \(recorded.host)), "
                    + "then declare it for \(spec.host)", at: located.location))
                continue
            }
            guard snapshot.live[spec.host] != nil else { continue }  // an unobserved host fails the VM plan
            do {
                changes.append(try change(for: located, snapshot: snapshot, stateID: stateID, domains: domains,
                                          interrupted: interruptedCreates.contains(ResourceAddress(.network, spec.name, host: spec.host))))
            } catch {
                problems += error.problems
            }
        }
        if targets.isEmpty {
            let handled = recordedVMs.union(vms.map(\.value.name))
            removals(snapshot, vms: vms, handledVMs: handled, domains: domains, stateID: stateID, changes: &changes, problems: &problems)
        }
        guard problems.isEmpty else { throw PlanError(problems) }
        return changes.sorted { ($0.host, $0.name) < ($1.host, $1.name) }
    }

    /// A VM's `{network: X}` must name a Network declared for its host, or one the host has.
    static func unknownNetworks(_ snapshot: NetworkSnapshot, vms: [Located<VirtualMachineSpec>]) -> [Diagnostic] {
        var problems: [Diagnostic] = []
        for located in vms {
            let vm = located.value
            guard let live = snapshot.live[vm.host] else { continue }  // networks not observed: no NIC names one
            for (index, nic) in (vm.networks ?? []).enumerated() {
                guard case .network(let name) = nic.source,
                      !snapshot.networks.contains(where: { $0.value.name == name && $0.value.host == vm.host }),
                      !live.contains(where: { $0.name == name }) else { continue }
                let known = Set(live.map(\.name) + snapshot.networks.filter { $0.value.host == vm.host }.map(\.value.name)).sorted()
                let elsewhere = snapshot.networks.first { $0.value.name == name }.map { " (Network '\(name)' is declared for host '\($0.value.host)')" } ?? ""
                problems.append(Diagnostic(
                    "VirtualMachine '\(vm.name)': network '\(name)' is neither declared for host '\(vm.host)' nor defined there\(elsewhere); "
                        + "declare it with kind: Network, or name one of the host's networks: "
                        + (known.isEmpty ? "none" : known.joined(separator: ", ")) + DidYouMean.hint(for: name, among: known),
                    at: snapshot.nicLocations[vm.name]?[index] ?? located.location))
            }
        }
        return problems
    }

    private static func change(for located: Located<NetworkSpec>, snapshot: NetworkSnapshot, stateID: String?,
                               domains: [String: [ObservedDomain]], interrupted: Bool) throws(PlanError) -> ResourceChange {
        let spec = located.value
        let address = ResourceAddress(.network, spec.name, host: spec.host)
        let recorded = snapshot.recorded[spec.name]
        let before = recorded.map(ResourceValue.network)
        let existing = snapshot.observed(spec.name, on: spec.host)
        // An import is read only until the network is recorded; a marked network (an import an apply
        // did not get to record) is adopted below.
        if let importing = spec.importing, recorded == nil, existing.map({ snapshot.owner(of: $0, stateID: stateID) == .nobody }) ?? true {
            switch NetworkImports.change(for: located, importing: importing, existing: existing) {
            case .success(let change): return change
            case .failure(let refusal): throw PlanError([Diagnostic(refusal.message, at: located.location)])
            }
        }
        guard let existing else {
            let origin: DiffOrigin = recorded == nil ? .manifest : .drift
            var change = ResourceChange(address, action: .create, reason: recorded == nil ? .new : .goneFromHost, effect: .createNetwork(spec),
                                        notes: [recorded == nil ? "new in the manifests" : "recorded, but gone from \(spec.host): deleted outside vmplan"],
                                        before: before, after: .network(spec), summary: spec.planSummary)
            change.diffs = NetworkField.allCases.compactMap { field in
                spec.fieldValues()[field].map { FieldDiff(field: field.rawValue, before: nil, after: $0, origin: origin) }
            }
            return change
        }
        switch snapshot.owner(of: existing, stateID: stateID) {
        case .nobody:
            throw PlanError([Diagnostic("a network named '\(spec.name)' already exists on host '\(spec.host)' and was not created by vmplan "
                + "(the host's own, or defined by hand); vmplan never changes or takes over a network it did not create: "
                + "rename the Network, remove this document (VMs can use the host's network by name without one), "
                + "or import it as it is (vmplan import, or import: {uuid: …} in the document; docs/import.md)", at: located.location)])
        case .otherState(let state):
            throw PlanError([Diagnostic("the network '\(spec.name)' on host '\(spec.host)' belongs to \(Planner.describe(state: state)); "
                + "vmplan never takes over another state's network: rename the Network, or remove it from that state's manifests first",
                at: located.location)])
        case .ours:
            break
        }
        var diffs = fieldDiffs(live: existing.spec, desired: spec, recorded: recorded)
        let fields = diffs.compactMap { NetworkField(rawValue: $0.field) }
        if !existing.isActive { diffs.append(FieldDiff(field: "active", before: "false", after: "true", origin: .drift)) }
        if !existing.autostart { diffs.append(FieldDiff(field: "autostart", before: "false", after: "true", origin: .drift)) }

        if diffs.isEmpty {
            let recordBehind = recorded?.specHash != spec.specHash
            var change = ResourceChange(address, action: recorded == nil ? .adopt : .noop,
                                        reason: recorded == nil ? (interrupted ? .interruptedCreate : .unrecorded) : recordBehind ? .recordBehind : .inSync,
                                        effect: recordBehind ? .recordOnly : .none, before: before, after: .network(spec), summary: spec.planSummary)
            if recorded == nil {
                change.notes = [interrupted ? StoragePlanner.interruptedNote : "the network carries vmplan's marker but was not recorded; recording it"]
            }
            return change
        }

        var change = ResourceChange(address, action: .update, reason: .fieldsDiffer, effect: .updateNetwork(spec, restart: false), mode: .live,
                                    diffs: diffs, before: before, after: .network(spec), summary: spec.planSummary)
        let restartFields = fields.filter { !NetworkField.isLive($0, from: existing.spec, to: spec) }
        if !existing.isActive {
            change.notes.append("the network is not running: it is redefined and started")
            change.mode = nil
        } else if !restartFields.isEmpty {
            let users = snapshot.users(of: spec.name, on: spec.host, vms: [], handledVMs: [], domains: domains)
            let running = users.filter { user in domains[spec.host]?.first { $0.name == user.name }?.isRunning == true }.map(\.name)
            change.action = .replace
            change.mode = .restart
            change.effect = .updateNetwork(spec, restart: true)
            change.notes.append("\(restartFields.map(\.rawValue).joined(separator: ", ")) cannot change on a running network: "
                + "it is redefined, then stopped and started again (its UUID stays)")
            change.notes.append(running.isEmpty
                ? "no running VM is on it now"
                : "the running VMs on it (\(running.sorted().joined(separator: ", "))) lose their connection: libvirt does not plug their NICs "
                    + "back in when the network starts again; they are connected again when they restart")
        } else if !fields.isEmpty {
            change.notes.append("the running network takes the DHCP changes live (virNetworkUpdate); nothing restarts")
        }
        for diff in diffs where diff.origin == .drift {
            change.notes.append("\(diff.field) was changed on the host outside vmplan (drift)")
        }
        if recorded == nil {
            change.notes.append(interrupted ? StoragePlanner.interruptedNote : "the network carries vmplan's marker but was not recorded; recording it")
        }
        return change
    }

    /// Field differences between the host and the manifests; drift when the record agrees with the manifests.
    static func fieldDiffs(live: NetworkSpec, desired: NetworkSpec, recorded: NetworkSpec?) -> [FieldDiff] {
        let now = live.fieldValues(), wanted = desired.fieldValues(bridgeOf: live), before = recorded?.fieldValues(bridgeOf: live)
        return NetworkField.allCases.compactMap { field in
            guard now[field] != wanted[field] else { return nil }
            let origin: DiffOrigin = before.map { $0[field] == wanted[field] } == true ? .drift : .manifest
            return FieldDiff(field: field.rawValue, before: now[field], after: wanted[field], origin: origin)
        }
    }

    /// Recorded networks that left the manifests: deleted when they are this state's and no VM uses
    /// them any more; forgotten when the host has none, or one that is not this state's.
    private static func removals(_ snapshot: NetworkSnapshot, vms: [Located<VirtualMachineSpec>], handledVMs: Set<String>,
                                 domains: [String: [ObservedDomain]], stateID: String?,
                                 changes: inout [ResourceChange], problems: inout [Diagnostic]) {
        let desired = Set(snapshot.networks.map(\.value.name))
        for (name, spec) in snapshot.recorded.sorted(by: { $0.key < $1.key }) where !desired.contains(name) {
            let host = spec.host
            guard snapshot.live[host] != nil else {
                problems.append(Diagnostic("Network '\(name)' is recorded on host '\(host)', which no Host document names any more; "
                    + "keep the Host document until its networks are deleted", at: nil))
                continue
            }
            var change = ResourceChange(ResourceAddress(.network, name, host: host), action: .forget, reason: .removedFromManifests,
                                        effect: .recordOnly, before: .network(spec), summary: spec.planSummary)
            guard let existing = snapshot.observed(name, on: host) else {
                change.notes = ["removed from the manifests; the network is already gone from \(host), only the record is dropped"]
                changes.append(change)
                continue
            }
            guard snapshot.owner(of: existing, stateID: stateID) == .ours else {
                change.notes = ["removed from the manifests; the network '\(name)' on \(host) is not this state's (no vmplan marker, or another state's): "
                    + "vmplan leaves it alone and only drops the record"]
                changes.append(change)
                continue
            }
            let users = snapshot.users(of: name, on: host, vms: vms, handledVMs: handledVMs, domains: domains)
            if !users.isEmpty {
                let named = users.map { user in user.location.map { "\(user.name) (its NIC at \($0))" } ?? "\(user.name) (a domain on \(host))" }
                problems.append(Diagnostic("Network '\(name)' was removed from the manifests, which would delete it from host '\(host)', "
                    + "but VirtualMachine\(users.count == 1 ? "" : "s") \(named.joined(separator: ", ")) still use\(users.count == 1 ? "s" : "") it; "
                    + "remove their NICs on it first, or keep the Network", at: users.first?.location))
                continue
            }
            change.action = .delete
            change.effect = .deleteNetwork
            change.notes = ["removed from the manifests: the network is stopped and undefined"]
            changes.append(change)
        }
    }
}
