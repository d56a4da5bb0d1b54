import Foundation
import TestSupport

/// A directory pool under a temporary directory, removed with everything in it by `delete()`.
struct TestPool {
    let name = TestHost.uniqueName("pool")
    let directory = FileManager.default.temporaryDirectory.appendingPathComponent("vmplan-pool-\(UUID().uuidString)")
    var path: String { directory.appendingPathComponent("pool").path }

    init() throws {
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
    }

    var yaml: String {
        "apiVersion: vmplan/v1\nkind: StoragePool\nmetadata: {name: \(name)}\nspec: {host: local, type: dir, path: \(path)}\n"
    }

    /// A file in the pool directory.
    func file(_ volume: String) -> String { path + "/" + volume }

    /// `qemu-img info` of a volume, as JSON text (-U: a running VM may hold it open).
    func info(_ volume: String) throws -> [String: Any] {
        let output = try TestHost.run("qemu-img", ["info", "-U", "--output=json", file(volume)])
        let json = try JSONSerialization.jsonObject(with: Data(output.stdout.utf8)) as? [String: Any]
        return json ?? [:]
    }

    func volumeNames() throws -> [String] {
        try TestHost.virsh("vol-list", name).stdout.split(separator: "\n").dropFirst(2)
            .compactMap { $0.split(separator: " ").first.map(String.init) }
    }

    func delete(domains: [String]) {
        TestHost.removeDomains(domains)
        for volume in (try? volumeNames()) ?? [] { _ = try? TestHost.virsh("vol-delete", volume, "--pool", name) }
        _ = try? TestHost.virsh("pool-destroy", name)
        _ = try? TestHost.virsh("pool-undefine", name)
        try? FileManager.default.removeItem(at: directory)
    }

    static func volume(_ name: String, pool: String, _ fields: String) -> String {
        "apiVersion: vmplan/v1\nkind: Volume\nmetadata: {name: \(name)}\nspec: {pool: \(pool), \(fields)}\n"
    }

    /// A VM whose spec ends with the given lines (disks, cloudInit, …), indented by the caller.
    static func vm(_ name: String, state: String = "running", _ extra: String) -> String {
        "apiVersion: vmplan/v1\nkind: VirtualMachine\nmetadata: {name: \(name)}\nspec:\n  host: local\n  vcpus: 1\n  memory: 64MiB\n  state: \(state)\n" + extra + "\n"
    }
}

extension Array where Element == String {
    /// Documents joined with `---`.
    var documents: String { joined(separator: "---\n") }
}
