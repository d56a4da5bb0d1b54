import Testing
import Drivers
import Reconciler
import Reports
import Spec

/// Plans and apply results as Markdown for pull requests: warnings, order, escaping, size limit.
@Suite("Reports: plan and apply Markdown")
struct PlanMarkdownTests {
    typealias T = PlanTextTests

    static func lines(_ text: String) -> [String] { text.components(separatedBy: "\n") }

    static func vm(_ name: String, _ action: Action, host: String = "kvm-01", diffs: [FieldDiff] = [], notes: [String] = []) -> ResourceChange {
        let spec = T.vm(name, host: host)
        let effect: Effect = switch action {
        case .delete: .vm([.delete(host: host)])
        case .replace: .vm([.delete(host: host), .define(spec), .start])
        case .update: .vm([.redefine(spec)])
        default: .vm([.define(spec), .start])
        }
        let reason: ChangeReason = switch action {
        case .delete: .removedFromManifests
        case .replace: .replaceRequested
        case .update: .fieldsDiffer
        default: .new
        }
        return ResourceChange(ResourceAddress(.virtualMachine, name, host: host), action: action, reason: reason, effect: effect,
                              mode: action == .update ? .live : nil, diffs: diffs, notes: notes,
                              after: action == .delete ? nil : .virtualMachine(spec))
    }

    static let scratch = ResourceChange(ResourceAddress(.volume, "scratch", host: "kvm-01"), action: .delete, reason: .removedFromManifests,
                                        effect: .deleteVolume(pool: "p", expectedKey: "/srv/p/scratch"), dataLoss: true, summary: "pool p, 8MiB qcow2")

    static let mixed = Plan(changes: [
        vm("new-1", .create, notes: ["new in the manifests"]),
        vm("web", .update, diffs: [FieldDiff(field: "memory", before: "128MiB", after: "256MiB", origin: .manifest)]),
        vm("db", .replace, notes: ["--replace db"]),
        vm("old", .delete, host: "kvm-02"),
    ])

