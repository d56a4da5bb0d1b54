import Testing
import Reconciler
import Reports
import Spec

/// `vmplan drift` as text, from reports built in memory.
@Suite("Reports: drift text")
struct DriftTextTests {
    typealias F = DriftFixtures

    @Test func everyStatusHasItsRowAndDriftIsToldApartFromPending() {
        #expect(DriftText.render(F.everyStatus).components(separatedBy: "\n") == [
            "Drift: 1 drifted, 1 missing, 1 unknown, 2 pending, 1 not applied, 2 in sync, 1 ignored, 1 unmanaged, 1 orphaned (coverage 75%).",
            "",
            "  STATUS       KIND            NAME  HOST    FIRST SEEN",
            "  drifted      VirtualMachine  web   kvm-01  2025-05-01T00:00:00Z (3d ago)",
            "  missing      VirtualMachine  db    kvm-02  -",
            "  unknown      VirtualMachine  gpu   kvm-03  -",
            "  not-applied  VirtualMachine  new   kvm-01  -",
            "",
            "Changed on the hosts since vmplan recorded them (recorded -> live):",
            "  ~ web (kvm-01)",
            "      ~ memory      = 1GiB (recorded) -> 2GiB (live)",
            "      ~ description = (none) (recorded) -> changed by hand (live)",
            "        labels      = {tier: web} (recorded) -> {tier: web, on-call: ann} (live)   (ignored)",
            "",
            "Manifest changes not applied yet (not drift; `vmplan plan` shows what an apply would do):",
            "  ~ web (kvm-01, update)",
            "      ~ vcpus = 1 (recorded) -> 2 (manifests)",
            "  + new (kvm-01, create)",
            "      ~ vcpus = (none) (recorded) -> 2 (manifests)",
            "",
            "Hosts that could not be checked (their resources are unknown):",
            "    kvm-03 (qemu+ssh://kvm-03/system): connection refused",
            "",
            "Unmanaged domains (not created by vmplan; never changed or deleted):",
            "    kvm-01: hand-made (running)",
            "",
            "Domains with vmplan's marker that no manifest names and this state did not record (left alone; another state's, "
                + "or left behind by one):",
            "    kvm-02: old (shut off, state s-1)",
        ])
    }

    @Test func allInSyncSaysSoInOneLine() {
        #expect(DriftText.render(F.report([F.vm("api", .inSync)])) == """
            Drift: 0 drifted, 0 missing, 1 in sync (coverage 100%).

            No drift: every resource on the hosts that answered matches what vmplan recorded.
            """)
    }

    @Test func valuesFromHostsCannotDrawLines() {
        let report = F.report([F.vm("web", .drifted, fields: [F.drift(.description, "a", F.hostile)])],
                              unknownHosts: [DriftReport.UnknownHost(host: "kvm-03", uri: "qemu:///system", error: "refused\nDrift: 0 drifted")])
        let text = DriftText.render(report)
        #expect(!text.unicodeScalars.contains { $0 == "\u{1B}" || $0 == "\r" || $0 == "\u{202E}" })
        #expect(text.components(separatedBy: "\n").count == 11)
        #expect(text.contains(#"      ~ description = a (recorded) -> ok\n  - vm prod (kvm-01)\u{1B}[2J | <b>x</b> & `y` \\ "q" # not: a comment\r\u{202E} (live)"#))
        #expect(text.contains(#"    kvm-03 (qemu:///system): refused\nDrift: 0 drifted"#))
        #expect(text.components(separatedBy: "\n").filter { $0.hasPrefix("Drift:") }.count == 1)
    }

    @Test func coverageIsAHundredPercentOnlyWhenItIsAll() {
        let line = { (coverage: Double) in DriftText.summaryLine(DriftReport.Summary(coverage: coverage)) }
        #expect(line(0.999) == "Drift: 0 drifted, 0 missing, 0 in sync (coverage 99%).")
        #expect(line(0.001) == "Drift: 0 drifted, 0 missing, 0 in sync (coverage 1%).")
        #expect(line(0) == "Drift: 0 drifted, 0 missing, 0 in sync (coverage 0%).")
        #expect(line(1) == "Drift: 0 drifted, 0 missing, 0 in sync (coverage 100%).")
    }

    @Test func foreignDomainsAreNamedAFewPerHostAndCounted() {
        let domains = (1...7).map { UnmanagedDomain(host: "kvm-01", name: "d\($0)", isRunning: false) }
        let text = DriftText.render(F.report([], unmanaged: domains), domainsShown: 2)
        #expect(text.hasSuffix("    kvm-01: d1 (shut off), d2 (shut off), and 5 more (`vmplan drift --json` lists them)"))
    }
}
