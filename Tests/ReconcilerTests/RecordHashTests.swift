import Testing
import Spec
@testable import Reconciler

/// The applier hashes the canonical JSON it records instead of encoding each spec twice: the
/// hash must be the very one `specHash` gives (it is in every marker and record).
@Suite("Record hashes")
struct RecordHashTests {
    @Test func theHashOfTheRecordedJSONIsTheSpecHash() throws {
        var vm = PlannerTests.vm("web", vcpus: 2)
        vm.labels = ["tier": "front \"end\""]
        let parent = try #require(PCIAddress(parsing: "0000:3b:00.0"))
        let values: [ResourceValue] = [
            .virtualMachine(vm),
            .storagePool(StoragePoolSpec(name: "images", host: "kvm-01", path: "/srv/images")),
            .volume(VolumeSpec(name: "root.qcow2", pool: "images", capacity: .mebibytes(512))),
            .mediatedDevice(RecordedDevice(uuid: "u-1", host: "kvm-01", type: "nvidia-222", parent: parent)),
        ]
        for value in values {
            #expect(value.specHash(canonicalJSON: try value.canonicalJSON()) == value.specHash, "\(value)")
        }
        #expect(ResourceValue.virtualMachine(vm).specHash == vm.specHash, "a VM's record hash is its marker's")
    }
}
