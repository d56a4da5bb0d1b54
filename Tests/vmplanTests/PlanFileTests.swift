import Foundation
import Testing
import TestSupport

/// Saved plans, JSON output and recovery from a killed apply, on a real libvirtd.
@Suite("Plan files, JSON and recovery on a real libvirtd", .enabled(if: TestHost.shouldRun(), "needs a libvirt host: run scripts/host-up"))
struct PlanFileTests {
    @Test func aSavedPlanAppliesAndIsRefusedOnceAnythingMoved() throws {
        let a = TestHost.uniqueName("plan-a")
        let b = TestHost.uniqueName("plan-b")
        let workspace = try Workspace()
        defer { TestHost.removeDomains([a, b]); workspace.delete() }
        let planFile = workspace.directory.appendingPathComponent("web.plan").path
        try workspace.write("a.yaml", Workspace.vm(a, state: "stopped"))
        try workspace.write("b.yaml", Workspace.vm(b, state: "stopped"))

        let plan = try CLI.run("plan", workspace.path, "--out", planFile)
        #expect(plan.status == 0, "\(plan.stderr)")
        #expect(plan.stdout.contains("vmplan apply \(planFile)"))
        let applied = try CLI.run("apply", planFile)
        #expect(applied.status == 0, "\(applied.stdout)\(applied.stderr)")
        #expect(try TestHost.domainState(a) == "shut off" && TestHost.domainState(b) == "shut off")

        // An unrelated manifest edit after the plan was made: refused, with what changed.
        try workspace.write("a.yaml", Workspace.vm(a, memory: "96MiB", state: "stopped"))
        #expect(try CLI.run("plan", workspace.path, "--out", planFile).status == 0)
        try workspace.write("b.yaml", Workspace.vm(b, memory: "80MiB", state: "stopped"))
        let stale = try CLI.run("apply", planFile)
        #expect(stale.status == 1)
        #expect(stale.stderr.contains("no longer matches what it was made from"))
        #expect(stale.stderr.contains("  - manifests: \(b): maxMemory 64MiB -> 80MiB, memory 64MiB -> 80MiB\n"))
        #expect(TestHost.element("currentMemory", in: try #require(try TestHost.inactiveXML(a))) == "65536", "nothing applied")

        // An out-of-band change through virsh: refused, naming the domain and the field.
        try workspace.write("b.yaml", Workspace.vm(b, state: "stopped"))
        #expect(try CLI.run("plan", workspace.path, "--out", planFile).status == 0)
        #expect(try TestHost.virsh("setmaxmem", a, "72M", "--config").status == 0)
        let drifted = try CLI.run("apply", planFile)
        #expect(drifted.status == 1)
        #expect(drifted.stderr.contains("  - live state: local/\(a): maxMemory 64MiB -> 72MiB\n"), "\(drifted.stderr)")

        // A fresh plan of the same edits applies.
        #expect(try CLI.run("plan", workspace.path, "--out", planFile).status == 0)
        let fresh = try CLI.run("apply", planFile)
        #expect(fresh.status == 0, "\(fresh.stdout)\(fresh.stderr)")
        #expect(TestHost.element("currentMemory", in: try #require(try TestHost.inactiveXML(a))) == "98304")

        // A plan saved by a vmplan that wrote format version 1 (separate deviceChanges) is refused.
        let old = workspace.directory.appendingPathComponent("old.plan").path
        try #"{"format": "vmplan-plan", "formatVersion": 1, "changes": [], "deviceChanges": []}"#.write(toFile: old, atomically: true, encoding: .utf8)
        let refused = try CLI.run("apply", old)
        #expect(refused.status == 1)
        #expect(refused.stderr.contains("the plan file has format version 1; this vmplan reads version 2 only: make the plan again"), "\(refused.stderr)")
    }

    @Test func jsonOutputFollowsTheDocumentedFormat() throws {
        let name = TestHost.uniqueName("json")
        let workspace = try Workspace()
        defer { TestHost.removeDomains([name]); workspace.delete() }
        try workspace.write("vm.yaml", Workspace.vm(name, memory: "64MiB", maxMemory: "128MiB", state: "stopped"))

        let plan = try CLI.run("plan", workspace.path, "--json")
        #expect(plan.status == 0, "\(plan.stderr)")
        let document = try #require(try JSONSerialization.jsonObject(with: Data(plan.stdout.utf8)) as? [String: Any])
        #expect(document["format"] as? String == "vmplan-plan")
        #expect(document["formatVersion"] as? Int == 2)
        #expect(document["kind"] as? String == "plan")
        #expect((document["createdAt"] as? String).flatMap { ISO8601DateFormatter().date(from: $0) } != nil)
        #expect(document["manifests"] as? String == URL(fileURLWithPath: workspace.path).standardizedFileURL.path)
        let summary = try #require(document["summary"] as? [String: Int])
        #expect(summary == ["add": 1, "change": 0, "destroy": 0])
        let changes = try #require(document["changes"] as? [[String: Any]])
        let change = try #require(changes.first { $0["name"] as? String == name })
        #expect(change["kind"] as? String == "VirtualMachine")
        #expect(change["action"] as? String == "create")
        #expect(change["host"] as? String == "local")
        #expect((change["notes"] as? [String])?.isEmpty == false)
        #expect(change["reason"] as? String == "new")
        let fields = try #require(change["fields"] as? [[String: Any]])
        let memory = try #require(fields.first { $0["field"] as? String == "memory" })
        #expect(memory["after"] as? String == "64MiB")
        #expect(memory["before"] == nil)
        #expect(memory["origin"] as? String == "manifest")
        #expect(document["unmanaged"] is [[String: Any]])
        #expect((document["inputs"] as? [String: Any])?["desired"] is [String: Any])

        #expect(try CLI.run("apply", workspace.path, "--auto-approve").status == 0)
        try workspace.write("vm.yaml", Workspace.vm(name, memory: "96MiB", maxMemory: "128MiB", state: "stopped"))
        let apply = try CLI.run("apply", workspace.path, "--auto-approve", "--json")
        #expect(apply.status == 0, "\(apply.stderr)")
        let applied = try #require(try JSONSerialization.jsonObject(with: Data(apply.stdout.utf8)) as? [String: Any])
        #expect(applied["kind"] as? String == "apply")
        let update = try #require((applied["changes"] as? [[String: Any]])?.first { $0["name"] as? String == name })
        #expect(update["action"] as? String == "update")
        #expect(update["mode"] as? String == "next-boot")
        let result = try #require(applied["result"] as? [String: Any])
        #expect(result["succeeded"] as? Bool == true)
        #expect(result["applied"] as? [String] == [name])
        #expect((result["failed"] as? [Any])?.isEmpty == true)
        #expect(apply.stderr.contains("\(name): Modifying..."), "progress goes to standard error with --json")
    }

