import Foundation
import Testing
import TestSupport
import PostgresState
import State

/// examples/ci/github-actions.yml and gitlab-ci.yml, read as YAML and their steps run against a real libvirtd.
@Suite("CI recipes", .enabled(if: CIRecipe.unavailable == nil, "\(CIRecipe.unavailable ?? "")"))
struct CIRecipeTests {
    static let github = "examples/ci/github-actions.yml"
    static let gitlab = "examples/ci/gitlab-ci.yml"
    /// What GitHub runs a step with under `shell: bash`.
    static let githubShell = ["bash", "--noprofile", "--norc", "-eo", "pipefail"]
    /// GitLab's shell executor stops the job at the first failing script line, as `-e` does.
    static let gitlabShell = ["bash", "-e"]

    @Test func theGitHubWorkflowPlansPullRequestsAndReconcilesPushesWithFullHistory() throws {
        let workflow = try CIRecipe(Self.github)
        // PyYAML reads the bare key `on` as YAML 1.1's true.
        let on = try #require((workflow["on"] ?? workflow.document["true"]) as? [String: Any])
        #expect(on["pull_request"] != nil && on["schedule"] != nil)
        #expect((on["push"] as? [String: Any])?["branches"] as? [String] == ["main"])
        #expect(workflow["defaults", "run", "shell"] as? String == "bash")
        for (job, event) in [("plan", "pull_request"), ("reconcile", "push"), ("drift", "schedule")] {
            #expect((workflow["jobs", job, "if"] as? String)?.contains("github.event_name == '\(event)'") == true, "\(job)")
            #expect((workflow["jobs", job, "runs-on"] as? [String])?.contains("self-hosted") == true, "\(job)")
        }
        let plan = workflow.steps("plan")
        #expect(plan.contains { ($0["run"] as? String)?.contains("--detailed-exitcode --out vmplan.plan --format github") == true })
        let upload = try #require(plan.first { ($0["uses"] as? String)?.hasPrefix("actions/upload-artifact@") == true })
        #expect((upload["with"] as? [String: Any])?["path"] as? String == "vmplan.plan")
        let checkout = try #require(workflow.steps("reconcile").first { ($0["uses"] as? String)?.hasPrefix("actions/checkout@") == true })
        #expect((checkout["with"] as? [String: Any])?["fetch-depth"] as? Int == 0, "a shallow clone would make every push look like a rollback")
        #expect(workflow.vmplanRuns("reconcile").first?.contains(#"vmplan reconcile --repo . --ref "$GITHUB_SHA""#) == true)
        // The shared state's URL from a variable, its password from a secret, neither written in the file.
        #expect(workflow.strings("env")["VMPLAN_STATE"] == "${{ vars.VMPLAN_STATE }}")
        #expect(workflow.strings("env")["PGPASSWORD"] == "${{ secrets.VMPLAN_PGPASSWORD }}")
    }

