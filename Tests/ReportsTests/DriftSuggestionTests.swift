import Testing
import Reconciler
import Reports
import Spec

/// `vmplan drift --suggest`: the manifest edits that keep hand changes, as YAML that reads back exactly.
@Suite("Reports: drift suggestions")
struct DriftSuggestionTests {
    typealias F = DriftFixtures

    static let header = "# In GitOps, keeping a change made on a host is a commit: put these live values in the manifests and commit "
        + "them; until then the next apply puts the recorded values back."

    @Test func simpleValuesGoUnderSpecAndTheRestIsLeftToAPerson() {
        let report = F.report([
            F.vm("web", .drifted, fields: [F.drift(.memory, "1GiB", "2GiB"), F.drift(.state, "running", "stopped"),
                                           F.drift(.labels, "{tier: web}", "{tier: web, note: a, b, 1x: true}"),
                                           F.drift(.gpus, nil, "0000:3b:00.0"), F.drift(.boot, "hd", "network, hd")],
                 pending: [FieldDiff(.memory, before: "1GiB", after: "4GiB", origin: .manifest)], pendingAction: .update,
                 location: "vms/web.yaml:3:1"),
            F.vm("db", .missing),
            F.vm("gone", .drifted, fields: [F.drift(.vcpus, "1", "2")], location: nil),
            DriftReport.Entry(kind: .volume, name: "data", host: "kvm-01", status: .drifted,
                              fields: [FieldDiff(field: "capacity", before: "1GiB", after: "3GiB", origin: .drift),
                                       FieldDiff(field: "format", before: "qcow2", after: "raw", origin: .drift)],
                              location: "storage.yaml:9:1"),
        ])
        #expect(DriftSuggestion.render(report) == Self.header + """


            # VirtualMachine web on kvm-01, declared at vms/web.yaml:3:1; drifted since 2025-05-01T00:00:00Z
            # the manifests already change memory to 4GiB (not applied yet); the live value below replaces that edit
            metadata:
              name: web
              # labels: the whole set on the host, in place of the manifest's
              labels:
                tier: web
                note: "a, b"
                "1x": "true"
            spec:
              memory: 2GiB
              state: stopped
              # gpus: not a simple value; edit it by hand to match the host: 0000:3b:00.0
              # boot: not a simple value; edit it by hand to match the host: network, hd

            # VirtualMachine gone on kvm-01; drifted since 2025-05-01T00:00:00Z
            # no manifest declares it (only the state records it): nothing to edit

            # Volume data on kvm-01, declared at storage.yaml:9:1
            metadata:
              name: data
            spec:
              capacity: 3GiB
              format: raw

            """)
    }

    @Test func nothingDriftedNothingToSuggest() {
        #expect(DriftSuggestion.render(F.report([F.vm("db", .missing), F.vm("api", .inSync)]))
            == "# Nothing to suggest: no resource drifted from what vmplan recorded.\n")
    }

    @Test func hostileTextIsDoubleQuotedOnOneLine() {
        let report = F.report([F.vm("web", .drifted, fields: [F.drift(.description, "a", F.hostile), F.drift(.labels, "{a: b}", nil)])])
        let lines = DriftSuggestion.render(report).components(separatedBy: "\n")
        #expect(lines.contains(#"  description: "ok\n  - vm prod (kvm-01)\x1B[2J | <b>x</b> & `y` \\ \"q\" # not: a comment\r\u202E""#))
        #expect(lines.contains("  labels: {}"))
        #expect(lines.filter { $0.hasPrefix("  - ") }.isEmpty)
    }

    /// What a person types on a host that a manifest may hold (newline and tab, no other controls)
    /// goes through the manifest loader unchanged.
    @Test func aDescriptionRoundTripsThroughTheManifestLoader() throws {
        let typed = "db: primary # do not touch\n\"quoted\" and 'single' \\ back\tslash {flow} [seq] - dash\n  indented: yes"
        let report = F.report([F.vm("web", .drifted, fields: [F.drift(.description, nil, typed),
                                                              F.drift(.labels, nil, "{owner: a: b, c, team: \"ops\"}")])])
        let snippet = DriftSuggestion.render(report)
        let document = "apiVersion: vmplan/v1\nkind: Host\nmetadata: {name: kvm-01}\nspec: {uri: qemu:///system, hypervisor: kvm}\n---\n"
            + "apiVersion: vmplan/v1\nkind: VirtualMachine\n" + snippet.components(separatedBy: "\n").filter { !$0.hasPrefix("#") }.joined(separator: "\n")
            + "  host: kvm-01\n  vcpus: 1\n  memory: 64MiB\n"
        let vm = try #require(try ManifestLoader.load(files: [("web.yaml", document)]).virtualMachines.first?.value)
        #expect(vm.description == typed)
        #expect(vm.labels == ["owner": "a: b, c", "team": "\"ops\""])
    }
}
