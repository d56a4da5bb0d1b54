import Foundation
import Testing
import TestSupport

/// `--format markdown|github` of plan and apply, on a real libvirtd.
@Suite("Markdown plan and apply output on a real libvirtd", .enabled(if: TestHost.shouldRun(), "needs a libvirt host: run scripts/host-up"))
struct MarkdownOutputTests {
    @Test func githubFormatAppendsThePrintedPlanToTheStepSummary() throws {
        let name = TestHost.uniqueName("md-plan")
        let workspace = try Workspace()
        defer { TestHost.removeDomains([name]); workspace.delete() }
        try workspace.write("vm.yaml", Workspace.vm(name, state: "stopped"))
        let summary = workspace.directory.appendingPathComponent("summary.md").path
        let planFile = workspace.directory.appendingPathComponent("web.plan").path
        // An earlier step that left its last line open.
        try "## Earlier step".write(toFile: summary, atomically: true, encoding: .utf8)
        let environment = ["GITHUB_STEP_SUMMARY": summary]

        let first = try TestHost.run(CLI.binary, ["plan", workspace.path, "--format", "github", "--out", planFile], environment: environment)
        #expect(first.status == 0, "\(first.stderr)")
        #expect(first.stdout.hasPrefix("### Plan: 1 to add, 0 to change, 0 to replace, 0 to destroy.\n"))
        #expect(first.stdout.contains("| create | VirtualMachine | \(name) | local | new |"))
        #expect(first.stdout.contains("\n```sh\nvmplan apply \(planFile)\n```\n"), "the saved plan's command")
        #expect(try String(contentsOfFile: summary, encoding: .utf8) == "## Earlier step\n" + first.stdout)

        let second = try TestHost.run(CLI.binary, ["plan", workspace.path, "--format", "github"], environment: environment)
        #expect(second.status == 0, "\(second.stderr)")
        #expect(try String(contentsOfFile: summary, encoding: .utf8) == "## Earlier step\n" + first.stdout + second.stdout, "appended, not overwritten")

        // Other tests' domains may come and go in between: each run is compared with its own output.
        let markdown = try TestHost.run(CLI.binary, ["plan", workspace.path, "--format", "markdown"], environment: environment)
        #expect(markdown.status == 0 && markdown.stdout.hasPrefix("### Plan: 1 to add"))
        #expect(try String(contentsOfFile: summary, encoding: .utf8) == "## Earlier step\n" + first.stdout + second.stdout, "markdown only prints")

        let unwritable = try TestHost.run(CLI.binary, ["plan", workspace.path, "--format", "github"],
                                          environment: ["GITHUB_STEP_SUMMARY": workspace.path])
        #expect(unwritable.status == 1)
        #expect(unwritable.stdout.hasPrefix("### Plan: 1 to add"), "printed before the summary failed")
        #expect(unwritable.stderr.contains("error: cannot append the report to $GITHUB_STEP_SUMMARY (\(workspace.path))"), "\(unwritable.stderr)")

        let both = try CLI.run("plan", workspace.path, "--json", "--format", "markdown")
        #expect(both.status != 0 && both.stderr.contains("--json and --format markdown disagree"))
        #expect(try CLI.run("plan", workspace.path, "--json", "--format", "json").status == 0)
    }

    @Test func applyPrintsItsResultAsMarkdown() throws {
        let name = TestHost.uniqueName("md-apply")
        let workspace = try Workspace()
        defer { TestHost.removeDomains([name]); workspace.delete() }
        try workspace.write("vm.yaml", Workspace.vm(name, state: "stopped"))

        let asking = try CLI.run("apply", workspace.path, "--format", "markdown")
        #expect(asking.status == 1)
        #expect(asking.stderr.contains("error: apply --format markdown cannot ask for a confirmation; pass --auto-approve"))

        let apply = try CLI.run("apply", workspace.path, "--auto-approve", "--format", "markdown")
        #expect(apply.status == 0, "\(apply.stderr)")
        #expect(apply.stdout == """
            ### ✅ Apply complete! Resources: 1 added, 0 changed, 0 destroyed.

            **Applied:**

            | Action | Kind | Name | Host | Detail |
            |---|---|---|---|---|
            | create | VirtualMachine | \(name) | local | new |

            """)
        #expect(apply.stderr.contains("\(name): Creating..."), "progress goes to standard error")
        #expect(try TestHost.domainState(name) == "shut off")

        let again = try CLI.run("apply", workspace.path, "--auto-approve", "--format", "markdown")
        #expect(again.status == 0, "\(again.stderr)")
        #expect(again.stdout.hasPrefix("### ✅ No changes. The hosts match the manifests.\n"), "then only other tests' domains, if any")
    }
}
