import Foundation
import Testing
@testable import State

/// The history of drift checks, on real SQLite files: when each drift was first and last seen,
/// whether it recurs, and how it ended.
@Suite("Drift history (real SQLite file and PostgreSQL)")
struct DriftHistoryTests {    /// Whole seconds: dates are stored to the millisecond. Runs finish at the real time, so checks
    /// before an apply are in the past and checks after it in the future.
    let now = Date(timeIntervalSince1970: Date().timeIntervalSince1970.rounded(.down))

    func minutes(_ offset: Double) -> Date { now.addingTimeInterval(offset * 60) }

    func memory(_ live: String, name: String = "web-1", host: String = "kvm-01") -> DriftObservation {
        DriftObservation(kind: "VirtualMachine", name: name, host: host, field: "memory", recorded: "8GiB", live: live)
    }

    func missing(_ name: String, host: String = "kvm-01") -> DriftObservation {
        DriftObservation(kind: "VirtualMachine", name: name, host: host, field: "exists", recorded: "yes", live: "no")
    }

    @Test(arguments: Backend.all)
    func theFirstCheckOpensARowPerField(_ backend: Backend) throws {
        let state = try TestState(backend)
        defer { state.delete() }
        let store = try state.open()
        let open = try store.recordDriftCheck([memory("4GiB"), missing("db")], checkedHosts: ["kvm-01"], at: minutes(-60))
        #expect(open.map(\.name) == ["db", "web-1"])
        for row in open {
            #expect(row.firstSeen == minutes(-60) && row.lastSeen == minutes(-60))
            #expect(row.timesSeen == 1 && row.isOpen && row.resolution == nil && row.earlierOccurrences == 0)
        }
        #expect(open.last.map { [$0.field, $0.recorded, $0.live] } == ["memory", "8GiB", "4GiB"])
        #expect(open.first.map { [$0.field, $0.recorded, $0.live] } == ["exists", "yes", "no"])
    }

    @Test(arguments: Backend.all)
    func aSecondCheckExtendsTheOpenRowAndKeepsFirstSeen(_ backend: Backend) throws {
        let state = try TestState(backend)
        defer { state.delete() }
        let store = try state.open()
        _ = try store.recordDriftCheck([memory("4GiB")], checkedHosts: ["kvm-01"], at: minutes(-60))
        // The same field twice in one check is one sighting.
        let open = try store.recordDriftCheck([memory("2GiB"), memory("2GiB")], checkedHosts: ["kvm-01"], at: minutes(-30))
        let row = try #require(open.first)
        #expect(open.count == 1)
        #expect(row.firstSeen == minutes(-60) && row.lastSeen == minutes(-30) && row.timesSeen == 2)
        #expect(row.live == "2GiB", "the values are the latest check's")
        #expect(try store.driftHistory(name: nil) == open)
    }

    @Test(arguments: Backend.all)
    func aFieldNoLongerSeenWithNoApplySinceIsResolvedByHand(_ backend: Backend) throws {
        let state = try TestState(backend)
        defer { state.delete() }
        let store = try state.open()
        _ = try store.recordDriftCheck([memory("4GiB"), missing("db")], checkedHosts: ["kvm-01"], at: minutes(-60))
        // Runs that change nothing on a host: a refused apply and a plan.
        let refused = try store.beginRun(.apply, actor: "test")
        try store.finishRun(refused, result: .refused, summary: "cancelled at the prompt")
        let plan = try store.beginRun(.plan, actor: "test")
        try store.finishRun(plan, result: .succeeded, summary: "no changes")

        let open = try store.recordDriftCheck([missing("db")], checkedHosts: ["kvm-01"], at: minutes(1))
        #expect(open.map(\.name) == ["db"])
        let fixed = try #require(try store.driftHistory(name: "web-1").first)
        #expect(fixed.resolvedAt == minutes(1) && fixed.resolution == "by-hand")
        #expect(fixed.lastSeen == minutes(-60) && fixed.timesSeen == 1)
    }

    @Test(arguments: Backend.all)
    func aFieldNoLongerSeenAfterAnApplyIsResolvedByTheApply(_ backend: Backend) throws {
        let state = try TestState(backend)
        defer { state.delete() }
        let store = try state.open()
        _ = try store.recordDriftCheck([memory("4GiB")], checkedHosts: ["kvm-01"], at: minutes(-60))
        // An apply that failed part way still changed hosts.
        let apply = try store.beginRun(.apply, actor: "test")
        try store.finishRun(apply, result: .failed, summary: "1 failed")
        // Seen again after the apply: that apply did not fix it.
        _ = try store.recordDriftCheck([missing("db")], checkedHosts: ["kvm-01"], at: minutes(1))
        _ = try store.recordDriftCheck([], checkedHosts: ["kvm-01"], at: minutes(2))

        let history = try store.driftHistory(name: nil)
        #expect(history.map(\.name) == ["db", "web-1"], "newest first")
        #expect(history.map(\.resolution) == ["by-hand", "apply"])
        #expect(history.map(\.resolvedAt) == [minutes(2), minutes(1)])
    }

