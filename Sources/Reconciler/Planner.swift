import Drivers
import Spec

/// Compares desired, recorded and live and says what must change. Pure: no I/O, no clock.
public enum Planner {
    /// - Parameters:
    ///   - desired: the manifests' VMs.
    ///   - recorded: the state database's VMs, by name.
    ///   - live: every domain on every observed host, by Host name.
    ///   - rules: each host's capability table, by Host name (KVM's when missing).
    ///   - stateID: this state's id; domains whose marker names another are another state's.
    ///     nil takes every marked domain for this state's (unit tests of other rules).
    ///   - volumeBlockers: why a volume cannot move with a migrating VM, by volume name (`StorageMoves.blockers`).
    public static func plan(
        desired: [Located<VirtualMachineSpec>],
        recorded: [String: RecordedVM],
        live: [String: [ObservedDomain]],
        rules: [String: ChangeRules] = [:],
        options: PlanOptions = PlanOptions(),
        devices: [String: HostDeviceView] = [:],
        recordedDevices: [RecordedDevice] = [],
        interruptedCreates: Set<ResourceAddress> = [],
        stateID: String? = nil,
        volumeBlockers: [String: String] = [:],
        sharedVolumes: Set<String> = []
    ) throws(PlanError) -> Plan {
        var problems: [Diagnostic] = []
        var changes: [ResourceChange] = []

        let known = Set(desired.map(\.value.name)).union(recorded.keys)
        for name in options.targets.union(options.replace).sorted() where !known.contains(name) {
            problems.append(Diagnostic("no VirtualMachine named '\(name)' in the manifests or the state; "
                + "--target and --replace take VirtualMachine names\(DidYouMean.hint(for: name, among: known.sorted()))", at: nil))
        }
        for name in options.adopt.sorted() where !desired.contains(where: { $0.value.name == name }) {
            problems.append(Diagnostic("no VirtualMachine named '\(name)' in the manifests; --adopt takes the name of a VirtualMachine "
                + "the manifests declare\(DidYouMean.hint(for: name, among: desired.map(\.value.name).sorted()))", at: nil))
        }
        func inScope(_ name: String) -> Bool { options.targets.isEmpty || options.targets.contains(name) }

        let ownership = DomainOwnership(live: live, recorded: Set(recorded.keys), stateID: stateID)
        let managed = ownership.ours
        let desiredNames = Set(desired.map(\.value.name))
        let orphans = ownership.orphans(desired: desiredNames, recorded: Set(recorded.keys))
        // GPUs and vGPUs: selectors become pinned addresses, and every VM of a host is checked together.
        var desired = desired
        var deviceChanges: [ResourceChange] = []
        var warnings: [Diagnostic] = []
        if desired.contains(where: { !$0.value.gpus.isEmpty || !$0.value.vgpus.isEmpty }) || !recordedDevices.isEmpty {
            let releasing = Set(recorded.keys.filter { !desiredNames.contains($0) && managed[$0] != nil })
            var resolver = DeviceResolver(views: devices, live: live, releasing: releasing)
            let recordedUUIDs = Set(recordedDevices.map(\.uuid))
            resolver.unrecordedCreates = interruptedCreates.filter { $0.kind == .mediatedDevice && !recordedUUIDs.contains($0.name) }
            desired = resolver.resolve(desired, recorded: options.targets.isEmpty ? recordedDevices : [])
            problems += resolver.problems
            warnings = resolver.warnings
            deviceChanges = resolver.changes.filter { $0.usedBy.map(inScope) ?? options.targets.isEmpty }
        }
        for located in desired where inScope(located.value.name) {
            let spec = located.value
            guard live[spec.host] != nil else {
                problems.append(Diagnostic("host '\(spec.host)' of VirtualMachine '\(spec.name)' was not observed", at: located.location))
                continue
            }
            if let other = ownership.otherState(spec.name, on: spec.host) {
                guard options.adopt.contains(spec.name) else {
                    problems.append(Diagnostic(
                        "VirtualMachine '\(spec.name)': the domain on host '\(spec.host)' belongs to \(Self.describe(state: other.owner?.state)); "
                            + "vmplan never takes over another state's domain. To move it to this state, apply with --adopt \(spec.name) "
                            + "and remove it from the other state's manifests (that state then only forgets it)", at: located.location))
                    continue
                }
                changes.append(takenOver(change(for: spec, record: recorded[spec.name], observed: other, rules: rules[spec.host] ?? .kvm,
                                                forceReplace: options.replace.contains(spec.name)), from: other.owner?.state))
                continue
            }
            if let importing = spec.importing, recorded[spec.name] == nil, managed[spec.name] == nil {
                switch DomainImports.change(for: spec, importing: importing, live: live[spec.host] ?? []) {
                case .success(let change): changes.append(change)
                case .failure(let problem): problems.append(Diagnostic(problem.message, at: located.location))
                }
                continue
            }
            if ownership.isForeign(spec.name, on: spec.host), recorded[spec.name] != nil, managed[spec.name] == nil {
                problems.append(Diagnostic(
                    "VirtualMachine '\(spec.name)' is recorded as applied, but the domain '\(spec.name)' on host '\(spec.host)' no longer carries "
                        + "vmplan's marker (it was removed by hand, or the domain was replaced outside vmplan); vmplan does not take over "
                        + "a domain without its marker: remove that domain by hand to have it created again, or rename the VirtualMachine",
                    at: located.location))
                continue
            }
            if ownership.isForeign(spec.name, on: spec.host) {
                problems.append(Diagnostic(
                    "a domain named '\(spec.name)' already exists on host '\(spec.host)' and is not managed by vmplan; "
                        + "vmplan never takes over a domain it did not create: rename the VirtualMachine or remove that domain by hand",
                    at: located.location))
                continue
            }
            let from = managed[spec.name]?.spec.host
            let change = change(for: spec, record: recorded[spec.name], observed: managed[spec.name],
                                rules: rules[spec.host] ?? .kvm, forceReplace: options.replace.contains(spec.name),
                                migratable: rules[spec.host]?.migration == true && from.flatMap { rules[$0] }?.migration == true,
                                volumeBlockers: volumeBlockers, sharedVolumes: sharedVolumes)
            if change.action == .replace, spec.lifecycle.protect {
                let cause = change.notes.first ?? "a replace"
                problems.append(Diagnostic(
                    "VirtualMachine '\(spec.name)' is protected (lifecycle.protect: true), but \(cause); "
                        + "set protect: false and apply first if the replace is intended", at: located.location))
                continue
            }
            if let warning = exposedDisplay(change, at: located.location) { warnings.append(warning) }
            changes.append(change)
        }

        // Recorded VMs no longer in the manifests are deleted, but only domains vmplan owns.
        for (name, record) in recorded where !desiredNames.contains(name) && inScope(name) {
            let host = record.spec.host
            let observed = managed[name]
            if observed == nil, live[host] == nil {
                problems.append(Diagnostic(
                    "VirtualMachine '\(name)' is recorded on host '\(host)', which no Host document names any more; "
                        + "keep the Host document until its VMs are deleted", at: nil))
                continue
            }
            if observed != nil, record.spec.lifecycle.protect {
                problems.append(Diagnostic(
                    "VirtualMachine '\(name)' is protected (lifecycle.protect: true), but it was removed from the manifests, "
                        + "which would delete it; put it back, or apply it once with protect: false before removing it", at: nil))
                continue
            }
            let address = ResourceAddress(.virtualMachine, name, host: host)
            if observed == nil, let other = ownership.otherState(name, on: host) {
                changes.append(ResourceChange(address, action: .forget, reason: .removedFromManifests, effect: .recordOnly,
                                              notes: ["removed from the manifests; the domain '\(name)' on \(host) now belongs to "
                                                  + "\(Self.describe(state: other.owner?.state)) (handed over): only this state's record is dropped"],
                                              before: .virtualMachine(record.spec), previousHost: host))
                continue
            }
            if observed == nil, ownership.isForeign(name, on: host) {
                // Unmarked by hand: no longer provably vmplan's, so it is never deleted.
                changes.append(ResourceChange(address, action: .forget, reason: .removedFromManifests, effect: .recordOnly,
                                              notes: ["removed from the manifests; the domain '\(name)' still exists on \(host) but no longer carries "
                                                  + "vmplan's marker (removed by hand): vmplan leaves it alone and only drops the record"],
                                              before: .virtualMachine(record.spec), previousHost: host))
                continue
            }
            let notes = observed == nil
                ? ["removed from the manifests; the domain is already gone from \(host), only the record is dropped"]
                : ["removed from the manifests"]
            changes.append(ResourceChange(address, action: .delete, reason: .removedFromManifests,
                                          effect: observed == nil ? .recordOnly : .vm([.delete(host: host)]), notes: notes,
                                          before: .virtualMachine(record.spec), previousHost: host))
        }

        guard problems.isEmpty else { throw PlanError(problems) }
        changes.sort { ($0.host, $0.name) < ($1.host, $1.name) }
        // A domain this plan imports is about to be managed: listing it as unmanaged too would contradict the plan.
        let importing = Set(changes.filter { $0.action == .import }.map { DomainOwnership.HostDomain(host: $0.host, name: $0.name) })
        return Plan(changes: changes + deviceChanges, unmanaged: ownership.unmanaged(except: importing), orphans: orphans, warnings: warnings)
    }

