import Testing
import Drivers
import Reconciler
import Reports
import Spec

/// Network changes in the text, Markdown and JSON renderings: a live update and a restart are told apart.
@Suite("Reports: networks")
struct NetworkReportTests {
    static let lab = NetworkSpec(name: "lab", host: "kvm-01", address: IPv4Interface(parsing: "198.18.0.1/24"))
    static let summary = "kvm-01, isolated 198.18.0.1/24"

    static let restart = ResourceChange(
        ResourceAddress(.network, "lab", host: "kvm-01"), action: .replace, reason: .fieldsDiffer, effect: .updateNetwork(lab, restart: true),
        mode: .restart, diffs: [FieldDiff(field: "mtu", before: nil, after: "9000", origin: .manifest)],
        notes: ["mtu cannot change on a running network"], before: .network(lab), after: .network(lab), summary: summary)
    static let live = ResourceChange(
        ResourceAddress(.network, "lab", host: "kvm-01"), action: .update, reason: .fieldsDiffer, effect: .updateNetwork(lab, restart: false),
        mode: .live, diffs: [FieldDiff(field: "dhcp.hosts", before: nil, after: "52:54:00:00:00:05=198.18.0.5", origin: .manifest)],
        before: .network(lab), after: .network(lab), summary: summary)

    @Test func theTextSaysWhetherTheNetworkRestarts() {
        #expect(PlanText.render(Self.restart) == [
            "  -/+ network lab (restart: kvm-01, isolated 198.18.0.1/24)",
            "      # mtu cannot change on a running network",
            "      + mtu = 9000",
        ])
        #expect(PlanText.render(Self.live).first == "  ~ network lab (live: kvm-01, isolated 198.18.0.1/24)")
        let create = ResourceChange(ResourceAddress(.network, "lab", host: "kvm-01"), action: .create, reason: .new,
                                    effect: .createNetwork(Self.lab), after: .network(Self.lab), summary: Self.summary)
        #expect(PlanText.render(create).first == "  + network lab (kvm-01, isolated 198.18.0.1/24)")
    }

    @Test func markdownWarnsOfARestartAndNotOfADeletion() {
        let markdown = PlanMarkdown.render(Plan(changes: [Self.restart]))
        #expect(markdown.contains("> Restarted (stopped and started again; the VMs on it lose their connection): network lab."))
        #expect(!markdown.contains("deleted, then created again"))
        #expect(markdown.contains("| **replace** | Network | lab | kvm-01 | fields-differ; restart; kvm-01, isolated 198.18.0.1/24 |"))
    }

    @Test func jsonCarriesTheKindAndTheMode() throws {
        let report = PlanReport.ChangeReport(Self.live)
        #expect(report.kind == .network && report.mode == .live && report.summary == Self.summary)
    }
}

extension NetworkReportTests {
    @Test func driftSuggestionsKeepAnMTUAndExplainWhatTheyCannotKeep() {
        let report = DriftFixtures.report([
            DriftReport.Entry(kind: .network, name: "lab", host: "kvm-01", status: .drifted,
                              fields: [FieldDiff(field: "mtu", before: nil, after: "1400", origin: .drift),
                                       FieldDiff(field: "active", before: "true", after: "false", origin: .drift)],
                              location: "networks.yaml:1:1"),
        ])
        let lines = DriftSuggestion.render(report).components(separatedBy: "\n")
        #expect(lines.contains("# Network lab on kvm-01, declared at networks.yaml:1:1"))
        #expect(lines.contains("  mtu: 1400"))
        #expect(lines.contains("  # active: no manifest field; vmplan keeps every network running and autostarted, so the next apply restores it"))
    }
}
