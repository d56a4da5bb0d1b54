import Foundation
import Testing
import Drivers
import Reconciler
import Reports
import Spec

/// A partial plan (some hosts unreachable) in every form: text, Markdown and JSON.
@Suite("Reports: partial plans")
struct PartialPlanReportTests {
    typealias T = PlanTextTests

    static func partial() throws -> Plan {
        var plan = try T.plan(desired: [T.vm("web-a")])
        plan.unreachable = [HostFailure(host: "kvm-02", uri: "qemu+tcp://127.0.10.2/system",
                                        reason: "host 'kvm-02' (qemu+tcp://127.0.10.2/system) did not answer within 3s")]
        plan.unknown = [UnknownResource(ResourceAddress(.virtualMachine, "web-b", host: "kvm-02"), unreachableHost: "kvm-02"),
                        UnknownResource(ResourceAddress(.volume, "web-b-root", host: "kvm-02"), unreachableHost: "kvm-02")]
        return plan
    }

    @Test func textNamesEachUnreachableHostWithItsReasonAndUnknownResources() throws {
        let text = T.lines(try Self.partial())
        #expect(text.starts(with: [
            "Unreachable hosts (what is on them is unknown: neither planned nor applied this run; the other hosts are):",
            "    kvm-02 (qemu+tcp://127.0.10.2/system): host 'kvm-02' (qemu+tcp://127.0.10.2/system) did not answer within 3s",
            "        ? web-b",
            "        ? volume web-b-root",
            "",
            "vmplan will perform the following actions:",
        ]))
        #expect(text.last == "Plan: 1 to add, 0 to change, 0 to destroy. 2 unknown on 1 unreachable host.")
    }

    @Test func aPartialPlanWithoutChangesDoesNotClaimTheHostsMatch() throws {
        var plan = try T.plan(desired: [])
        plan.unreachable = try Self.partial().unreachable
        let text = PlanText.render(plan)
        #expect(!text.contains("The hosts match the manifests"))
        #expect(text.hasSuffix("No changes on the hosts that answered. Plan: 0 to add, 0 to change, 0 to destroy. 0 unknown on 1 unreachable host."))
        #expect(PlanMarkdown.render(plan).hasPrefix("### ⚠️ No changes on the hosts that answered; 0 unknown."))
    }

    @Test func markdownWarnsAndListsTheUnknownResources() throws {
        let markdown = PlanMarkdown.render(try Self.partial())
        #expect(markdown.contains("> Partial plan: 1 host could not be reached;"))
        #expect(markdown.contains("- **kvm-02** (qemu+tcp://127.0.10.2/system): host 'kvm-02' (qemu+tcp://127.0.10.2/system) did not answer within 3s. "
            + "Unknown: web-b, volume web-b-root"), "\(markdown)")
        #expect(markdown.hasPrefix("### Plan: 1 to add, 0 to change, 0 to replace, 0 to destroy. 2 unknown on unreachable hosts."))
    }

    @Test func jsonCarriesUnreachableHostsAndUnknownResourcesOnlyWhenPartial() throws {
        let json = try ApplyAndJSONTests.report(try Self.partial())
        let hosts = try #require(json["unreachableHosts"] as? [[String: String]])
        #expect(hosts == [["host": "kvm-02", "uri": "qemu+tcp://127.0.10.2/system",
                           "reason": "host 'kvm-02' (qemu+tcp://127.0.10.2/system) did not answer within 3s"]])
        let unknown = try #require(json["unknown"] as? [[String: String]])
        #expect(unknown.first == ["kind": "VirtualMachine", "name": "web-b", "host": "kvm-02", "unreachableHost": "kvm-02"])
        #expect(unknown.count == 2)
        let whole = try ApplyAndJSONTests.report(try T.plan(desired: [T.vm("web-a")]))
        #expect(whole["unreachableHosts"] == nil && whole["unknown"] == nil)
    }

    @Test func applyLinesNameTheirHostWhenSeveralAreChanged() throws {
        let change = try #require(try Self.partial().actionable.first)
        #expect(ApplyText.line(.started(change), namingHost: true) == "[kvm-01] web-a: Creating...")
        #expect(ApplyText.line(.started(change)) == "web-a: Creating...")
    }
}
