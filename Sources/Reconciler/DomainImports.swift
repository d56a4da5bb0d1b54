import Drivers
import Spec

/// Plans the import of an unmanaged domain that a VirtualMachine's `import: {uuid}` names. An import
/// changes nothing on the host but the domain's metadata (vmplan's marker), so it is planned only
/// when the manifest says exactly what the domain is; anything else fails the plan with the fields.
enum DomainImports {
    struct Refusal: Error {
        var message: String
    }

    /// Labels live in vmplan's marker only: the import writes them, so they may differ.
    static let writtenWithMarker: Set<VMField> = [.labels]

    static func change(for spec: VirtualMachineSpec, importing: DomainImport, live: [ObservedDomain]) -> Result<ResourceChange, Refusal> {
        let subject = "VirtualMachine '\(spec.name)' imports the domain with UUID \(importing.uuid)"
        guard let domain = live.first(where: { $0.name == spec.name }) else {
            return .failure(Refusal(message: "\(subject), but host '\(spec.host)' has no domain named '\(spec.name)'; "
                + "remove import from the manifest to have vmplan create the VM, or point it at the host that has the domain"))
        }
        guard domain.uuid.lowercased() == importing.uuid else {
            return .failure(Refusal(message: "\(subject), but the domain '\(spec.name)' on host '\(spec.host)' has UUID \(domain.uuid): "
                + "it is not the domain the manifest was written for, and vmplan never takes over a domain by its name alone; "
                + "run vmplan import for it again if it is the one to import"))
        }
        if let owner = domain.owner {
            return .failure(Refusal(message: "\(subject), but that domain carries vmplan's marker for '\(owner.resource)': "
                + "vmplan does not import a domain marked by it; remove the marker by hand (virsh metadata \(spec.name) --uri "
                + "\(OwnershipMarker.namespace) --remove --config) if it is stale"))
        }
        let differences = VMFields.diff(live: domain.spec, desired: spec, recorded: nil)
            .filter { !writtenWithMarker.contains($0.field) }
        guard differences.isEmpty else {
            let fields = differences.map { "\($0.field.rawValue) is \($0.diff.before ?? "-") on the host, \($0.diff.after ?? "-") in the manifest" }
            return .failure(Refusal(message: "\(subject), but the manifest differs from the domain: \(fields.joined(separator: "; ")). "
                + "An import changes nothing on the host: make these fields match the domain (vmplan import writes them so), "
                + "apply the import, then change them in a later apply"))
        }
        var notes = ["an existing domain without vmplan's marker, imported as it is: only the marker (naming this state) is written into its metadata"]
        if !spec.labels.isEmpty { notes.append("labels \(VMFields.render(spec.labels)) are written with the marker") }
        return .success(ResourceChange(ResourceAddress(.virtualMachine, spec.name, host: spec.host), action: .import,
                                       reason: .importRequested, effect: .importDomain(uuid: importing.uuid), notes: notes,
                                       after: .virtualMachine(spec), summary: "uuid \(importing.uuid)"))
    }

    /// Names of the VMs this plan imports, by host: their pools and volumes are imported with them.
    static func importing(_ vms: [Located<VirtualMachineSpec>], recorded: Set<String>) -> [VirtualMachineSpec] {
        vms.map(\.value).filter { $0.importing != nil && !recorded.contains($0.name) }
    }
}