    @Test func anApplyKilledBetweenTwoChangesConvergesOnTheNextRun() throws {
        // Deletions run first, then the rest in name order: a quick delete, a quick create, then a
        // stop that waits for a guest that never answers ACPI, which is where the apply gets killed.
        let gone = TestHost.uniqueName("a-gone")
        let fresh = TestHost.uniqueName("m-new")
        let slow = TestHost.uniqueName("z-slow")
        let workspace = try Workspace()
        defer { TestHost.removeDomains([gone, fresh, slow]); workspace.delete() }
        try workspace.write("gone.yaml", Workspace.vm(gone, state: "stopped"))
        try workspace.write("slow.yaml", Workspace.vm(slow))
        #expect(try CLI.run("apply", workspace.path, "--auto-approve").status == 0)
        try workspace.remove("gone.yaml")
        try workspace.write("fresh.yaml", Workspace.vm(fresh, state: "stopped"))
        try workspace.write("slow.yaml", Workspace.vm(slow, state: "stopped"))

        let apply = Process()
        apply.executableURL = URL(fileURLWithPath: CLI.binary)
        apply.arguments = ["apply", workspace.path, "--auto-approve", "--shutdown-timeout", "120"]
        apply.standardOutput = FileHandle.nullDevice
        apply.standardError = FileHandle.nullDevice
        try apply.run()
        let deadline = Date().addingTimeInterval(60)
        var reachedSlow = false
        while Date() < deadline && !reachedSlow {
            let rows = (try? TestSQL.query(workspace.statePath, "SELECT name || ':' || status FROM journal")) ?? ""
            reachedSlow = rows.contains("\(slow):pending") && rows.contains("\(fresh):done") && rows.contains("\(gone):done")
            if !reachedSlow { Thread.sleep(forTimeInterval: 0.05) }
        }
        #expect(reachedSlow, "the apply should reach the third change")
        kill(apply.processIdentifier, SIGKILL)
        apply.waitUntilExit()
        #expect(apply.terminationReason == .uncaughtSignal)

        let plan = try CLI.run("plan", workspace.path)
        #expect(plan.stdout.contains("An earlier apply stopped before finishing 1 change (\(slow))"), "\(plan.stdout)")
        // Stopping it also turns its autostart off (the default for state: stopped): a config change for the next boot.
        #expect(plan.stdout.contains("~ \(slow) (next-boot)"), "\(plan.stdout)")
        #expect(!plan.stdout.contains("+ \(fresh)"), "a change that was done must not be made twice")
        #expect(!plan.stdout.contains("- \(gone)"))
        #expect(plan.stdout.contains("Plan: 0 to add, 1 to change, 0 to destroy."))

        let again = try CLI.run("apply", workspace.path, "--auto-approve", "--shutdown-timeout", "1")
        #expect(again.status == 0, "\(again.stdout)\(again.stderr)")
        #expect(try TestHost.domainState(gone) == nil)
        #expect(try TestHost.domainState(slow) == "shut off")
        #expect(try TestHost.domainState(fresh) == "shut off")
        let names = try TestHost.virsh("list", "--all", "--name").stdout.split(separator: "\n").filter { $0 == fresh }
        #expect(names.count == 1)
        #expect(try CLI.run("plan", workspace.path, "--detailed-exitcode").status == 0)
        #expect(try TestSQL.query(workspace.statePath, "SELECT count(*) FROM journal WHERE status = 'pending'")
            .trimmingCharacters(in: .whitespacesAndNewlines) == "0")
    }
}

/// Reads the state file with the sqlite3 command, not through vmplan's own code.
enum TestSQL {
    static func query(_ path: String, _ sql: String) throws -> String {
        let output = try TestHost.run("sqlite3", [path, sql])
        guard output.status == 0 else { throw CocoaError(.fileReadUnknown) }
        return output.stdout
    }
}
