import ArgumentParser
import Drivers
import Foundation
import Reconciler
import Reports
import Spec

struct ImportCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "import",
        abstract: "Write manifests for domains vmplan did not create, to adopt them with a plan that changes nothing.",
        usage: "vmplan import [PATH] --host <name> [<domain> ...] --out <dir>",
        discussion: """
            Reads each domain's persistent definition, autostart flag and running state on the Host named --host \
            (a Host document under PATH), and writes its VirtualMachine (with import: {uuid: …}), the \
            StoragePool and Volume documents of its disks (reclaim: retain) and the Network documents of the \
            libvirt networks its NICs use (with import: {uuid: …}) to DIR: vm-NAME.yaml per domain, \
            pool-NAME.yaml per pool, network-NAME.yaml per network. What the schema cannot express is listed in \
            each file's comment and on standard error; a network a Network document cannot express (and the \
            host's default network) is used by name, with the reason. Without DOMAIN names, every domain without \
            vmplan's marker is imported.

            Before writing, import plans over PATH plus the new files and refuses each domain whose plan would be \
            anything but its import, naming the differing fields. Domains vmplan already manages, and names the \
            manifests already declare, are skipped; domains vmplan cannot express safely (an empty cdrom drive, a \
            disk in no storage pool, a USB hostdev, …) are refused with the reason. Nothing on the host changes: \
            `vmplan apply PATH` (with DIR under PATH) then writes vmplan's marker into each domain and network and \
            records them.

            Exit status: 0 when every domain was written or skipped, 1 when one was refused (the others are written) \
            or on error. See docs/import.md.
            """
    )

    @OptionGroup var manifests: ManifestOptions

    @Argument(help: ArgumentHelp("Domains to import; all domains without vmplan's marker when none are named.", valueName: "domain"))
    var domains: [String] = []

    @Option(help: ArgumentHelp("The Host (its metadata.name under PATH) whose domains to import.", valueName: "name"))
    var host: String

    @Option(help: ArgumentHelp("Directory to write the manifests to (created if missing; existing files are never overwritten). "
        + "Put it under PATH so that plans see them.", valueName: "dir"))
    var out: String

    @OptionGroup var connection: ConnectionOptions

    func validate() throws {
        for name in domains where !ResourceName.isValid(name) {
            throw ValidationError("'\(name)' is not a domain name vmplan can import: \(ResourceName.rule)")
        }
    }

    func run() async throws {
        let result = try await reportingFailures { try await importDomains() }
        print(Self.render(result.draft, plan: result.plan, path: manifests.path, out: out))
        for domain in result.draft.domains where !domain.unexpressed.isEmpty {
            printError("\(domain.name): vmplan cannot express (listed in \((out as NSString).appendingPathComponent(domain.file))):")
            for part in domain.unexpressed { printError("  \(part.fate == .kept ? "kept" : "lost on redefine"): \(part.what.terminalSafe)") }
        }
        for network in result.draft.usedNetworksByName {
            printError("note: network \(network.name.terminalSafe) gets no Network document; the imported NICs use it by name as it is: "
                + network.reason.terminalSafe)
        }
        if !result.draft.refused.isEmpty { throw ExitCode.failure }
    }

    private func importDomains() async throws -> (draft: ImportDraft, plan: Plan?) {
        let manifest = try manifests.loadManifest()
        guard let hostSpec = manifest.host(named: host) else {
            let known = manifest.hosts.map(\.value.name)
            throw VMPlanError(.invalidInput, "error: no Host named '\(host)' under \(manifests.path); known hosts: \(known.joined(separator: ", "))"
                + DidYouMean.hint(for: host, among: known))
        }
        let store = try manifests.openState(whenAbsent: .useEmptyInMemory)
        let driver: LibvirtDriver
        do {
            driver = try await LibvirtDriver.connect(host: hostSpec.name, uri: hostSpec.uri, flavour: hostSpec.hypervisor, limits: connection.limits)
        } catch {
            throw VMPlanError(.unreachable, "error: cannot reach host '\(hostSpec.name)' (\(hostSpec.uri)): \(error)")
        }
        let sources: [DomainSource]
        do {
            sources = try await driver.importSources(named: domains)
        } catch let error as DriverError where error.code == .notFound {
            throw VMPlanError(.invalidInput, "error: \(error); `virsh -c \(hostSpec.uri) list --all` lists the host's domains. Nothing was written.")
        }
        let inventory = sources.contains { $0.inactiveXML.contains("<hostdev") } ? try await driver.inventory() : nil
        let facts = ImportDraft.HostFacts(storage: try await driver.observeStorage(imagePaths: []), inventory: inventory,
                                          networks: try await driver.importNetworkSources())
        let draft = ImportDraft(sources: sources, host: hostSpec, facts: facts, manifest: manifest, stateID: try store.stateID(),
                                recorded: Set(try Reconciliation.recordedVMs(in: store).keys))
        for file in draft.files {
            let path = (out as NSString).appendingPathComponent(file.path)
            if FileManager.default.fileExists(atPath: path) {
                throw VMPlanError(.invalidInput, "error: \(path) already exists; vmplan import never overwrites a file: move it away or choose another --out. Nothing was written.")
            }
        }
        let files = try ManifestLoader.manifestPaths(at: manifests.path).map { path in
            (path: path, text: try String(contentsOfFile: path, encoding: .utf8))
        }
        let checked: (draft: ImportDraft, plan: Plan?)
        do {
            checked = try await draft.checked(manifestFiles: files, directory: out, store: store, connect: connection.connector)
        } catch let error as HostUnreachable {
            throw VMPlanError(.unreachable, "\(error)", cause: error)
        }
        do {
            try FileManager.default.createDirectory(atPath: out, withIntermediateDirectories: true)
            for file in checked.draft.files {
                try file.text.write(toFile: (out as NSString).appendingPathComponent(file.path), atomically: true, encoding: .utf8)
            }
        } catch {
            throw VMPlanError(.invalidInput, "error: cannot write the manifests to \(out): \(error.localizedDescription)")
        }
        return checked
    }

    /// What was written, skipped and refused, and the plan that proves the import changes nothing else.
    static func render(_ draft: ImportDraft, plan: Plan?, path: String, out: String) -> String {
        var lines: [String] = []
        if draft.domains.isEmpty {
            lines.append("Nothing to import from host \(draft.host); no file was written.")
        } else {
            lines.append("Wrote to \(out):")
            let rows = draft.files.map { file -> [String] in [file.path, contents(of: file.path, in: draft)] }
            lines += TextTable.lines(rows, indent: "    ")
        }
        for (title, left) in [("Networks used by name, without a Network document", draft.usedNetworksByName), ("Skipped", draft.skipped),
                              ("Refused (not written)", draft.refused)] where !left.isEmpty {
            lines += ["", "\(title):"] + left.map { "    \($0.name.terminalSafe): \($0.reason.terminalSafe)" }
        }
        if let plan {
            lines += ["", "A plan over these manifests imports them and changes nothing else:"]
            lines += plan.changes.filter(\.isChange).map { "  \(PlanText.symbol($0.action)) \($0.address) (\(PlanText.headerDetail($0)))" }
            lines += ["", plan.summary, "",
                      "Next: vmplan plan \(ShellWord.quoted(path)) shows the same; vmplan apply \(ShellWord.quoted(path)) writes the markers and records them"
                        + (isInside(out, path) ? "." : " (first move the files under \(path): plans read only the manifests there).")]
        }
        return lines.joined(separator: "\n")
    }

    /// `VirtualMachine web, Volume web-root`: what one written file declares.
    private static func contents(of file: String, in draft: ImportDraft) -> String {
        if let domain = draft.domains.first(where: { $0.file == file }) {
            return (["VirtualMachine \(domain.name)"] + domain.volumes.map { "Volume \($0.name)" }).joined(separator: ", ")
        }
        if let pool = draft.pools.first(where: { $0.file == file }) { return "StoragePool \(pool.spec.name)" }
        return draft.networks.first { $0.file == file }.map { "Network \($0.spec.name)" } ?? ""
    }

    private static func isInside(_ directory: String, _ path: String) -> Bool {
        let root = absolutePath(path)
        return absolutePath(directory).hasPrefix(root.hasSuffix("/") ? root : root + "/")
    }
}
