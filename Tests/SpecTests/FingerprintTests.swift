import Foundation
import Testing
@testable import Spec

@Suite struct FingerprintTests {
    /// The hashes are stored in state files and domain metadata: they must never change.
    static let vm = VirtualMachineSpec(
        name: "web-1", host: "kvm-01", vcpus: 2, maxVcpus: 4, memory: .gibibytes(2),
        description: "a web server", labels: ["role": "web", "env": "prod"],
        disks: [DiskSpec(volume: "web-1-root", pool: "default", boot: 1)],
        cloudInit: CloudInitSpec(userData: "#cloud-config\n", networkConfig: "version: 2\n"))

    @Test func specHashIsStable() {
        #expect(Self.vm.specHash == "8d9aaccac1a8c76f")
    }

    @Test func seedContentHashIsStable() {
        #expect(Self.vm.cloudInit?.contentHash(vmName: "web-1") == "55c124c4afd361fb")
    }

    @Test func fingerprintIsZeroPaddedHex() {
        #expect(Fingerprint.fnv1a64([UInt8]()) == "cbf29ce484222325")
        #expect(Fingerprint.fnv1a64(Array("a".utf8)) == "af63dc4c8601ec8c")
    }
}
