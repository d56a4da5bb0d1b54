import Spec
import Foundation
import Drivers

/// The fixture host, `Fixtures/gpu-host.xml`, found beside this file (the test target
/// declares no resources).
enum GPUHostFixture {
    static let url = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .appendingPathComponent("Fixtures").appendingPathComponent("gpu-host.xml")
    static var uri: String { "test://\(url.path)" }

    static func address(_ text: String) -> PCIAddress {
        guard let address = PCIAddress(parsing: text) else { fatalError("bad address in test: \(text)") }
        return address
    }

    static let t4First = address("0000:3b:00.0")
    static let t4Second = address("0000:af:00.0")
    static let a100 = address("0000:17:00.0")
    static let radeon = address("0000:65:00.0")
    static let radeonAudio = address("0000:65:00.1")
    static let nic = address("0000:18:00.0")
    static let nicVF = address("0000:18:02.0")

    static let vgpuUUID = "4b20d080-1b54-4048-85b3-a6a62d165c01"
    static let vgpuName = "mdev_4b20d080_1b54_4048_85b3_a6a62d165c01_0000_3b_00_0"
}
