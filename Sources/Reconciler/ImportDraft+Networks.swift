import Drivers
import Spec

extension ImportDraft {
    /// A Network document for a libvirt network the imported domains' NICs use.
    public struct Network: Sendable {
        /// With `importing` set to the network's UUID.
        public var spec: NetworkSpec
        /// `network-NAME.yaml`.
        public var file: String

        func text(usedBy users: [String]) -> String {
            ManifestWriter.network(spec, comments: [
                "Imported by vmplan import from network \(spec.name) (uuid \(spec.importing?.uuid ?? "?")) on host \(spec.host); "
                    + "used by \(users.joined(separator: ", ")).",
                "Applying it writes vmplan's marker into the network's definition and records it; the running network is not restarted.",
            ])
        }
    }

    /// The Network documents the remaining domains use (a domain refused later takes its networks with it).
    var usedNetworks: [Network] {
        networks.filter { !users(of: $0.spec.name).isEmpty }
    }

    /// The networks the remaining domains use by name, with why they get no document.
    public var usedNetworksByName: [Left] {
        networksByName.filter { !users(of: $0.name).isEmpty }
    }

    /// The imported domains with a NIC on `network`, by name.
    func users(of network: String) -> [String] {
        domains.filter { $0.networks.contains(network) }.map(\.name)
    }

    /// One Network document per libvirt network the domains use, however many share it; the others are
    /// listed with why the NICs use them by name.
    mutating func draftNetworks(_ sources: [NetworkSource], host: String, manifest: Manifest, stateID: String?) {
        let names = Set(domains.flatMap(\.networks)).sorted()
        for name in names {
            // Network names are unique across hosts: one declared for another host cannot be imported here.
            if let declared = manifest.networks.first(where: { $0.value.name == name }) {
                networksByName.append(Left(name: name, reason: declared.value.host == host ? "declared in the manifests (\(declared.location))"
                    : "a Network of that name is declared for host \(declared.value.host) (\(declared.location))"))
                continue
            }
            // A NIC on a network the host lacks fails the plan, which refuses the domain.
            guard let source = sources.first(where: { $0.name == name }) else { continue }
            if name == "default" {
                networksByName.append(Left(name: name, reason: "the host's own network (libvirt's default): vmplan does not take it over, "
                    + "NICs use it by name as it is"))
                continue
            }
            let translation: NetworkTranslation
            do {
                translation = try NetworkTranslation(source, host: host)
            } catch {
                networksByName.append(Left(name: name, reason: "its definition cannot be read: \(error)"))
                continue
            }
            if let owner = translation.owner {
                networksByName.append(Left(name: name, reason: owner.state == stateID ? "already managed by this state"
                    : "carries the marker of \(Planner.describe(state: owner.state))"))
                continue
            }
            guard translation.refusals.isEmpty else {
                networksByName.append(Left(name: name, reason: "a Network document cannot express it: " + translation.refusals.joined(separator: "; ")))
                continue
            }
            networks.append(Network(spec: translation.spec, file: "network-\(name).yaml"))
        }
    }

    /// Takes back the document of a network whose import cannot be proved; NICs keep using it by name.
    mutating func leaveNetwork(_ name: String, reason: String) {
        networks.removeAll { $0.spec.name == name }
        networksByName.append(Left(name: name, reason: reason))
    }

    /// What the domain's comment says of each network its NICs use.
    func networkComments(for domain: Domain) -> [String] {
        Set(domain.networks).sorted().map { name in
            if let network = networks.first(where: { $0.spec.name == name }) {
                return "Its NIC on network \(name) uses the Network in \(network.file), imported with it."
            }
            let reason = networksByName.last { $0.name == name }.map { ": \($0.reason)" } ?? ""
            return "Its NIC on network \(name) uses that network by name, without a Network document\(reason)."
        }
    }
}
