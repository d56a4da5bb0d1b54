import ArgumentParser

@main
struct VMPlan: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "vmplan",
        abstract: "Declarative, GitOps-style reconciler for KVM and Xen virtual machines.",
        discussion: """
            Manifests (YAML) describe the hosts and VMs that should exist. `vmplan plan` compares them with \
            the recorded state (.vmplan/state.db beside the manifests) and with the live hosts, and \
            `vmplan apply` makes the hosts match. Domains vmplan did not create are never changed.
            """,
        subcommands: [Validate.self, PlanCommand.self, Apply.self, StateCommand.self]
    )
}
