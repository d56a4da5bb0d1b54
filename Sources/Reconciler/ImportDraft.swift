import Drivers
import Foundation
import Spec

/// The manifests `vmplan import` writes for one host: a file per domain (its VirtualMachine and the
/// Volumes only it brings), a file per StoragePool and per Network they use, and the domains it
/// skipped or refused, with why.
public struct ImportDraft: Sendable {
    public struct Domain: Sendable {
        public var name: String
        public var uuid: String
        /// Relative to the output directory: `vm-NAME.yaml`.
        public var file: String
        public var spec: VirtualMachineSpec
        /// Volumes this file declares (a volume two imported domains share is declared once).
        public var volumes: [VolumeSpec]
        /// Pools its disks are in.
        public var pools: Set<String>
        public var unexpressed: [UnexpressedPart]
        /// libvirt networks its NICs use, by name.
        public var networks: [String]
    }

    public struct Pool: Sendable {
        public var spec: StoragePoolSpec
        /// `pool-NAME.yaml`.
        public var file: String
        public var text: String {
            ManifestWriter.storagePool(spec, comments: ["Imported by vmplan import: an existing pool, recorded as it is; vmplan never deletes a pool it did not create."])
        }
    }

    /// A domain left out, and why.
    public struct Left: Sendable, Hashable {
        public var name: String
        public var reason: String
    }

    public var host: String
    public var domains: [Domain] = []
    public var pools: [Pool] = []
    /// Networks the domains' NICs use that get a Network document (`network-NAME.yaml`).
    public var networks: [Network] = []
    /// Networks the domains' NICs use by name without a document here, and why (the host's `default`,
    /// one vmplan cannot express, one already vmplan's or in the manifests).
    public var networksByName: [Left] = []
    /// Already vmplan's, or already in the manifests: nothing to import.
    public var skipped: [Left] = []
    /// Cannot be imported safely (or the plan over its manifest would change something).
    public var refused: [Left] = []

    /// Every file to write, relative to the output directory, in a stable order.
    public var files: [(path: String, text: String)] {
        let used = Set(domains.flatMap(\.pools))
        return pools.filter { used.contains($0.spec.name) }.map { ($0.file, $0.text) }
            + usedNetworks.map { ($0.file, $0.text(usedBy: users(of: $0.spec.name))) }
            + domains.map { ($0.file, text(of: $0)) }
    }

    /// A domain's file: its VirtualMachine, with the comment, and the Volumes only it brings.
    func text(of domain: Domain) -> String {
        ManifestWriter.file([ManifestWriter.virtualMachine(domain.spec, comments: comments(for: domain))]
            + domain.volumes.map { ManifestWriter.volume($0) })
    }

    /// What the host offers that a draft needs: its storage, and its devices when a domain has any.
    public struct HostFacts: Sendable {
        public var storage: ObservedStorage
        public var inventory: HostInventory?
        /// The host's libvirt networks (`LibvirtDriver.importNetworkSources`).
        public var networks: [NetworkSource]

        public init(storage: ObservedStorage, inventory: HostInventory?, networks: [NetworkSource] = []) {
            self.storage = storage
            self.inventory = inventory
            self.networks = networks
        }
    }

    /// Translates `sources` into manifests. Domains with vmplan's marker, and names the manifests
    /// already declare, are skipped; domains that cannot be expressed safely are refused.
    /// - Parameter stateID: this state's id, to tell its domains from another state's.
    public init(sources: [DomainSource], host: HostSpec, facts: HostFacts, manifest: Manifest, stateID: String?, recorded: Set<String>) {
        self.host = host.name
        var volumeOwners: [String: String] = [:]  // volume name → the domain whose file declares it
        for source in sources {
            let translation: DomainTranslation
            do {
                translation = try DomainTranslation(source, host: host.name, flavour: host.hypervisor)
            } catch {
                refused.append(Left(name: source.name, reason: "\(error)"))
                continue
            }
            if let owner = translation.owner {
                let ours = owner.state == stateID || (owner.state == nil && recorded.contains(source.name))
                skipped.append(Left(name: source.name, reason: ours ? "already managed by this state"
                    : "carries the marker of \(Planner.describe(state: owner.state)); to move it to this state, "
                        + "apply its manifest with --adopt \(source.name)"))
                continue
            }
            if let declared = manifest.virtualMachines.first(where: { $0.value.name == source.name }) {
                skipped.append(Left(name: source.name, reason: "a VirtualMachine of that name is already in the manifests (\(declared.location))"))
                continue
            }
            var reasons = translation.refusals
            var spec = translation.spec
            spec.importing = DomainImport(uuid: source.uuid)
            var volumes: [VolumeSpec] = []
            var pools: Set<String> = []
            for index in spec.disks.indices {
                switch storageOf(spec.disks[index], facts: facts.storage, host: host.name, manifest: manifest) {
                case .failure(let refusal):
                    reasons.append(refusal.message)
                case .success(let (pool, volume)):
                    spec.disks[index].volume = volume.name
                    spec.disks[index].pool = volume.pool
                    spec.disks[index].format = volume.format
                    pools.insert(pool.name)
                    if !self.pools.contains(where: { $0.spec.name == pool.name }), manifest.storage.pool(named: pool.name) == nil {
                        self.pools.append(Pool(spec: pool, file: "pool-\(pool.name).yaml"))
                    }
                    if manifest.storage.volume(named: volume.name) == nil, volumeOwners[volume.name] == nil,
                       !volumes.contains(where: { $0.name == volume.name }) {
                        volumes.append(volume)
                    }
                }
            }
            reasons += devices(of: &spec, inventory: facts.inventory)
            guard reasons.isEmpty else {
                refused.append(Left(name: source.name, reason: reasons.joined(separator: "; ")))
                continue
            }
            for volume in volumes { volumeOwners[volume.name] = source.name }
            domains.append(Domain(name: source.name, uuid: source.uuid, file: "vm-\(source.name).yaml", spec: spec, volumes: volumes,
                                  pools: pools, unexpressed: translation.unexpressed, networks: translation.networkNames))
        }
        pools.sort { $0.spec.name < $1.spec.name }
        draftNetworks(facts.networks, host: host.name, manifest: manifest, stateID: stateID)
    }

