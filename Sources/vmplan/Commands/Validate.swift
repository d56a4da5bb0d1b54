import ArgumentParser
import Spec

struct Validate: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Check manifests without contacting any host.",
        discussion: "Reports every problem at once, each with file:line:column. Exit status 0 when valid, 1 otherwise."
    )

    @Argument(help: "A manifest file or a directory of manifests.", completion: .file())
    var path: String = "."

    func run() throws {
        do {
            let manifest = try ManifestLoader.load(path: path)
            let (pools, volumes) = (manifest.storage.pools.count, manifest.storage.volumes.count)
            let storage = pools + volumes == 0 ? ""
                : ", \(pools) storage pool\(pools == 1 ? "" : "s"), \(volumes) volume\(volumes == 1 ? "" : "s")"
            let networks = manifest.networks.isEmpty ? "" : ", \(manifest.networks.count) network\(manifest.networks.count == 1 ? "" : "s")"
            print("Valid: \(manifest.hosts.count) host\(manifest.hosts.count == 1 ? "" : "s"), "
                + "\(manifest.virtualMachines.count) virtual machine\(manifest.virtualMachines.count == 1 ? "" : "s")\(storage)\(networks).")
        } catch let error as ManifestError {
            printError(error.description)
            throw ExitCode.failure
        }
    }
}
