import Foundation
import Testing
@testable import Spec

@Suite("lifecycle")
struct LifecycleTests {
    let base = "host: kvm-01\nvcpus: 2\nmemory: 512MiB\n"

    @Test func defaultsWhenAbsent() throws {
        let manifest = try ManifestLoader.load(files: [("m.yaml", hostAndVM(spec: base))])
        #expect(manifest.virtualMachines.first?.value.lifecycle == Lifecycle())
        #expect(Lifecycle().forceStop && Lifecycle().restart == .allowed && !Lifecycle().protect)
    }

    @Test func allFieldsLoad() throws {
        let spec = base + "lifecycle:\n  protect: true\n  restart: never\n  forceStop: false\n  ignoreChanges: [memory, vcpus]\n  migrate: never"
        let manifest = try ManifestLoader.load(files: [("m.yaml", hostAndVM(spec: spec))])
        #expect(manifest.virtualMachines.first?.value.lifecycle
            == Lifecycle(protect: true, restart: .never, forceStop: false, ignoreChanges: [.memory, .vcpus], migrate: .never))
    }

    @Test func everyMistakeIsNamedWithItsPlace() {
        let spec = base + "lifecycle:\n  protected: true\n  restart: sometimes\n  forceStop: maybe\n  ignoreChanges: [memroy, host]"
        #expect(diagnostics(hostAndVM(spec: spec)) == [
            "m.yaml:18:5: error: unknown field 'protected' in lifecycle; did you mean 'protect'?",
            "m.yaml:19:14: error: lifecycle.restart must be one of allowed, never; got 'sometimes'",
            "m.yaml:20:16: error: lifecycle.forceStop must be true or false; got 'maybe'",
            "m.yaml:21:21: error: lifecycle.ignoreChanges cannot name 'memroy'; valid: vcpus, maxVcpus, memory, maxMemory, firmware, state, autostart, description, labels, gpus, vgpus, networks, graphics, guestAgent; did you mean 'memory'?",
            "m.yaml:21:29: error: lifecycle.ignoreChanges cannot name 'host'; valid: vcpus, maxVcpus, memory, maxMemory, firmware, state, autostart, description, labels, gpus, vgpus, networks, graphics, guestAgent",
        ])
    }

    @Test func migrateTakesAllowedOrNeverAndABadValueIsNamedWithItsPlace() throws {
        #expect(Lifecycle().migrate == .allowed)
        #expect(diagnostics(hostAndVM(spec: base + "lifecycle: {migrate: false}")) == [
            "m.yaml:17:24: error: lifecycle.migrate must be one of allowed, never; got 'false'",
        ])
        #expect(diagnostics(hostAndVM(spec: base + "lifecycle: {migrate: nevr}")) == [
            "m.yaml:17:24: error: lifecycle.migrate must be one of allowed, never; got 'nevr'; did you mean 'never'?",
        ])
        #expect(diagnostics(hostAndVM(spec: base + "lifecycle: {migrates: never}")) == [
            "m.yaml:17:15: error: unknown field 'migrates' in lifecycle; did you mean 'migrate'?",
        ])
    }

    /// The spec hash, in every domain's marker, covers the lifecycle's JSON: a VM that does not set
    /// migrate keeps the JSON (and hash) it had before the field existed.
    @Test func migrateIsWrittenOnlyWhenNever() throws {
        let json = { (lifecycle: Lifecycle) in String(decoding: try CanonicalJSON.encode(lifecycle), as: UTF8.self) }
        #expect(try json(Lifecycle()) == #"{"forceStop":true,"ignoreChanges":[],"protect":false,"restart":"allowed"}"#)
        #expect(try json(Lifecycle(migrate: .never)).contains(#""migrate":"never""#))
        let decoded = try JSONDecoder().decode(Lifecycle.self, from: Data(try json(Lifecycle(migrate: .never)).utf8))
        #expect(decoded.migrate == .never)
        #expect(ManifestWriter.lifecycleFlow(Lifecycle(migrate: .never)) == "{migrate: never}")
    }

    @Test func ignoreChangesMustBeAList() {
        #expect(diagnostics(hostAndVM(spec: base + "lifecycle: {ignoreChanges: memory}")) == [
            "m.yaml:17:30: error: lifecycle.ignoreChanges must be a list of field names such as [memory, vcpus]; got 'memory'",
        ])
    }

    @Test func olderRecordedSpecsWithoutLifecycleStillDecode() throws {
        let json = #"{"firmware":"bios","host":"h","labels":{},"memory":"64MiB","name":"a","state":"running","vcpus":1}"#
        let spec = try JSONDecoder().decode(VirtualMachineSpec.self, from: Data(json.utf8))
        #expect(spec.lifecycle == Lifecycle())
        #expect(spec.memory == .mebibytes(64))
    }
}