    @Test(.enabled(if: TestHost.shouldRun(), "needs a libvirt host: run scripts/host-up"),
          .enabled(if: TestPostgres.shouldRun(), "needs a PostgreSQL server for the shared state: run scripts/postgres-up"))
    func theGitHubWorkflowStepsRunAsAGitHubRunnerRunsThem() throws {
        let workflow = try CIRecipe(Self.github)
        let name = TestHost.uniqueName("gha")
        let runner = try CIRunner()
        let state = try TestPostgres.newState()
        defer { TestHost.removeDomains([name]); runner.delete(); TestPostgres.drop(state) }
        let first = try runner.checkout.commitVM(name, "first VM")
        let summary = runner.scratch.appendingPathComponent("summary.md").path

        func run(_ job: String, event: String, sha: String, _ extra: [String: String] = [:]) throws -> [TestHost.Output] {
            // The test server trusts local connections: the secret is not set, as in a fork's pull request.
            let values = ["github.repository": "example/fleet", "github.sha": sha, "github.workspace": runner.checkout.path,
                          "vars.VMPLAN_STATE": state, "secrets.VMPLAN_PGPASSWORD": ""]
            let environment = workflow.strings("env").mapValues { CIRecipe.substitute($0, values) }
                .merging(["GITHUB_ACTIONS": "true", "GITHUB_EVENT_NAME": event, "GITHUB_SHA": sha, "GITHUB_REPOSITORY": "example/fleet",
                          "GITHUB_WORKSPACE": runner.checkout.path, "GITHUB_STEP_SUMMARY": summary]) { $1 }
                .merging(extra) { $1 }
            let scripts = workflow.vmplanRuns(job)
            #expect(!scripts.isEmpty, "\(job) runs vmplan")
            return try scripts.map { try runner.run(CIRecipe.substitute($0, values), shell: Self.githubShell, environment: environment) }
        }
        func summaryText() -> String { (try? String(contentsOfFile: summary, encoding: .utf8)) ?? "" }

        // A pull request: validate, then a plan with changes, which passes.
        for step in try run("plan", event: "pull_request", sha: first) {
            #expect(step.status == 0, "\(step.stdout)\(step.stderr)")
        }
        #expect(FileManager.default.fileExists(atPath: runner.checkout.directory.appendingPathComponent("vmplan.plan").path), "the artifact")
        #expect(try TestHost.domainState(name) == nil, "a plan changes nothing")
        if CIRecipe.planHasFormat {
            #expect(summaryText().contains(name), "the plan is in the job summary: \(summaryText())")
        } else {
            print("NOTE: this vmplan's plan has no --format yet; the plan step ran without --format github and its summary is not checked")
        }

        // The merge: reconciled, the commit recorded, the output in the job summary.
        let pushed = try run("reconcile", event: "push", sha: first)
        #expect(pushed.map(\.status) == [0], "\(pushed.map { $0.stdout + $0.stderr })")
        #expect(try TestHost.domainState(name) == "shut off")
        #expect(try CLI.run("state", "runs", "--state", state).stdout.contains(String(first.prefix(12))))
        #expect(summaryText().contains("### vmplan reconcile \(first.prefix(12))") && summaryText().contains("Apply complete!"), "\(summaryText())")

        // The hourly check: in sync.
        let drift = try run("drift", event: "schedule", sha: first)
        #expect(drift.map(\.status) == [0], "\(drift.map { $0.stdout + $0.stderr })")

        // Another run holds the state (this test process, as another runner would): retried, then the step fails with exit 3.
        let second = try runner.checkout.commitVM(name, memory: "96MiB", "more memory")
        let lock = try PostgresStateStore(url: state).acquireLock(LockRequest(holder: "bob@ci", operation: .reconcile, warn: { _ in }))
        let locked = try run("reconcile", event: "push", sha: second, ["VMPLAN_LOCK_RETRIES": "2", "VMPLAN_RETRY_SECONDS": "0"])
        #expect(locked.map(\.status) == [3], "\(locked.map { $0.stdout + $0.stderr })")
        #expect(locked.first?.stdout.contains("::notice::The state is locked by another run; attempt 1 of 2") == true)
        #expect(locked.first?.stdout.contains("is locked by vmplan reconcile (bob@ci)") == true)
        #expect(TestHost.element("currentMemory", in: try #require(try TestHost.inactiveXML(name))) == "65536")
        try lock.release()
        #expect(try run("reconcile", event: "push", sha: second).map(\.status) == [0])
        #expect(TestHost.element("currentMemory", in: try #require(try TestHost.inactiveXML(name))) == "98304")

        // A late job for the older commit: refused with exit 4, nothing rolled back.
        let late = try run("reconcile", event: "push", sha: first)
        #expect(late.map(\.status) == [4], "\(late.map { $0.stdout + $0.stderr })")
        #expect(late.first?.stdout.contains("::error::Not applied: \(first) does not descend") == true)
        #expect(TestHost.element("currentMemory", in: try #require(try TestHost.inactiveXML(name))) == "98304")
    }

    @Test(.enabled(if: TestHost.shouldRun(), "needs a libvirt host: run scripts/host-up"),
          .enabled(if: TestPostgres.shouldRun(), "needs a PostgreSQL server for the shared state: run scripts/postgres-up"))
    func theGitLabJobsRunAsAGitLabShellRunnerRunsThem() throws {
        let pipeline = try CIRecipe(Self.gitlab)
        #expect((pipeline["reconcile", "variables", "GIT_DEPTH"] as? String) == "0", "a shallow clone would make every push look like a rollback")
        #expect(pipeline["reconcile", "resource_group"] != nil)
        // The shared state's URL, without a password; the password is a CI/CD variable, never in the file.
        let url = try #require(pipeline.strings("variables")["VMPLAN_STATE"])
        let location = try PostgresLocation(url: url, environment: [:])
        #expect(url.hasPrefix("postgres://") && location.password == nil && location.tls == .require)
        #expect(pipeline.strings("variables")["PGPASSWORD"] == nil)
        let name = TestHost.uniqueName("gitlab")
        let runner = try CIRunner()
        let state = try TestPostgres.newState()
        defer { TestHost.removeDomains([name]); runner.delete(); TestPostgres.drop(state) }
        let commit = try runner.checkout.commitVM(name, "first VM")
        // The project's CI/CD variables override the file's: here, the test server's state.
        let predefined = ["CI_COMMIT_SHA": commit, "CI_PROJECT_PATH": "example/fleet", "CI_PROJECT_DIR": runner.checkout.path,
                          "VMPLAN_STATE": state]
        // GitLab expands $NAME in a variable from the predefined ones and those defined before it.
        let variables = pipeline.strings("variables").merging(predefined) { $1 }
        let environment = variables.mapValues { CIRecipe.expand($0, variables) }

        for (job, expected) in [("validate", 0), ("plan", 0), ("reconcile", 0), ("drift", 0)] {
            let (rules, script) = (pipeline[job, "rules"] as? [[String: Any]] ?? [], pipeline.script(job))
            #expect(!rules.isEmpty && script.contains("vmplan "), "\(job)")
            let result = try runner.run(script, shell: Self.gitlabShell, environment: environment)
            #expect(result.status == Int32(expected), "\(job): \(result.stdout)\(result.stderr)")
        }
        #expect(try TestHost.domainState(name) == "shut off")
        #expect(FileManager.default.fileExists(atPath: runner.checkout.directory.appendingPathComponent("vmplan-plan.md").path))
        #expect(try CLI.run("state", "runs", "--state", state).stdout.contains(String(commit.prefix(12))))
    }
}
