import Drivers
import Spec

/// Whose each observed domain is, as one state sees it: this state's (its marker names this
/// state, or names none and this state recorded the VM), another state's, or nobody's (no
/// marker). Plans and drift checks sort domains the same way.
struct DomainOwnership {
    /// This state's domains, by resource name.
    var ours: [String: ObservedDomain] = [:]
    /// Domains with a marker for another state (or an unrecorded marker without a state id), by name.
    var otherStates: [String: ObservedDomain] = [:]
    /// Domains without vmplan's marker (or with one for another name), by host and name.
    var foreign: Set<HostDomain> = []
    var unmanaged: [UnmanagedDomain] = []

    struct HostDomain: Hashable {
        var host: String
        var name: String
    }

    /// - Parameter stateID: nil takes every marked domain for this state's (unit tests of other rules).
    init(live: [String: [ObservedDomain]], recorded: Set<String>, stateID: String?) {
        for (host, domains) in live {
            for domain in domains {
                guard let owner = domain.owner, owner.resource == domain.name else {
                    foreign.insert(HostDomain(host: host, name: domain.name))
                    unmanaged.append(UnmanagedDomain(host: host, name: domain.name, isRunning: domain.isRunning))
                    continue
                }
                // A marker from before states had ids is this state's only if this state recorded the VM.
                let isOurs = stateID == nil || owner.state == stateID || (owner.state == nil && recorded.contains(domain.name))
                if isOurs { ours[domain.name] = domain } else { otherStates[domain.name] = domain }
            }
        }
        unmanaged.sort { ($0.host, $0.name) < ($1.host, $1.name) }
    }

    func unmanaged(except imported: Set<HostDomain>) -> [UnmanagedDomain] {
        unmanaged.filter { !imported.contains(HostDomain(host: $0.host, name: $0.name)) }
    }

    /// The unmanaged domains that unrecorded VirtualMachines import by name and UUID: an apply imports them.
    func imported(by desired: [Located<VirtualMachineSpec>], recorded: Set<String>, live: [String: [ObservedDomain]]) -> Set<HostDomain> {
        Set(desired.map(\.value).filter { vm in
            guard let importing = vm.importing, !recorded.contains(vm.name), isForeign(vm.name, on: vm.host) else { return false }
            return live[vm.host]?.contains { $0.name == vm.name && $0.uuid.lowercased() == importing.uuid } == true
        }.map { HostDomain(host: $0.host, name: $0.name) })
    }

    func isForeign(_ name: String, on host: String) -> Bool { foreign.contains(HostDomain(host: host, name: name)) }

    /// Another state's domain of that name on that host.
    func otherState(_ name: String, on host: String) -> ObservedDomain? {
        otherStates[name].flatMap { $0.spec.host == host ? $0 : nil }
    }

    /// Marked domains that no manifest names and this state did not record: reported, left alone.
    func orphans(desired: Set<String>, recorded: Set<String>) -> [UnmanagedDomain] {
        (Array(ours.values) + Array(otherStates.values))
            .filter { !desired.contains($0.name) && !recorded.contains($0.name) }
            .map { UnmanagedDomain(host: $0.spec.host, name: $0.name, isRunning: $0.isRunning, ownerState: $0.owner?.state) }
            .sorted { ($0.host, $0.name) < ($1.host, $1.name) }
    }
}
