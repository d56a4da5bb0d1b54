import Drivers
import Spec

/// Plans the import of an unmarked network that a Network's `import: {uuid}` names, as `DomainImports`
/// does for domains: the import writes vmplan's marker and nothing else, so it is planned only when
/// the document says exactly what the network is (running and autostarted, as every Network is).
enum NetworkImports {
    static func change(for located: Located<NetworkSpec>, importing: NetworkImport, existing: ObservedNetwork?) -> Result<ResourceChange, DomainImports.Refusal> {
        let spec = located.value
        let subject = "Network '\(spec.name)' imports the network with UUID \(importing.uuid)"
        guard let existing else {
            return .failure(.init(message: "\(subject), but host '\(spec.host)' has no network named '\(spec.name)'; "
                + "remove import from the document to have vmplan create the network, or point it at the host that has it"))
        }
        guard existing.uuid.lowercased() == importing.uuid else {
            return .failure(.init(message: "\(subject), but the network '\(spec.name)' on host '\(spec.host)' has UUID \(existing.uuid): "
                + "it is not the network the document was written for, and vmplan never takes over a network by its name alone; "
                + "run vmplan import again if it is the one to import"))
        }
        var fields = NetworkPlanner.fieldDiffs(live: existing.spec, desired: spec, recorded: nil)
            .map { "\($0.field) is \($0.before ?? "-") on the host, \($0.after ?? "-") in the document" }
        // A Network is always running and autostarted; an import starts nothing.
        if !existing.isActive { fields.append("active is false on the host (virsh net-start \(spec.name) starts it)") }
        if !existing.autostart { fields.append("autostart is false on the host (virsh net-autostart \(spec.name) sets it)") }
        guard fields.isEmpty else {
            return .failure(.init(message: "\(subject), but the document differs from the network: \(fields.joined(separator: "; ")). "
                + "An import changes nothing on the host: make the document match the network (vmplan import writes it so), "
                + "and a Network is always running and autostarted; apply the import, then change the network in a later apply"))
        }
        return .success(ResourceChange(ResourceAddress(.network, spec.name, host: spec.host), action: .import, reason: .importRequested,
                                       effect: .importNetwork(uuid: importing.uuid),
                                       notes: ["an existing network without vmplan's marker, imported as it is: only the marker (naming this state) "
                                           + "is written into its persistent definition; the running network is not restarted"],
                                       after: .network(spec), summary: spec.planSummary))
    }
}
