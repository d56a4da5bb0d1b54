import ArgumentParser
import Foundation
import Logging
#if canImport(CMalloc)
import CMalloc
#endif

@main
struct VMPlan: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "vmplan",
        abstract: "Declarative, GitOps-style reconciler for KVM and Xen virtual machines.",
        discussion: """
            Manifests (YAML) describe the hosts and VMs that should exist. `vmplan plan` compares them with \
            the recorded state (.vmplan/state.db beside the manifests) and with the live hosts, and \
            `vmplan apply` makes the hosts match; `vmplan drift` reports hand changes and `vmplan reconcile` applies a git commit. Domains vmplan did not create are never changed.
            """,
        version: "0.2.0",
        subcommands: [Validate.self, PlanCommand.self, Apply.self, DriftCommand.self, StatusCommand.self, ReconcileCommand.self, StateCommand.self, InventoryCommand.self, ImportCommand.self]
    )

    /// Diagnostics go to standard error; VMPLAN_LOG=debug (or trace) shows libvirt traffic.
    static func main() async {
        #if canImport(CMalloc)
        // glibc gives threads that allocate heaps of their own (up to 8 per core); a fleet run has
        // dozens of threads waiting on libvirt, and their half-empty heaps were a tenth of the
        // peak memory at 10,000 VMs (benchmarks/fleet). Two are enough for threads that mostly wait.
        mallopt(M_ARENA_MAX, 2)
        #endif
        let level = ProcessInfo.processInfo.environment["VMPLAN_LOG"].flatMap(Logger.Level.init(rawValue:)) ?? .warning
        LoggingSystem.bootstrap { label in
            var handler = StreamLogHandler.standardError(label: label)
            handler.logLevel = level
            return handler
        }
        do {
            var command = try parseAsRoot()
            if var asyncCommand = command as? AsyncParsableCommand {
                try await asyncCommand.run()
            } else {
                try command.run()
            }
        } catch {
            exit(withError: error)
        }
    }
}
