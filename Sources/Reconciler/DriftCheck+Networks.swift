import Drivers
import Spec

extension DriftCheck {
    /// A network's drift: its fields against the record, and whether it runs and is autostarted.
    static func networks(_ networks: NetworkSnapshot, stateID: String?, unreachable: Set<String>) -> [DriftReport.Entry] {
        let desired = Dictionary(networks.networks.map { ($0.value.name, $0) }, uniquingKeysWith: { first, _ in first })
        return Set(desired.keys).union(networks.recorded.keys).sorted().map { name in
            let wanted = desired[name], recorded = networks.recorded[name]
            let host = recorded?.host ?? wanted?.value.host ?? ""
            var entry = DriftReport.Entry(kind: .network, name: name, host: host, status: .inSync, location: wanted.map { "\($0.location)" })
            // Pending: what an apply of the manifests would do to the record.
            let before = recorded?.fieldValues() ?? [:], after = wanted?.value.fieldValues() ?? [:]
            entry.pending = NetworkField.allCases.compactMap { field in
                before[field] == after[field] ? nil : FieldDiff(field: field.rawValue, before: before[field], after: after[field], origin: .manifest)
            }
            entry.pendingAction = recorded == nil ? (wanted?.value.importing == nil ? .create : .import)
                : wanted == nil ? .delete : wanted?.value.specHash != recorded?.specHash ? .update : nil
            guard let recorded else {
                entry.status = unreachable.contains(host) ? .unknown : .notApplied
                return entry
            }
            guard !unreachable.contains(host), networks.live[host] != nil else {
                entry.status = .unknown
                return entry
            }
            guard let live = networks.observed(name, on: host) else { return missing(entry) }
            switch networks.owner(of: live, stateID: stateID) {
            case .ours:
                entry.fields = NetworkPlanner.fieldDiffs(live: live.spec, desired: recorded, recorded: nil).map { diff in
                    FieldDiff(field: diff.field, before: diff.after, after: diff.before, origin: .drift)  // recorded → live
                }
                entry.fields += [("active", live.isActive), ("autostart", live.autostart)].filter { !$0.1 }
                    .map { FieldDiff(field: $0.0, before: "true", after: "false", origin: .drift) }
            case .otherState(let state):
                entry.fields = [FieldDiff(field: "owner", before: "this state", after: state.map { "state \($0)" } ?? "a vmplan state of unknown id", origin: .drift)]
            case .nobody:
                entry.fields = [FieldDiff(field: "owner", before: "this state", after: "no vmplan marker", origin: .drift)]
            }
            entry.status = entry.fields.isEmpty ? .inSync : .drifted
            return entry
        }
    }
}
