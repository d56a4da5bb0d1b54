import Foundation

/// vmplan's tiny test guest (scripts/guest/build-image): a Debian kernel booted directly with a
/// busybox initramfs. It powers off when the ACPI power button is pressed, runs a DHCP client on
/// every NIC, has the virtio balloon driver and keeps a root shell on its serial console, so tests
/// can check from inside a guest what vmplan did to it (`GuestConsole`).
public enum TestGuest {
    static let environment = ProcessInfo.processInfo.environment

    /// Where build-image leaves the guest (VMPLAN_GUEST_IMAGE overrides it).
    public static let directory = environment["VMPLAN_GUEST_IMAGE"]
        ?? (environment["VMPLAN_GUEST_CACHE"] ?? "/var/cache/vmplan-guest") + "/image"
    public static var kernel: String { directory + "/vmlinuz" }
    public static var initrd: String { directory + "/initrd.cpio.gz" }
    /// The shell runs on ttyS0, the first serial port: the pty of the domain's `<serial>`.
    public static let cmdline = "console=ttyS0"

    /// scripts/test sets VMPLAN_REQUIRE_GUEST=1 after building the guest: a missing guest then fails the tests.
    public static let required = environment["VMPLAN_REQUIRE_GUEST"] == "1"

    public static var skipReason: String {
        "needs vmplan's test guest in \(directory): run scripts/guest/build-image (as root) first"
    }

    /// True when the tests should run: the libvirt host answers and the guest is built (or CI requires both).
    public static func shouldRun() -> Bool {
        guard TestHost.shouldRun() else { return false }
        if required { return true }
        let built = [kernel, initrd].allSatisfy { FileManager.default.isReadableFile(atPath: $0) }
        if !built { print("SKIP: \(skipReason)") }
        return built
    }

    /// `tcg` where this machine's KVM cannot run an ordinary kernel: kvm_pvm, a paravirtual KVM found on
    /// some cloud machines, only runs guest kernels built for it. VMPLAN_GUEST_ACCELERATION overrides it.
    public static let acceleration: String = environment["VMPLAN_GUEST_ACCELERATION"]
        ?? (FileManager.default.fileExists(atPath: "/sys/module/kvm_pvm") ? "tcg" : "kvm")

    /// A Host document for the test host that runs the guest with an accelerator that can.
    public static func hostManifest(name: String = "local") -> String {
        """
        apiVersion: vmplan/v1
        kind: Host
        metadata: {name: \(name)}
        spec: {uri: "\(TestHost.uri)", hypervisor: kvm, acceleration: \(acceleration)}
        """
    }

    /// A VirtualMachine document that boots the guest; `extra` lines go into its spec as written
    /// (indent them by two spaces). 128MiB is enough for the kernel and the unpacked initramfs.
    public static func vmManifest(_ name: String, memory: String = "128MiB", maxMemory: String? = nil, state: String = "running",
                                  host: String = "local", extra: [String] = []) -> String {
        var lines = [
            "apiVersion: vmplan/v1", "kind: VirtualMachine", "metadata: {name: \(name)}", "spec:",
            "  host: \(host)", "  vcpus: 1", "  memory: \(memory)", "  state: \(state)",
            "  boot: {kernel: \(kernel), initrd: \(initrd), cmdline: \"\(cmdline)\"}",
        ]
        if let maxMemory { lines.append("  maxMemory: \(maxMemory)") }
        return (lines + extra).joined(separator: "\n")
    }
}