    /// A display beyond loopback can be reached by anyone who reaches its address: said whenever a plan sets one up.
    private static func exposedDisplay(_ change: ResourceChange, at location: SourceLocation) -> Diagnostic? {
        guard let graphics = change.desiredVM?.graphics, !graphics.isLoopback,
              change.action == .create || change.action == .replace || change.diffs.contains(where: { $0.field == VMField.graphics.rawValue })
        else { return nil }
        return Diagnostic("VirtualMachine '\(change.name)': its \(graphics.type.rawValue) display listens on \(graphics.listen), beyond loopback: "
            + "anyone who can reach that address sees and controls its screen (vmplan sets no password); "
            + "leave listen out for 127.0.0.1 and reach it through an SSH tunnel", at: location)
    }

    /// `state 3f2c…`, or what a marker without a state id means.
    static func describe(state: String?) -> String {
        state.map { "vmplan state \($0)" } ?? "a vmplan state of unknown id (its marker was written by a vmplan before state ids; "
            + "this state did not record it)"
    }

    /// A change to another state's domain, made this state's by `--adopt`: whatever else it does,
    /// it rewrites the domain's marker to name this state.
    private static func takenOver(_ change: ResourceChange, from state: String?) -> ResourceChange {
        var change = change
        guard let desired = change.desiredVM else { return change }
        change.notes.append("taken over from \(describe(state: state)) with --adopt: its marker now names this state")
        if change.action == .noop || change.action == .adopt {
            change.action = .adopt
            change.reason = .takenOver
        }
        switch change.effect {
        case .vm(let steps) where steps.contains(where: { if case .define = $0 { true } else if case .redefine = $0 { true } else { false } }):
            break
        case .vm(let steps):
            change.effect = .vm([.redefine(desired)] + steps)
        default:
            change.effect = .vm([.redefine(desired)])
        }
        return change
    }

