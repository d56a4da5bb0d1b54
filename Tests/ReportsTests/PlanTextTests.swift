import Foundation
import Testing
import Drivers
import Reconciler
import Reports
import Spec

/// Plan text for every action and kind, from plans built in memory (no libvirt).
@Suite("Reports: plan text")
struct PlanTextTests {
    static let here = SourceLocation(file: "vms.yaml", line: 1, column: 1)
    static let parent = PCIAddress(parsing: "0000:3b:00.0")!

    static func vm(_ name: String, host: String = "kvm-01", memory: UInt64 = 128, maxMemory: UInt64 = 512,
                   state: PowerState = .running) -> VirtualMachineSpec {
        VirtualMachineSpec(name: name, host: host, vcpus: 1, memory: .mebibytes(memory), maxMemory: .mebibytes(maxMemory), state: state)
    }

    static func domain(_ spec: VirtualMachineSpec) -> ObservedDomain {
        ObservedDomain(name: spec.name, uuid: "uuid-\(spec.name)", id: spec.state == .running ? 7 : nil,
                       owner: OwnershipMarker(resource: spec.name, specHash: spec.specHash), spec: spec, domainType: "kvm")
    }

    static func plan(desired: [VirtualMachineSpec], recorded: [VirtualMachineSpec] = [], live: [VirtualMachineSpec] = [],
                     options: PlanOptions = PlanOptions()) throws -> Plan {
        var byHost: [String: [ObservedDomain]] = ["kvm-01": [], "kvm-02": []]
        for spec in live { byHost[spec.host, default: []].append(domain(spec)) }
        return try Planner.plan(desired: desired.map { Located($0, at: here) },
                                recorded: Dictionary(uniqueKeysWithValues: recorded.map { ($0.name, RecordedVM(spec: $0, specHash: $0.specHash, generation: 1)) }),
                                live: byHost, options: options)
    }

    static func lines(_ plan: Plan) -> [String] { PlanText.render(plan).components(separatedBy: "\n") }

