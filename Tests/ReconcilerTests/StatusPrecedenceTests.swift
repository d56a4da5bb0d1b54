import Drivers
import Reconciler
import Spec
import Testing

/// `vmplan status`'s one word per VM: when several hold, the first in the documented order wins.
@Suite("Status precedence")
struct StatusPrecedenceTests {
    typealias VM = StatusReport.VM

    static let spec = PlannerTests.vm("web-1")
    static func domain(running: Bool, owner: OwnershipMarker? = OwnershipMarker(resource: "web-1", specHash: "h", state: "s1")) -> ObservedDomain {
        ObservedDomain(name: "web-1", uuid: "u", id: running ? 3 : nil, owner: owner, spec: spec, domainType: "kvm")
    }

    @Test func theOrderIsTheDocumentedOne() {
        #expect(StatusReport.PrintableStatus.allCases.map(\.rawValue) == [
            "Unknown", "Missing", "Unowned", "Failed", "Crashed", "Migrating", "Paused", "Stopping", "Starting", "Running", "Stopped",
        ])
    }

    @Test func eachStateOfTheDomainHasItsWord() {
        let running = Self.domain(running: true)
        let cases: [(GuestStatus.Power, Bool?, StatusReport.PrintableStatus)] = [
            (.running, nil, .running), (.running, true, .running), (.running, false, .starting), (.paused, nil, .paused),
            (.suspended, nil, .paused), (.migrating, nil, .migrating), (.shuttingDown, nil, .stopping), (.crashed, nil, .crashed),
            (.shutOff, nil, .stopped),
        ]
        for (power, agent, expected) in cases {
            let domain = power == .shutOff || power == .crashed ? Self.domain(running: false) : running
            let status = VM.status(domain: domain, stateID: "s1", guest: GuestStatus(power: power, agentConnected: agent), failure: nil).0
            #expect(status == expected, "\(power), agent \(String(describing: agent))")
        }
    }

    @Test func ownershipAndAFailedApplyComeBeforeWhatTheDomainDoes() {
        let running = GuestStatus(power: .running)
        #expect(VM.status(domain: nil, stateID: "s1", guest: nil, failure: "define failed").0 == .missing)
        #expect(VM.status(domain: Self.domain(running: true, owner: nil), stateID: "s1", guest: running, failure: "x").0 == .unowned)
        let other = Self.domain(running: true, owner: OwnershipMarker(resource: "web-1", specHash: "h", state: "s2"))
        let (status, message) = VM.status(domain: other, stateID: "s1", guest: running, failure: nil)
        #expect(status == .unowned && message?.contains("s2") == true)
        let failed = VM.status(domain: Self.domain(running: true), stateID: "s1", guest: GuestStatus(power: .crashed), failure: "start failed")
        #expect(failed.0 == .failed && failed.1 == "start failed")
        // A marker from before states had ids is this state's.
        let old = Self.domain(running: false, owner: OwnershipMarker(resource: "web-1", specHash: "h"))
        #expect(VM.status(domain: old, stateID: "s1", guest: GuestStatus(power: .shutOff), failure: nil).0 == .stopped)
    }
}
