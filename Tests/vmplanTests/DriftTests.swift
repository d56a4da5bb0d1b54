import Foundation
import Testing
import TestSupport

/// `vmplan drift` against hand changes on a real libvirtd: every category with its values,
/// nothing changed on the host, the history resolved by an apply, and a host that is down.
@Suite("Drift reports on a real libvirtd", .enabled(if: TestHost.shouldRun(), "needs a libvirt host: run scripts/host-up"))
struct DriftTests {
    static func json(_ output: TestHost.Output) throws -> [String: Any] {
        try #require(try JSONSerialization.jsonObject(with: Data(output.stdout.utf8)) as? [String: Any], "\(output.stdout)\(output.stderr)")
    }

    static func entry(_ document: [String: Any], _ name: String) throws -> [String: Any] {
        try #require((document["resources"] as? [[String: Any]])?.first { $0["name"] as? String == name }, "no entry for \(name)")
    }

    static func fields(_ entry: [String: Any], _ key: String = "fields") -> [String: String] {
        var result: [String: String] = [:]
        for field in entry[key] as? [[String: Any]] ?? [] {
            result[field["field"] as? String ?? "?"] = "\(field["before"] as? String ?? "-") -> \(field["after"] as? String ?? "-")"
        }
        return result
    }

    @Test func handChangesAreReportedByCategoryAndNothingChanges() throws {
        let (a, b, c, foreign) = (TestHost.uniqueName("drift-a"), TestHost.uniqueName("drift-b"), TestHost.uniqueName("drift-c"),
                                  TestHost.uniqueName("drift-foreign"))
        let pool = try TestPool()
        let workspace = try Workspace()
        defer { pool.delete(domains: [a, b, c, foreign]); workspace.delete() }
        func write(cMemory: String, dataCapacity: String) throws {
            try workspace.write("storage.yaml", [pool.yaml, TestPool.volume("data", pool: pool.name, "capacity: \(dataCapacity)")].documents)
            try workspace.write("a.yaml", Workspace.vm(a, vcpus: 1, maxVcpus: 2, memory: "64MiB", maxMemory: "128MiB", state: "stopped"))
            try workspace.write("b.yaml", Workspace.vm(b, state: "stopped"))
            try workspace.write("c.yaml", Workspace.vm(c, memory: cMemory, maxMemory: "128MiB", state: "stopped"))
        }
        try write(cMemory: "64MiB", dataCapacity: "8MiB")
        let applied = try CLI.run("apply", workspace.path, "--auto-approve")
        #expect(applied.status == 0, "\(applied.stdout)\(applied.stderr)")
        #expect(try CLI.run("drift", workspace.path).status == 0, "in sync right after apply")

        // By hand: a's memory, vCPUs and description; data grown; b undefined; a foreign domain.
        for arguments in [["setmem", a, "96M", "--config"], ["setvcpus", a, "2", "--config"], ["desc", a, "--config", "by hand"],
                          ["vol-resize", "data", "16M", "--pool", pool.name], ["undefine", b]] {
            let result = try TestHost.run("virsh", ["-c", TestHost.uri] + arguments)
            #expect(result.status == 0, "virsh \(arguments): \(result.stderr)")
        }
        let foreignXML = workspace.directory.appendingPathComponent("foreign.xml")
        try "<domain type='qemu'><name>\(foreign)</name><memory unit='MiB'>32</memory><os><type arch='x86_64'>hvm</type></os></domain>"
            .write(to: foreignXML, atomically: true, encoding: .utf8)
        #expect(try TestHost.virsh("define", foreignXML.path).status == 0)
        // A manifest edit not applied yet.
        try write(cMemory: "80MiB", dataCapacity: "8MiB")

        let before = try [a, c, foreign].map { try TestHost.inactiveXML($0) }
        let drift = try CLI.run("drift", workspace.path, "--json")
        #expect(drift.status == 2, "\(drift.stderr)")
        let document = try Self.json(drift)
        #expect(document["format"] as? String == "vmplan-drift" && document["formatVersion"] as? Int == 1)
        let entryA = try Self.entry(document, a)
        #expect(entryA["status"] as? String == "drifted")
        #expect(Self.fields(entryA) == ["memory": "64MiB -> 96MiB", "vcpus": "1 -> 2", "description": "- -> by hand"], "\(entryA)")
        #expect(entryA["firstSeen"] is String)
        let data = try Self.entry(document, "data")
        #expect(data["status"] as? String == "drifted" && Self.fields(data) == ["capacity": "8MiB -> 16MiB"])
        #expect(try Self.entry(document, b)["status"] as? String == "missing")
        let entryC = try Self.entry(document, c)
        #expect(entryC["status"] as? String == "in-sync" && entryC["pendingAction"] as? String == "update", "a git change is not drift")
        #expect(Self.fields(entryC, "pending")["memory"] == "64MiB -> 80MiB")
        #expect((document["unmanaged"] as? [[String: Any]])?.contains { $0["name"] as? String == foreign } == true)
        let summary = try #require(document["summary"] as? [String: Any])
        // The documented shape (docs/drift.md): every key, nothing undocumented.
        #expect(Set(summary.keys) == ["total", "managed", "inSync", "drifted", "missing", "pending", "notApplied", "unknown",
                                      "unmanaged", "orphaned", "ignored", "coverage"])
        #expect(Set(document.keys) == ["format", "formatVersion", "createdAt", "manifests", "state", "summary", "resources",
                                       "unmanaged", "orphaned", "unknownHosts"])
        #expect(Set(entryA.keys).isSubset(of: ["kind", "name", "host", "status", "fields", "ignored", "pending", "pendingAction",
                                               "firstSeen", "location"]))
        #expect(summary["drifted"] as? Int == 2 && summary["missing"] as? Int == 1 && summary["pending"] as? Int == 1, "\(summary)")
        #expect(try [a, c, foreign].map { try TestHost.inactiveXML($0) } == before, "drift changes nothing on the host")

        let table = try CLI.run("drift", workspace.path)
        #expect(table.status == 2)
        #expect(table.stdout.contains("2 drifted, 1 missing, 1 pending"), "\(table.stdout)")
        let markdown = try CLI.run("drift", workspace.path, "--format", "markdown")
        #expect(markdown.stdout.contains("2 drifted") && markdown.stdout.contains("<details>"), "\(markdown.stdout)")
        let suggestion = try CLI.run("drift", workspace.path, "--suggest")
        #expect(suggestion.stdout.contains("memory: 96MiB"), "\(suggestion.stdout)")

        // Accept the volume's growth in the manifests, revert the rest with an apply.
        try write(cMemory: "80MiB", dataCapacity: "16MiB")
        let repair = try CLI.run("apply", workspace.path, "--auto-approve")
        #expect(repair.status == 0, "\(repair.stdout)\(repair.stderr)")
        #expect(try CLI.run("drift", workspace.path).status == 0)
        let history = try CLI.run("drift", workspace.path, "--history", "--resource", a)
        #expect(history.stdout.contains("VirtualMachine/\(a)") && history.stdout.contains("(apply)"), "\(history.stdout)")
        #expect(!history.stdout.contains("open"), "every drift of \(a) is resolved: \(history.stdout)")
        // The issue's spelling: a resource name in place of the manifest path.
        let byName = try CLI.run("drift", "--history", a, "--state", workspace.statePath)
        #expect(byName.stdout == history.stdout, "\(byName.stdout)\(byName.stderr)")

        // A host nothing listens on: unknown, within the connection's refusal; the others are still checked.
        try workspace.write("down.yaml", """
            apiVersion: vmplan/v1
            kind: Host
            metadata: {name: down}
            spec: {uri: "qemu+tcp://127.0.0.1:1/system", hypervisor: kvm}
            ---
            \(Workspace.vm(TestHost.uniqueName("far"), host: "down"))
            """)
        let partial = try TestHost.run("timeout", ["60", CLI.binary, "drift", workspace.path, "--json"])
        #expect(partial.status == 1, "a host that could not be checked: \(partial.stderr)")
        let partialDocument = try Self.json(partial)
        #expect((partialDocument["unknownHosts"] as? [[String: Any]])?.first?["host"] as? String == "down")
        #expect(try Self.entry(partialDocument, a)["status"] as? String == "in-sync", "the reachable host was checked")
    }
}