    /// The steps that bring a VM from how it is observed to `desired`.
    private static func create(_ spec: VirtualMachineSpec) -> [VMStep] {
        [.define(spec)] + (spec.state == .running ? [.start] : [])
    }

    private static func change(for manifest: VirtualMachineSpec, record: RecordedVM?, observed: ObservedDomain?,
                               rules: ChangeRules, forceReplace: Bool, migratable: Bool = false,
                               volumeBlockers: [String: String] = [:], sharedVolumes: Set<String> = []) -> ResourceChange {
        let address = ResourceAddress(.virtualMachine, manifest.name, host: manifest.host)
        let before = record.map { ResourceValue.virtualMachine($0.spec) }
        guard let observed else {
            let note = record == nil
                ? "new in the manifests"
                : "recorded as applied, but the domain is gone from \(manifest.host): it was deleted outside vmplan"
            let origin: DiffOrigin = record == nil ? .manifest : .drift
            let diffs = VMFields.orderedValues(of: manifest).map { FieldDiff($0.field, before: nil, after: $0.value, origin: origin) }
            return ResourceChange(address, action: .create, reason: record == nil ? .new : .goneFromHost, effect: .vm(create(manifest)),
                                  diffs: diffs, notes: [note], before: before, after: .virtualMachine(manifest))
        }

        let config = observed.spec
        if config.host != manifest.host || forceReplace {
            let moved = config.host != manifest.host
            let hostDiff = FieldDiff(.host, before: config.host, after: manifest.host, origin: .manifest)
            let blocker = Migration.blocker(manifest, observed: observed, migratable: migratable, volumeBlockers: volumeBlockers,
                                            sharedVolumes: sharedVolumes)
            if moved, !forceReplace, blocker == nil {
                let volumes = Migration.carried(manifest, sharedVolumes: sharedVolumes)
                let shared = manifest.disks.map(\.volume).filter(sharedVolumes.contains)
                return ResourceChange(address, action: .migrate, reason: .hostChanged, effect: .vm([.migrate(from: config.host, volumes: volumes)]),
                                      diffs: [hostDiff], notes: [Migration.note(observed, from: config.host, to: manifest.host, volumes: volumes, shared: shared)],
                                      before: before, after: .virtualMachine(manifest), previousHost: config.host)
            }
            let note = !moved ? "a replace was requested with --replace"
                : "host changed from \(config.host) to \(manifest.host); not migrated: \(blocker ?? "a replace was requested with --replace")"
            return ResourceChange(address, action: .replace, reason: moved ? .hostChanged : .replaceRequested,
                                  effect: .vm([.delete(host: config.host)] + create(manifest)),
                                  diffs: moved ? [hostDiff] : [], notes: [note],
                                  before: before, after: .virtualMachine(manifest), previousHost: config.host)
        }

        // Ignored fields keep whatever the host has: the spec to apply takes them from there.
        let ignoredFields = Set(manifest.lifecycle.ignoreChanges)
        let allDiffs = VMFields.diff(live: config, desired: manifest, recorded: record?.spec)
        let ignored = allDiffs.filter { ignoredFields.contains($0.field) }
        let differences = allDiffs.filter { !ignoredFields.contains($0.field) }
        let diffs = differences.map(\.diff)
        var desired = manifest
        for field in ignoredFields { VMFields.copy(field, from: config, to: &desired) }
        let ignoredNotes = ignored.map {
            "\($0.field.rawValue) differs (\($0.diff.before ?? "-") on the host, \($0.diff.after ?? "-") in the manifests) but is ignored (lifecycle.ignoreChanges)"
        }

        // Disks are live only when every disk that comes or goes is hot-pluggable; NICs only when they come and go.
        let restartClass = { (field: VMField, from: VirtualMachineSpec, to: VirtualMachineSpec) in
            rules.change(for: field) == .restart || (field == .disks && !DiskHotplug.isLive(from: from, to: to))
                || (field == .networks && !NICHotplug.isLive(from: from, to: to))
        }
        // What the running VM has not booted with yet, from an earlier apply with restart: never.
        // So does a live change the running VM did not take (a guest that cannot unplug a vCPU, or
        // has not released an unplugged NIC): its config is ahead of it. (Current memory is left out:
        // a guest without a balloon driver keeps showing its old value, and that is no change to make.)
        let waiting = observed.runningSpec.map { running in
            VMFields.diff(live: running, desired: config, recorded: nil).map(\.field).filter { $0 != .networks && restartClass($0, running, config) }
                + (running.vcpus != config.vcpus && running.vcpus != desired.vcpus ? [.vcpus] : [])
                // Hot-plug leaves the running domain with the config's NICs (order aside); anything else waits.
                + (desired.networks != nil && !NICHotplug.haveSameInterfaces(running, config) ? [.networks] : [])
        } ?? []
        let willRun = desired.state == .running

        if diffs.isEmpty {
            if !waiting.isEmpty, observed.isRunning, willRun, desired.lifecycle.restart == .allowed {
                var change = ResourceChange(address, action: .update, reason: .restartPending, effect: .vm([.restart]), mode: .restart,
                                            notes: ignoredNotes + ["\(waiting.map(\.rawValue).joined(separator: ", ")) wait for a restart, and lifecycle.restart allows one now"],
                                            before: before, after: .virtualMachine(desired))
                change.ignored = ignored.map(\.diff)
                return change
            }
            var notes = ignoredNotes
            if record == nil { notes.append("the domain carries vmplan's marker but was not recorded; recording it") }
            let recordBehind = record?.specHash != desired.specHash || record?.pendingRestart != waiting
            var change = ResourceChange(address, action: record == nil ? .adopt : .noop,
                                        reason: record == nil ? .unrecorded : recordBehind ? .recordBehind : .inSync,
                                        effect: recordBehind ? .recordOnly : .none, notes: notes,
                                        before: before, after: .virtualMachine(desired))
            change.ignored = ignored.map(\.diff)
            change.pendingRestart = waiting
            return change
        }

        var mode: UpdateMode = .live
        var pending = waiting
        var notes: [String] = []
        let configFields = differences.map(\.field).filter { $0 != .state }
        let restartFields = configFields.filter { restartClass($0, config, desired) }
        if !observed.isRunning {
            pending = []
            if !configFields.isEmpty {
                mode = .nextBoot
                notes.append("the VM is stopped: only its config changes")
            }
        } else if !willRun {
            pending = []
            if !configFields.isEmpty {
                mode = .nextBoot
                notes.append("the VM is being stopped: its config changes for the next boot")
            }
        } else if !restartFields.isEmpty || !waiting.isEmpty {
            let needing = Array(Set(restartFields + waiting)).sorted().map(\.rawValue)
            if desired.lifecycle.restart == .never {
                mode = .nextBoot
                pending = Array(Set(restartFields + waiting)).sorted()
                notes.append("\(needing.joined(separator: ", ")) cannot change on a running VM and lifecycle.restart is never: "
                    + "the config changes now, the VM sees it at its next boot")
            } else {
                mode = .restart
                pending = []
                notes.append("\(needing.joined(separator: ", ")) cannot change on a running VM: it restarts (graceful shutdown, then start)")
            }
        }
        for difference in differences where difference.diff.origin == .drift {
            notes.append("\(difference.field.rawValue) was changed on the host outside vmplan (drift)")
        }
        // A restart brings the NICs anyway; with restart: never they come and go live while the rest waits.
        if observed.isRunning, willRun, mode != .restart, configFields.contains(.networks), !restartFields.contains(.networks) {
            let nics = NICHotplug.changes(from: observed.runningSpec ?? config, to: desired)
            notes += nics.unplugged.map { "unplugs NIC \($0.summary) live (the guest must release it)" }
                + nics.plugged.map { "hot-plugs NIC \($0.summary) live" }
        }
        if configFields.contains(.autostart), record != nil, record?.spec.autostart == nil {
            notes.append("autostart was not managed when this VM was last applied; vmplan sets it from now on "
                + "(by default true for state: running)")
        }
        var steps: [VMStep] = configFields.isEmpty ? [] : [.redefine(desired)]
        if desired.state == .stopped {
            // Stopped first: the new config then needs nothing of the running VM (a vCPU it cannot unplug).
            if observed.isRunning { steps.insert(.stop, at: 0) }
        } else if !observed.isRunning {
            steps.append(.start)
        } else if mode == .restart {
            steps.append(.restart)
        }
        var change = ResourceChange(address, action: .update, reason: .fieldsDiffer, effect: .vm(steps), mode: mode, diffs: diffs,
                                    notes: notes + ignoredNotes, before: before, after: .virtualMachine(desired))
        change.ignored = ignored.map(\.diff)
        change.pendingRestart = pending
        return change
    }
}
