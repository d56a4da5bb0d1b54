import ArgumentParser
import Drivers
import Foundation
import Reconciler
import Reports
import Spec

struct InventoryCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "inventory",
        abstract: "Show the GPUs, vGPU profiles and mediated devices of the hosts.",
        discussion: """
            Hosts come from the Host documents under PATH, as for plan. For each GPU: what it is, its driver, its \
            IOMMU group and which domain has it; for each vGPU profile (mdev type): how many more can be created; \
            for each mediated device: who uses it and whether vmplan created it.
            """
    )

    @OptionGroup var manifests: ManifestOptions
    @OptionGroup var connection: ConnectionOptions

    @Option(help: ArgumentHelp("Only this Host (by its metadata.name).", valueName: "name"))
    var host: String?

    @Flag(help: "Print JSON instead of tables.")
    var json = false

    struct HostReport: Codable {
        var name: String
        var uri: String
        var gpus: [GPU]
        var mediatedDevices: [Mdev]

        struct GPU: Codable {
            var device: PCIDevice
            /// The domain whose config holds the device, if any.
            var assignedTo: String?
        }

        struct Mdev: Codable {
            var device: MediatedDevice
            var usedBy: String?
            var createdByVmplan: Bool
        }
    }

    func run() async throws {
        let reports = try await reportingFailures {
            let manifest = try manifests.loadManifest()
            var hosts = manifest.hosts.map(\.value)
            if let host {
                hosts = hosts.filter { $0.name == host }
                guard !hosts.isEmpty else {
                    let known = manifest.hosts.map(\.value.name)
                    throw VMPlanError(.invalidInput, "error: no Host named '\(host)' under \(manifests.path); known hosts: \(known.joined(separator: ", "))"
                        + DidYouMean.hint(for: host, among: known))
                }
            }
            let recorded = Set(try Reconciliation.recordedMediatedDevices(in: manifests.openState(whenAbsent: .useEmptyInMemory)).map(\.uuid))
            var reports: [HostReport] = []
            for host in hosts {
                do {
                    let driver = try await LibvirtDriver.connect(to: host, limits: connection.limits)
                    let inventory = try await driver.inventory()
                    let domains = try await driver.observe()
                    reports.append(Self.report(host: host, inventory: inventory, domains: domains, recorded: recorded))
                } catch {
                    throw VMPlanError(.unreachable, "error: cannot read the inventory of host '\(host.name)' (\(host.uri)): \(error)")
                }
            }
            return reports
        }
        if json {
            print(try CanonicalJSON.string(reports, pretty: true))
        } else {
            print(reports.map(Self.render).joined(separator: "\n\n"))
        }
    }

    static func report(host: HostSpec, inventory: HostInventory, domains: [ObservedDomain], recorded: Set<String>) -> HostReport {
        func holder(of address: PCIAddress) -> String? {
            domains.first { $0.spec.gpus.contains { $0.pci == address } }.map { $0.name + ($0.isManaged ? " (vmplan)" : "") }
        }
        func user(of uuid: String) -> String? {
            domains.first { $0.spec.vgpus.contains { $0.uuid == uuid } }.map { $0.name + ($0.isManaged ? " (vmplan)" : "") }
        }
        return HostReport(
            name: host.name, uri: host.uri,
            gpus: inventory.gpus.map { HostReport.GPU(device: $0, assignedTo: holder(of: $0.address)) },
            mediatedDevices: inventory.mediatedDevices.map {
                HostReport.Mdev(device: $0, usedBy: user(of: $0.uuid), createdByVmplan: recorded.contains($0.uuid))
            })
    }

    static func render(_ report: HostReport) -> String {
        var lines = ["Host \(report.name) (\(report.uri))"]
        guard !report.gpus.isEmpty else {
            lines.append("  No GPUs (no PCI display controllers).")
            return lines.joined(separator: "\n")
        }
        lines.append("  GPUs")
        lines += table([["ADDRESS", "DEVICE", "ID", "DRIVER", "IOMMU GROUP", "ASSIGNED TO"]] + report.gpus.map { gpu in
            let device = gpu.device
            let name = [device.vendorName, device.productName].compactMap { $0 }.joined(separator: " ")
            let group = device.iommuGroup.map { group in
                let others = device.iommuGroupMembers.filter { $0 != device.address }
                return others.isEmpty ? "\(group)" : "\(group) (with \(others.map(\.description).joined(separator: ", ")))"
            } ?? "-"
            return [device.address.description, name.isEmpty ? "-" : name,
                    "\(device.vendorID.dropFirst(2)):\(device.productID.dropFirst(2))", device.driver ?? "-", group, gpu.assignedTo ?? "-"]
        })
        let profiles = report.gpus.flatMap { gpu in gpu.device.mdevTypes.map { (gpu.device.address, $0) } }
        if !profiles.isEmpty {
            lines.append("  vGPU profiles (mdev types)")
            lines += table([["PARENT", "TYPE", "NAME", "API", "FREE"]] + profiles.map { address, type in
                [address.description, type.id, type.name ?? "-", type.deviceAPI, String(type.availableInstances)]
            })
        }
        if !report.mediatedDevices.isEmpty {
            lines.append("  Mediated devices")
            lines += table([["UUID", "TYPE", "PARENT", "USED BY", "CREATED BY"]] + report.mediatedDevices.map { mdev in
                [mdev.device.uuid, mdev.device.typeID, mdev.device.parent?.description ?? "-", mdev.usedBy ?? "-",
                 mdev.createdByVmplan ? "vmplan" : "not vmplan"]
            })
        }
        return lines.joined(separator: "\n")
    }

    private static func table(_ rows: [[String]]) -> [String] {
        TextTable.lines(rows, indent: "    ")
    }
}
