import Foundation
import Testing
@testable import Spec

@Suite("DriftPolicy documents")
struct DriftPolicyTests {
    static func policy(_ spec: String) -> String {
        "apiVersion: vmplan/v1\nkind: DriftPolicy\nmetadata: {name: noise}\nspec:\n" + spec
    }

    @Test func aPolicyLoadsWithItsSelector() throws {
        let manifest = try ManifestLoader.load(files: [("p.yaml", Self.policy("  selector: {tier: web}\n  ignore: [description, memory]\n"))])
        let policy = try #require(manifest.driftPolicies.first?.value)
        #expect(policy == DriftPolicySpec(name: "noise", selector: ["tier": "web"], ignore: [.description, .memory]))
        #expect(policy.applies(to: ["tier": "web", "team": "a"]) && !policy.applies(to: ["tier": "db"]) && !policy.applies(to: [:]))
        #expect(DriftPolicySpec(name: "all", ignore: [.labels]).applies(to: [:]), "no selector: every VM")
    }

    @Test func everyMistakeIsNamedWithItsPlace() {
        #expect(diagnostics(Self.policy("  selector: web\n  ignore: [memroy, host]\n  ignored: [vcpus]\n"), file: "p.yaml") == [
            "p.yaml:5:13: error: selector must be a mapping of strings to strings; got 'web'",
            "p.yaml:6:12: error: ignore cannot name 'memroy'; valid: vcpus, maxVcpus, memory, maxMemory, firmware, state, autostart, description, labels, gpus, vgpus, networks, graphics, guestAgent; did you mean 'memory'?",
            "p.yaml:6:20: error: ignore cannot name 'host'; valid: vcpus, maxVcpus, memory, maxMemory, firmware, state, autostart, description, labels, gpus, vgpus, networks, graphics, guestAgent",
            "p.yaml:7:3: error: unknown field 'ignored' in DriftPolicy spec; did you mean 'ignore'?",
        ])
        #expect(diagnostics(Self.policy("  selector: {tier: web}\n"), file: "p.yaml") == [
            "p.yaml:5:3: error: missing required field 'ignore' in DriftPolicy spec",
        ])
    }
}
