import Testing
@testable import Drivers

@Suite("Devices vmplan does not manage")
struct UnmanagedDevicesTests {
    static let current = """
        <domain type='kvm'>
          <name>web</name>
          <devices>
            <emulator>/usr/bin/qemu-system-x86_64</emulator>
            <disk type='volume' device='disk'><source pool='p' volume='v'/><target dev='vda' bus='virtio'/></disk>
            <controller type='usb' index='0'/>
            <serial type='pty'><target port='0'/></serial>
            <console type='pty'/>
            <input type='mouse' bus='ps2'/>
            <rng model='virtio'><backend model='random'>/dev/urandom</backend></rng>
            <watchdog model='i6300esb' action='reset'/>
            <memballoon model='virtio'/>
          </devices>
        </domain>
        """

    @Test func onlyWhatVmplanDoesNotWriteIsKept() throws {
        let kept = try UnmanagedDevices.extract(from: Self.current)
        #expect(kept.count == 2)
        #expect(kept.first?.hasPrefix("<rng model=\"virtio\">") == true, "\(kept)")
        #expect(kept.last?.hasPrefix("<watchdog") == true)
    }

    @Test func keptDevicesGoAtTheEndOfTheNewDevices() throws {
        let new = "<domain><devices><disk/></devices><metadata/></domain>"
        #expect(try UnmanagedDevices.keeping(["<rng/>"], in: new) == "<domain><devices><disk/><rng/>\n</devices><metadata/></domain>")
        #expect(try UnmanagedDevices.keeping([], in: new) == new)
        #expect(throws: DriverError.self) { try UnmanagedDevices.keeping(["<rng/>"], in: "<domain/>") }
    }
}