    /// The pool and volume a disk is: named in the domain, or found by its path.
    private func storageOf(_ disk: DiskSpec, facts: ObservedStorage, host: String,
                           manifest: Manifest) -> Result<(StoragePoolSpec, VolumeSpec), DomainImports.Refusal> {
        let found = disk.pool.isEmpty ? facts.volumes.first { $0.path == disk.volume } : facts.volume(pool: disk.pool, name: disk.volume)
        guard let found else {
            let directory = (disk.volume as NSString).deletingLastPathComponent
            return .failure(DomainImports.Refusal(message: disk.pool.isEmpty
                ? "disk \(disk.volume) is in no active storage pool, and vmplan's disks are pool volumes: define a pool for its directory "
                    + "(virsh pool-define-as NAME dir --target \(directory); virsh pool-start NAME) and import again"
                : "disk \(disk.volume) of pool \(disk.pool) is not in that pool (or the pool is not active)"))
        }
        guard let observedPool = facts.pool(found.pool), let type = PoolType(rawValue: observedPool.type) else {
            return .failure(DomainImports.Refusal(message: "disk \(found.path) is in pool \(found.pool) of type "
                + "\(facts.pool(found.pool)?.type ?? "?"); vmplan's pools are dir or logical"))
        }
        guard ResourceName.isValid(found.name), ResourceName.isValid(found.pool) else {
            return .failure(DomainImports.Refusal(message: "volume '\(found.name)' of pool '\(found.pool)' has a name vmplan cannot use: \(ResourceName.rule)"))
        }
        guard let format = VolumeFormat(rawValue: found.format) else {
            return .failure(DomainImports.Refusal(message: "volume \(found.name) is \(found.format.isEmpty ? "of unknown format" : found.format); "
                + "vmplan's volumes are qcow2 or raw"))
        }
        if let declared = manifest.storage.volume(named: found.name), declared.pool != found.pool {
            return .failure(DomainImports.Refusal(message: "volume \(found.name) is in pool \(found.pool), but the manifests declare a Volume "
                + "of that name in pool \(declared.pool); volume names are unique in vmplan"))
        }
        if let other = domains.lazy.flatMap(\.volumes).first(where: { $0.name == found.name && $0.pool != found.pool }) {
            return .failure(DomainImports.Refusal(message: "volume \(found.name) of pool \(found.pool) has the name of volume \(other.name) "
                + "in pool \(other.pool); volume names are unique in vmplan"))
        }
        let pool = type == .dir ? StoragePoolSpec(name: found.pool, host: host, path: observedPool.path)
            : StoragePoolSpec.logical(name: found.pool, host: host, volumeGroup: (observedPool.path as NSString).lastPathComponent)
        return .success((pool, VolumeSpec(name: found.name, pool: found.pool, capacity: found.capacity, format: format,
                                          reclaim: .retain, shareable: disk.shareable)))
    }

    /// Pins vGPUs to their type and parent, and lets through non-GPU devices the domain has.
    private func devices(of spec: inout VirtualMachineSpec, inventory: HostInventory?) -> [String] {
        var reasons: [String] = []
        for index in spec.gpus.indices {
            guard let address = spec.gpus[index].pci else { continue }
            spec.gpus[index].allowNonGPU = inventory?.device(at: address).map { !$0.isDisplayController } ?? false
        }
        for index in spec.vgpus.indices {
            let uuid = spec.vgpus[index].uuid
            guard let device = inventory?.mediatedDevices.first(where: { $0.uuid == uuid }) else {
                reasons.append("vGPU \(uuid): no mediated device with that UUID on the host, so its type is unknown "
                    + "(vmplan inventory lists the host's mdevs)")
                continue
            }
            spec.vgpus[index].type = device.typeID
            spec.vgpus[index].parent = device.parent
        }
        return reasons
    }

    /// The comment above a domain's VirtualMachine: where it came from and what it leaves out.
    func comments(for domain: Domain) -> [String] {
        var lines = ["Imported by vmplan import from domain \(domain.name) (uuid \(domain.uuid)) on host \(domain.spec.host).",
                     "Applying it writes vmplan's marker into the domain and records it; nothing else on the host changes."]
        let byFate = Dictionary(grouping: domain.unexpressed, by: \.fate)
        if domain.unexpressed.isEmpty {
            lines.append("vmplan expresses everything in this domain's definition.")
        } else {
            lines.append("vmplan cannot express these parts of the domain:")
        }
        if let kept = byFate[.kept] {
            lines.append("  kept as they are (vmplan carries them over when it redefines the domain):")
            lines += kept.map { "    - \($0.what)" }
        }
        if let lost = byFate[.lostOnRedefine] {
            lines.append("  lost, or back to libvirt's default, when vmplan redefines the domain (after a change to this manifest):")
            lines += lost.map { "    - \($0.what)" }
        }
        return lines + networkComments(for: domain)
    }
}