    @Test func createShowsEveryFieldAndTheSummary() throws {
        let text = Self.lines(try Self.plan(desired: [Self.vm("web")]))
        #expect(text.starts(with: ["vmplan will perform the following actions:", "", "  + web (kvm-01)", "      # new in the manifests",
                                   "      + vcpus     = 1", "      + maxVcpus  = 1", "      + memory    = 128MiB"]))
        #expect(text.last == "Plan: 1 to add, 0 to change, 0 to destroy.")
    }

    @Test func updatesNameTheirModeAndMarkDrift() throws {
        let live = Self.plan
        let memory = try live([Self.vm("web", memory: 256)], [Self.vm("web")], [Self.vm("web")], PlanOptions())
        #expect(Self.lines(memory).contains("  ~ web (live)"))
        #expect(Self.lines(memory).contains("      ~ memory = 128MiB -> 256MiB"))

        let restart = try live([Self.vm("web", maxMemory: 1024)], [Self.vm("web")], [Self.vm("web")], PlanOptions())
        #expect(Self.lines(restart).contains("  ~ web (restart)"))
        #expect(Self.lines(restart).contains("      # maxMemory cannot change on a running VM: it restarts (graceful shutdown, then start)"))

        let stopped = try live([Self.vm("web", memory: 256, state: .stopped)], [Self.vm("web", state: .stopped)], [Self.vm("web", state: .stopped)], PlanOptions())
        #expect(Self.lines(stopped).contains("  ~ web (next-boot)"))

        // Someone changed the host; the manifests did not move.
        let drift = try live([Self.vm("web")], [Self.vm("web")], [Self.vm("web", memory: 192)], PlanOptions())
        #expect(Self.lines(drift).contains("      ~ memory = 192MiB -> 128MiB   (drift)"))
        #expect(Self.lines(drift).contains("      # memory was changed on the host outside vmplan (drift)"))
    }

    @Test func replacesSayWhyFromTheirReason() throws {
        let moved = try Self.plan(desired: [Self.vm("web", host: "kvm-02")], recorded: [Self.vm("web")], live: [Self.vm("web")])
        #expect(Self.lines(moved).contains("  -/+ web (replace: host changed)"))
        #expect(Self.lines(moved).contains("      ~ host = kvm-01 -> kvm-02"))
        #expect(moved.changes.first?.reason == .hostChanged)
        let forced = try Self.plan(desired: [Self.vm("web")], recorded: [Self.vm("web")], live: [Self.vm("web")],
                                   options: PlanOptions(replace: ["web"]))
        #expect(Self.lines(forced).contains("  -/+ web (replace: requested)"))
        #expect(Self.lines(forced).last == "Plan: 1 to add, 0 to change, 1 to destroy.")
    }

    @Test func deletesNameTheHostTheDomainIsOn() throws {
        let plan = try Self.plan(desired: [], recorded: [Self.vm("old", host: "kvm-02")], live: [Self.vm("old", host: "kvm-02")])
        #expect(Self.lines(plan).contains("  - old (kvm-02)"))
        #expect(Self.lines(plan).last == "Plan: 0 to add, 0 to change, 1 to destroy.")
    }

    @Test func storageAndMdevsShowTheirSummaryAndDataLoss() {
        let pool = StoragePoolSpec(name: "vg", host: "kvm-01", type: .logical, path: "/dev/vg")
        let volume = VolumeSpec(name: "scratch", pool: "p", capacity: .mebibytes(8))
        let device = RecordedDevice(uuid: "u-1", host: "kvm-01", type: "nvidia-222", parent: Self.parent)
        let plan = Plan(changes: [
            ResourceChange(ResourceAddress(.storagePool, "vg", host: "kvm-01"), action: .create, reason: .new, effect: .createPool(pool),
                           notes: ["build: true makes the volume group"], after: .storagePool(pool), dataLoss: true, summary: "kvm-01, logical vg"),
            ResourceChange(ResourceAddress(.volume, "scratch", host: "kvm-01"), action: .delete, reason: .removedFromManifests,
                           effect: .deleteVolume(pool: "p", expectedKey: "/srv/p/scratch"), before: .volume(volume), dataLoss: true,
                           summary: "pool p, 8MiB qcow2"),
            ResourceChange(ResourceAddress(.volume, "keep", host: "kvm-01"), action: .forget, reason: .removedFromManifests,
                           effect: .recordOnly, summary: "pool p, 8MiB qcow2"),
            ResourceChange(ResourceAddress(.volume, "data", host: "kvm-01"), action: .update, reason: .fieldsDiffer,
                           effect: .growVolume(pool: "p", to: .gibibytes(2)),
                           diffs: [FieldDiff(field: "capacity", before: "1GiB", after: "2GiB", origin: .manifest)], summary: "pool p, 2GiB qcow2"),
            ResourceChange(device.address, action: .create, reason: .neededByVM, effect: .createMediatedDevice(type: "nvidia-222", parent: Self.parent),
                           notes: ["vGPU for desk"], after: .mediatedDevice(device), summary: "nvidia-222 on 0000:3b:00.0", usedBy: "desk"),
        ])
        let text = Self.lines(plan)
        #expect(text.contains("  + pool vg (DATA LOSS: build: true erases its devices; kvm-01, logical vg)"))
        #expect(text.contains("  - volume scratch (DATA LOSS: reclaim: delete; pool p, 8MiB qcow2)"))
        #expect(text.contains("  - volume keep (kept on the host; vmplan forgets it)"))
        #expect(text.contains("  ~ volume data (pool p, 2GiB qcow2)"))
        #expect(text.contains("      ~ capacity = 1GiB -> 2GiB"))
        #expect(text.contains("  + mdev u-1 (nvidia-222 on 0000:3b:00.0, host kvm-01)"))
        #expect(text.last == "Plan: 2 to add, 1 to change, 1 to destroy.", "a forgotten volume is not destroyed")
        // Apply order: pool, volume builds, the mdev, then removals.
        let headers = text.filter { $0.hasPrefix("  ") && !$0.hasPrefix("    ") }
        #expect(headers.map { $0.split(separator: " ")[1] } == ["pool", "volume", "mdev", "volume", "volume"])
    }

    @Test func quietPlansSayWhatWasLeftAloneAndWhatIsOnlyRecorded() throws {
        var spec = Self.vm("web")
        spec.lifecycle.ignoreChanges = [.memory]
        let ignored = try Self.plan(desired: [spec], recorded: [spec], live: [Self.vm("web", memory: 192)])
        #expect(Self.lines(ignored) == ["Ignored differences (lifecycle.ignoreChanges; not acted on):",
                                        "    web.memory: 192MiB on the host, 128MiB in the manifests", "",
                                        "No changes. The hosts match the manifests."])
        let adopted = try Self.plan(desired: [Self.vm("web")], live: [Self.vm("web")])
        #expect(adopted.changes.map(\.action) == [.adopt])
        #expect(Self.lines(adopted) == ["To record (vmplan's by their marker, not yet in this state; the hosts are not changed):",
                                        "    web (kvm-01)", "", "No changes. The hosts match the manifests."])
    }

    @Test func unmanagedDomainsAreNamedAFewPerHost() {
        let domains = (1...12).map { UnmanagedDomain(host: "kvm-01", name: "d\($0)", isRunning: $0 == 1) }
        let lines = PlanText.renderUnmanaged(domains, shown: 2)
        #expect(lines == ["Unmanaged domains (not created by vmplan; never changed or deleted):",
                          "    kvm-01: d1 (running), d2 (shut off), and 10 more (--show-unmanaged lists them)"])
    }

    /// A volume moving with its VM: the new host's copy says where it comes from, the old host's
    /// copy says which host it is on (the address alone would not).
    @Test func aMovingVolumeNamesBothHosts() {
        let volume = VolumeSpec(name: "data", pool: "p", capacity: .mebibytes(16))
        var made = ResourceChange(ResourceAddress(.volume, "data", host: "kvm-02"), action: .migrate, reason: .hostChanged,
                                  effect: .createVolume(volume, .empty), notes: ["moves from kvm-01 to kvm-02 with web"],
                                  after: .volume(volume), summary: "pool p, 16MiB qcow2", previousHost: "kvm-01")
        made.recordHost = "kvm-01"
        #expect(PlanText.render(made).first == "  ~> volume data (migrate: kvm-01 -> kvm-02; pool p, 16MiB qcow2)")
        let kept = ResourceChange(ResourceAddress(.volume, "data", host: "kvm-01"), action: .forget, reason: .hostChanged,
                                  effect: .leaveBehind(pool: "p", expectedKey: "/srv/p/data", delete: false), after: .volume(volume))
        #expect(PlanText.render(kept).first == "  - volume data (kept on kvm-01; vmplan forgets it there)")
        let removed = ResourceChange(ResourceAddress(.volume, "data", host: "kvm-01"), action: .forget, reason: .removedFromManifests,
                                     effect: .recordOnly, before: .volume(volume))
        #expect(PlanText.render(removed).first == "  - volume data (kept on the host; vmplan forgets it)")
    }
}