    @Test func destroysAndReplacesWarnInTheTitleAndComeFirst() {
        let lines = Self.lines(PlanMarkdown.render(Self.mixed))
        #expect(lines.first == "### ⚠️ Destroys or replaces resources. Plan: 1 to add, 1 to change, 1 to replace, 1 to destroy.")
        #expect(lines.contains("> [!WARNING]"))
        #expect(lines.contains("> Destroyed: old. Replaced (deleted, then created again): db."))
        #expect(lines.filter { $0.hasPrefix("| ") && $0.contains("VirtualMachine") } == [
            "| **delete** | VirtualMachine | old | kvm-02 | removed-from-manifests |",
            "| **replace** | VirtualMachine | db | kvm-01 | replace-requested |",
            "| create | VirtualMachine | new-1 | kvm-01 | new |",
            "| update | VirtualMachine | web | kvm-01 | fields-differ; live |",
        ], "delete, replace, then apply order (creates before updates only as the plan has them)")
        #expect(lines.filter { $0.hasPrefix("<details") } == [
            "<details open><summary>replace db on kvm-01: 1 note</summary>",
            "<details><summary>create new-1 on kvm-01: 1 note</summary>",
            "<details><summary>update web on kvm-01: 1 field</summary>",
        ], "a change with neither fields nor notes has no details")
        #expect(lines.contains("| memory | 128MiB | 256MiB |") && lines.contains("- --replace db"))
    }

    @Test func dataLossSaysSoInCapitals() {
        let plan = Plan(changes: [Self.vm("web", .create), Self.scratch])
        let lines = Self.lines(PlanMarkdown.render(plan))
        #expect(lines.first == "### 🛑 DATA LOSS: Plan: 1 to add, 0 to change, 0 to replace, 1 to destroy.")
        #expect(lines.contains("> [!CAUTION]") && lines.contains("> 1 change destroys data for good: volume scratch. Check them before applying."))
        #expect(lines.contains("| **delete** | Volume | scratch | kvm-01 | **DATA LOSS**; removed-from-manifests; pool p, 8MiB qcow2 |"))
    }

    @Test func theSummaryCountsReplacesOnceAndForgetsNotAtAll() {
        let forget = ResourceChange(ResourceAddress(.volume, "keep", host: "kvm-01"), action: .forget, reason: .removedFromManifests, effect: .recordOnly)
        let plan = Plan(changes: [Self.vm("a", .replace), Self.vm("b", .replace), Self.vm("c", .update), forget])
        #expect(PlanMarkdown.summaryLine(plan) == "Plan: 0 to add, 1 to change, 2 to replace, 0 to destroy.")
        #expect(plan.summary == "Plan: 2 to add, 1 to change, 2 to destroy.", "the text plan counts a replace as an add and a destroy")
        #expect(PlanMarkdown.render(plan).contains("| forget | Volume | keep | kvm-01 | removed-from-manifests; kept on the host |"))
    }

    @Test func noChangesIsOneLine() {
        #expect(PlanMarkdown.render(Plan(changes: [])) == "### ✅ No changes. The hosts match the manifests.\n")
        #expect(PlanMarkdown.render(Plan(changes: []), savedPlan: "plan.json") == "### ✅ No changes. The hosts match the manifests.\n",
                "nothing to apply: no command")
        let quiet = PlanMarkdown.render(Plan(changes: [], unmanaged: [UnmanagedDomain(host: "kvm-01", name: "hand*made", isRunning: true)]))
        #expect(Self.lines(quiet).contains("- kvm-01: hand&#42;made (running)"))
    }

    @Test func theSavedPlanCommandIsExactAndQuoted() {
        let plain = Self.lines(PlanMarkdown.render(Self.mixed, savedPlan: "plan.json"))
        #expect(Array(plain.suffix(4)) == ["```sh", "vmplan apply plan.json", "```", ""])
        let odd = Self.lines(PlanMarkdown.render(Self.mixed, savedPlan: "my ```plan```'s.json"))
        #expect(odd.contains("vmplan apply 'my ```plan```'\\''s.json'") && odd.contains("````sh"), "a fence longer than any backtick run")
        let hidden = Self.lines(PlanMarkdown.render(Self.mixed, savedPlan: "-p\n\u{202E}.json"))
        #expect(hidden.contains("vmplan apply $'./-p\\x0a\\xe2\\x80\\xae.json'"))
    }

    @Test func hostileValuesCannotAddRowsTagsOrLines() {
        let hostile = "ok\n  - vm prod (kvm-01)\u{1B}[2J | <b>x</b> & `y` \\ </details> # @team [l](u) *z*\r\u{202E}"
        func plan(_ value: String) -> Plan {
            var change = Self.vm("web", .update, diffs: [FieldDiff(field: "description", before: "a", after: value, origin: .drift)], notes: [value])
            change.summary = value
            change.address.host = "kvm-01" + (value == "b" ? "" : "|x")
            return Plan(changes: [change], unmanaged: [UnmanagedDomain(host: "kvm-01", name: value, isRunning: false)],
                        warnings: [Diagnostic(value, at: nil)])
        }
        let plain = PlanMarkdown.render(plan("b")), evil = PlanMarkdown.render(plan(hostile))
        #expect(Self.lines(evil).count == Self.lines(plain).count)
        #expect(!evil.contains("<b>") && !evil.contains("</details> ") && !evil.contains("@team") && !evil.contains("`y`"))
        #expect(!evil.unicodeScalars.contains { $0 == "\u{1B}" || $0 == "\r" || $0 == "\u{202E}" })
        #expect(Self.lines(evil).filter { $0.hasPrefix("</details>") }.count == 1)
        #expect(Self.lines(evil).contains { $0.hasPrefix("| description (drift) | a | ok&#92;n  - vm prod (kvm-01)&#92;u{1B}&#91;2J &#124; &lt;b&gt;") })
    }

    /// 400 changes with 2KiB values come to about 1.7MB; a PR comment takes 64KiB.
    @Test func aLongPlanLeavesOutWholeChangesFromTheEndAndCountsThem() throws {
        let long = String(repeating: "x|", count: 1_000)
        let creates = (1...400).map { Self.vm("vm-\($0)", .create, diffs: [FieldDiff(field: "description", before: nil, after: long, origin: .manifest)]) }
        let plan = Plan(changes: creates + [Self.scratch], unmanaged: [UnmanagedDomain(host: "kvm-01", name: "hand-made", isRunning: true)])
        let limit = 20_000
        let markdown = PlanMarkdown.render(plan, savedPlan: "plan.json", limit: limit)
        let lines = Self.lines(markdown)
        #expect(markdown.utf8.count <= limit)
        #expect(lines.filter { $0.hasPrefix("<details") }.count == lines.filter { $0 == "</details>" }.count)
        let rows = lines.filter { $0.hasPrefix("| create |") }.count
        #expect(rows > 0 && rows < 400)
        #expect(lines.contains { $0.hasPrefix("| **delete** | Volume | scratch |") }, "the destructive change is kept")
        let last = try #require(lines.last { !$0.isEmpty })
        #expect(last == "_\(400 - rows) more changes left out to keep this short (\(400 - rows) create): "
            + "`vmplan plan` or `vmplan plan --format json` shows everything._")
        #expect(lines.contains("vmplan apply plan.json") && lines.contains("- kvm-01: hand-made (running)"), "what goes around the table stays")
        #expect(lines.first == "### 🛑 DATA LOSS: Plan: 400 to add, 0 to change, 0 to replace, 1 to destroy.", "the title counts everything")

        let tiny = PlanMarkdown.render(plan, limit: 400)
        #expect(tiny.utf8.count <= 400 && !tiny.contains("<details"))
        #expect(tiny.hasSuffix("_401 more changes left out to keep this short (1 delete, 400 create): "
            + "`vmplan plan` or `vmplan plan --format json` shows everything._\n"))
    }

    @Test func applyResultsPutFailuresFirst() {
        var outcome = ApplyOutcome()
        outcome.applied = [Self.vm("web", .create)]
        let plan = Plan(changes: [Self.vm("web", .create), Self.scratch])
        let done = ApplyMarkdown.render(outcome, plan: Plan(changes: [Self.vm("web", .create)]))
        #expect(done == """
            ### ✅ Apply complete! Resources: 1 added, 0 changed, 0 destroyed.

            **Applied:**

            | Action | Kind | Name | Host | Detail |
            |---|---|---|---|---|
            | create | VirtualMachine | web | kvm-01 | new |

            """)
        outcome.failed = [(Self.scratch, "volume busy\n| <b>forged</b> |")]
        let failed = Self.lines(ApplyMarkdown.render(outcome, plan: plan))
        #expect(failed.first == "### ❌ Apply failed: 1 change did not complete. Resources: 1 added, 0 changed, 0 destroyed.")
        #expect(failed.contains("> [!CAUTION]"))
        let failedAt = failed.firstIndex(of: "**Failed:**"), appliedAt = failed.firstIndex(of: "**Applied:**")
        #expect(failedAt != nil && appliedAt != nil && failedAt! < appliedAt!)
        #expect(failed.contains("| delete | Volume | scratch | kvm-01 | volume busy&#92;n&#124; &lt;b&gt;forged&lt;/b&gt; &#124; |"))
    }

    @Test func applyResultsStayUnderTheLimit() throws {
        var outcome = ApplyOutcome()
        let changes = (1...300).map { Self.vm("vm-\($0)-" + String(repeating: "n", count: 100), .create) }
        outcome.applied = Array(changes.dropFirst())
        outcome.failed = [(changes[0], String(repeating: "e", count: 5_000))]
        let markdown = ApplyMarkdown.render(outcome, plan: Plan(changes: changes), limit: 8_000)
        #expect(markdown.utf8.count <= 8_000)
        let lines = Self.lines(markdown)
        #expect(lines.contains { $0.hasPrefix("| create | VirtualMachine | vm-1-") && $0.hasSuffix("eee… |") }, "the failure is kept, its error cut")
        let shown = lines.filter { $0.hasPrefix("| create |") }.count - 1
        let last = try #require(lines.last { !$0.isEmpty })
        #expect(last == "_\(299 - shown) more changes left out to keep this short (\(299 - shown) applied): the apply's log names every change._")
    }
}
