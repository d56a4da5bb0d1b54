import Drivers
import Spec

/// What the state database says vmplan last applied to one VM.
public struct RecordedVM: Sendable, Hashable {
    public var spec: VirtualMachineSpec
    public var specHash: String
    public var generation: Int

    public init(spec: VirtualMachineSpec, specHash: String, generation: Int) {
        self.spec = spec
        self.specHash = specHash
        self.generation = generation
    }
}

/// Compares desired, recorded and live and says what must change. Pure: no I/O, no clock.
public enum Planner {
    /// - Parameters:
    ///   - desired: the manifests' VMs.
    ///   - recorded: the state database's VMs, by name.
    ///   - live: every domain on every observed host, by Host name.
    ///   - rules: each host's capability table, by Host name (KVM's when missing).
    public static func plan(
        desired: [Located<VirtualMachineSpec>],
        recorded: [String: RecordedVM],
        live: [String: [ObservedDomain]],
        rules: [String: ChangeRules] = [:]
    ) throws(PlanError) -> Plan {
        var problems: [Diagnostic] = []
        var changes: [Change] = []
        var unmanaged: [UnmanagedDomain] = []

        // Managed domains by resource name, and unmanaged ones by (host, name).
        var managed: [String: ObservedDomain] = [:]
        var foreign: Set<HostDomain> = []
        for (host, domains) in live {
            for domain in domains {
                if let owner = domain.owner, owner.resource == domain.name {
                    managed[domain.name] = domain
                } else {
                    foreign.insert(HostDomain(host: host, name: domain.name))
                    unmanaged.append(UnmanagedDomain(host: host, name: domain.name, isRunning: domain.isRunning))
                }
            }
        }

        let desiredNames = Set(desired.map(\.value.name))
        for located in desired {
            let spec = located.value
            guard live[spec.host] != nil else {
                problems.append(Diagnostic("host '\(spec.host)' of VirtualMachine '\(spec.name)' was not observed", at: located.location))
                continue
            }
            if foreign.contains(HostDomain(host: spec.host, name: spec.name)) {
                problems.append(Diagnostic(
                    "a domain named '\(spec.name)' already exists on host '\(spec.host)' and is not managed by vmplan; "
                        + "vmplan never takes over a domain it did not create: rename the VirtualMachine or remove that domain by hand",
                    at: located.location))
                continue
            }
            let record = recorded[spec.name]
            let hostRules = rules[spec.host] ?? .kvm
            changes.append(change(for: spec, record: record, observed: managed[spec.name], rules: hostRules))
        }

        // Recorded VMs no longer in the manifests are deleted, but only domains vmplan owns.
        for (name, record) in recorded where !desiredNames.contains(name) {
            let host = record.spec.host
            let observed = managed[name]
            if observed == nil, live[host] == nil {
                problems.append(Diagnostic(
                    "VirtualMachine '\(name)' is recorded on host '\(host)', which no Host document names any more; "
                        + "keep the Host document until its VMs are deleted", at: nil))
                continue
            }
            let reasons = observed == nil
                ? ["removed from the manifests; the domain is already gone from \(host), only the record is dropped"]
                : ["removed from the manifests"]
            changes.append(Change(name: name, host: host, action: .delete, reasons: reasons,
                                  desired: nil, observed: observed, previousHost: host))
        }

        guard problems.isEmpty else { throw PlanError(problems) }
        changes.sort { ($0.host, $0.name) < ($1.host, $1.name) }
        unmanaged.sort { ($0.host, $0.name) < ($1.host, $1.name) }
        return Plan(changes: changes, unmanaged: unmanaged)
    }

    private static func change(for spec: VirtualMachineSpec, record: RecordedVM?, observed: ObservedDomain?,
                               rules: ChangeRules) -> Change {
        guard let observed else {
            let reason = record == nil
                ? "new in the manifests"
                : "recorded as applied, but the domain is gone from \(spec.host): it was deleted outside vmplan"
            let origin: DiffOrigin = record == nil ? .manifest : .drift
            let diffs = VMFields.values(of: spec).map { FieldDiff(field: $0.field, before: nil, after: $0.value, origin: origin) }
            return Change(name: spec.name, host: spec.host, action: .create, diffs: diffs, reasons: [reason],
                          desired: spec, observed: nil)
        }

        let live = observed.spec
        if live.host != spec.host {
            return Change(name: spec.name, host: spec.host, action: .replace,
                          diffs: [FieldDiff(field: "host", before: live.host, after: spec.host, origin: .manifest)],
                          reasons: ["host changed from \(live.host) to \(spec.host): the VM is deleted there and created here"],
                          desired: spec, observed: observed, previousHost: live.host)
        }

        let diffs = VMFields.diff(live: live, desired: spec, recorded: record?.spec)
        let recordsOnly = record?.specHash != spec.specHash
        guard !diffs.isEmpty else {
            let reasons = record == nil ? ["the domain carries vmplan's marker but was not recorded; recording it"] : []
            return Change(name: spec.name, host: spec.host, action: .noop, reasons: reasons,
                          desired: spec, observed: observed, recordsOnly: recordsOnly)
        }

        var mode: UpdateMode = .live
        var reasons: [String] = []
        let configFields = diffs.filter { $0.field != "state" }
        if !configFields.isEmpty {
            if !observed.isRunning || spec.state == .stopped {
                mode = .nextBoot
                reasons.append("the VM is \(observed.isRunning ? "being stopped" : "stopped"): only its config changes")
            } else {
                let restartFields = configFields.filter { rules.change(for: $0.field) == .restart }.map(\.field)
                if !restartFields.isEmpty {
                    mode = .restart
                    reasons.append("\(restartFields.joined(separator: ", ")) cannot change on a running VM: it restarts")
                }
            }
        }
        for diff in diffs where diff.origin == .drift {
            reasons.append("\(diff.field) was changed on the host outside vmplan (drift)")
        }
        return Change(name: spec.name, host: spec.host, action: .update, mode: mode, diffs: diffs,
                      reasons: reasons, desired: spec, observed: observed)
    }

    private struct HostDomain: Hashable {
        var host: String
        var name: String
    }
}
