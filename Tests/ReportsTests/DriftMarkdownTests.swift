import Testing
import Reconciler
import Reports
import Spec

/// `vmplan drift` as Markdown for pull requests: statuses, escaping, and staying under the size limit.
@Suite("Reports: drift Markdown")
struct DriftMarkdownTests {
    typealias F = DriftFixtures

    static func lines(_ text: String) -> [String] { text.components(separatedBy: "\n") }

    @Test func theTitleWarnsAndEveryStatusHasItsRow() {
        let markdown = DriftMarkdown.render(F.everyStatus)
        let lines = Self.lines(markdown)
        #expect(lines.first == "### ⚠️ " + DriftText.summaryLine(F.everyStatus.summary))
        #expect(lines.contains("> [!WARNING]"))
        #expect(lines.contains("- kvm-03 (qemu+ssh://kvm-03/system): connection refused"))
        #expect(lines.filter { $0.hasPrefix("| ") && $0.hasSuffix(" |") && $0.contains("VirtualMachine") } == [
            "| drifted | VirtualMachine | web | kvm-01 | 2025-05-01T00:00:00Z |",
            "| missing | VirtualMachine | db | kvm-02 | - |",
            "| unknown | VirtualMachine | gpu | kvm-03 | - |",
            "| not-applied | VirtualMachine | new | kvm-01 | - |",
        ])
        #expect(lines.contains("<details><summary>web on kvm-01: drifted: memory, description; 1 ignored; "
            + "manifest change not applied yet (update; not drift)</summary>"))
        #expect(lines.contains("| labels (ignored) | {tier: web} | {tier: web, on-call: ann} |"))
        #expect(lines.contains("<details><summary>new on kvm-01: manifest change not applied yet (create; not drift)</summary>"))
        #expect(lines.contains("| vcpus | _none_ | 2 |"))
        #expect(lines.filter { $0.hasPrefix("<details>") }.count == 2 && lines.filter { $0 == "</details>" }.count == 2)
        #expect(lines.contains("- kvm-01: hand-made (running)") && lines.contains("- kvm-02: old"))
    }

    @Test func inSyncSaysSoWithoutAWarning() {
        #expect(DriftMarkdown.render(F.report([F.vm("api", .inSync)])) == """
            ### ✅ Drift: 0 drifted, 0 missing, 1 in sync (coverage 100%).

            No drift: every resource on the hosts that answered matches what vmplan recorded.

            """)
    }

    @Test func valuesCannotAddRowsTagsOrLines() {
        let plain = DriftMarkdown.render(F.report([F.vm("web", .drifted, fields: [F.drift(.description, "a", "b")])]))
        let hostile = DriftMarkdown.render(F.report([F.vm("web", .drifted, fields: [F.drift(.description, "a", F.hostile)])]))
        #expect(Self.lines(hostile).count == Self.lines(plain).count)
        #expect(Self.lines(hostile).contains("| description | a | ok&#92;n  - vm prod (kvm-01)&#92;u{1B}&#91;2J &#124; &lt;b&gt;x&lt;/b&gt; "
            + "&amp; &#96;y&#96; &#92;&#92; \"q\" &#35; not: a comment&#92;r&#92;u{202E} |"))
        #expect(!hostile.contains("<b>") && !hostile.unicodeScalars.contains { $0 == "\u{1B}" || $0 == "\r" })
    }

    /// 400 drifted VMs with 2KiB values come to about 1.7MB; a PR comment takes 64KiB.
    @Test func aLongReportLeavesOutWholeResourcesAndSaysHowMany() throws {
        let long = String(repeating: "x|", count: 1_000)
        let resources = (1...400).map { F.vm("vm-\($0)", .drifted, fields: [F.drift(.description, long, long + "y")]) }
        let report = F.report(resources, unmanaged: [UnmanagedDomain(host: "kvm-01", name: "hand-made", isRunning: true)])
        let limit = 20_000
        let markdown = DriftMarkdown.render(report, limit: limit)
        let lines = Self.lines(markdown)
        #expect(markdown.utf8.count <= limit)
        #expect(lines.filter { $0.hasPrefix("<details>") }.count == lines.filter { $0 == "</details>" }.count)
        let rows = lines.filter { $0.hasPrefix("| drifted |") }.count
        #expect(rows > 0 && rows < 400)
        #expect(lines.filter { $0.hasPrefix("<details>") }.count == rows, "a resource's row and its details go together")
        let last = try #require(lines.last { !$0.isEmpty })
        #expect(last == "_\(400 - rows) more resources left out to keep this short (\(400 - rows) drifted): "
            + "`vmplan drift` or `vmplan drift --json` shows everything._")
        #expect(lines.contains("- kvm-01: hand-made (running)"), "the foreign domains stay")
        #expect(lines.first?.hasPrefix("### ⚠️ Drift: 400 drifted") == true, "the summary counts everything")
        #expect(!DriftMarkdown.render(report, limit: 10_000_000).contains("left out"))
    }

    @Test func aLimitBelowTheFixedPartsKeepsTheTitleAndTheCount() {
        let report = F.report((1...3).map { F.vm("vm-\($0)", .missing) }, unknownHosts: [DriftReport.UnknownHost(host: "kvm-09", uri: "qemu:///system",
                                                                                                              error: String(repeating: "e", count: 400))])
        let markdown = DriftMarkdown.render(report, limit: 400)
        #expect(markdown.utf8.count <= 400)
        #expect(markdown == "### ⚠️ Drift: 0 drifted, 3 missing, 0 in sync (coverage 100%).\n\n"
            + "_3 more resources left out to keep this short (3 missing): `vmplan drift` or `vmplan drift --json` shows everything._\n")
    }
}