    @Test(arguments: Backend.all)
    func rowsOfAHostThatWasNotCheckedStayOpenUntouched(_ backend: Backend) throws {
        let state = try TestState(backend)
        defer { state.delete() }
        let store = try state.open()
        _ = try store.recordDriftCheck([memory("4GiB"), memory("4GiB", name: "db", host: "kvm-02")],
                                       checkedHosts: ["kvm-01", "kvm-02"], at: minutes(-60))
        let open = try store.recordDriftCheck([], checkedHosts: ["kvm-01"], at: minutes(-30))
        let kept = try #require(open.first)
        #expect(open.count == 1)
        #expect(kept.host == "kvm-02" && kept.lastSeen == minutes(-60) && kept.timesSeen == 1 && kept.isOpen)
        #expect(try store.driftHistory(name: "web-1").first?.resolution == "by-hand")
    }

    @Test(arguments: Backend.all)
    func aDriftThatComesBackIsANewOccurrenceThatKnowsItRecurs(_ backend: Backend) throws {
        let state = try TestState(backend)
        defer { state.delete() }
        let store = try state.open()
        _ = try store.recordDriftCheck([memory("4GiB")], checkedHosts: ["kvm-01"], at: minutes(-60))
        _ = try store.recordDriftCheck([], checkedHosts: ["kvm-01"], at: minutes(-50))
        let again = try #require(try store.recordDriftCheck([memory("4GiB")], checkedHosts: ["kvm-01"], at: minutes(-40)).first)
        #expect(again.firstSeen == minutes(-40) && again.timesSeen == 1 && again.earlierOccurrences == 1)
        _ = try store.recordDriftCheck([], checkedHosts: ["kvm-01"], at: minutes(-30))
        let third = try #require(try store.recordDriftCheck([memory("2GiB")], checkedHosts: ["kvm-01"], at: minutes(-20)).first)
        #expect(third.earlierOccurrences == 2)

        let history = try store.driftHistory(name: "web-1")
        #expect(history.map(\.firstSeen) == [minutes(-20), minutes(-40), minutes(-60)])
        #expect(history.map(\.earlierOccurrences) == [2, 1, 0])
        #expect(history.map(\.isOpen) == [true, false, false])
    }

    @Test(arguments: Backend.all)
    func historyForOneResourceAndDriftOfAResourceThatLeftTheState(_ backend: Backend) throws {
        let state = try TestState(backend)
        defer { state.delete() }
        let store = try state.open()
        _ = try store.recordDriftCheck([memory("4GiB"), missing("db"), memory("1GiB", name: "db")], checkedHosts: ["kvm-01"], at: minutes(-60))
        _ = try store.recordDriftCheck([memory("4GiB"), missing("db"), missing("cache")], checkedHosts: ["kvm-01"], at: minutes(-30))
        #expect(try store.driftHistory(name: "web-1").map(\.field) == ["memory"])
        #expect(try store.driftHistory(name: "nothing").isEmpty)
        // Newest first; one check's rows in the reverse of the order they were observed in.
        #expect(try store.driftHistory(name: nil).map(\.name) == ["cache", "db", "db", "web-1"])

        try store.resolveDrift(kind: "VirtualMachine", name: "db", host: "kvm-01", resolution: "gone", at: minutes(-20))
        let db = try store.driftHistory(name: "db")
        #expect(db.map(\.field) == ["memory", "exists"])
        #expect(db.map(\.resolution) == ["by-hand", "gone"], "what was resolved before stays as it was")
        #expect(db.map(\.resolvedAt) == [minutes(-30), minutes(-20)])
        let open = try store.recordDriftCheck([memory("4GiB"), missing("cache")], checkedHosts: ["kvm-01"], at: minutes(-10))
        #expect(open.map(\.name) == ["cache", "web-1"])
        // The table accepts only the three resolutions.
        #expect(throws: (any Error).self) {
            try store.resolveDrift(kind: "VirtualMachine", name: "web-1", host: "kvm-01", resolution: "forgotten", at: minutes(-5))
        }
    }
}
