import Foundation
import Testing
@testable import Spec

/// Symlinks in a manifest directory: followed inside the root, refused when they dangle,
/// loop or lead out of it; files a manifest names are confined the same way.
@Suite("Symlinks in manifest directories")
struct SymlinkTests {
    let host = hostDocument

    func link(_ path: String, to target: String) throws {
        try FileManager.default.createSymbolicLink(atPath: path, withDestinationPath: target)
    }

    /// A VM on host h whose cloudInit.userData is `{file: FILE}`, with a pool for its seed.
    func vmWithUserData(file: String) -> String {
        """
        apiVersion: vmplan/v1
        kind: StoragePool
        metadata: {name: p}
        spec: {host: h, type: dir, path: /var/lib/vmplan/p}
        ---
        apiVersion: vmplan/v1
        kind: VirtualMachine
        metadata: {name: vm}
        spec:
          host: h
          vcpus: 1
          memory: 1GiB
          cloudInit: {userData: {file: \(file)}, pool: p}

        """
    }

    @Test("dangling links and loops of links are reported with their paths, together with the other errors")
    func danglingAndLoop() throws {
        let dir = try makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try write(host, to: dir + "/hosts.yaml")
        try write("kind: Host\n", to: dir + "/broken.yaml")
        try link(dir + "/gone.yaml", to: "nowhere.yaml")
        try link(dir + "/loop-a", to: "loop-b")
        try link(dir + "/loop-b", to: "loop-a")
        #expect(diagnostics(loading: dir) == [
            "error: symbolic link '\(dir)/gone.yaml' is dangling: its target 'nowhere.yaml' does not exist; remove the link or restore its target",
            "error: symbolic link '\(dir)/loop-a' is part of a loop of links; remove it",
            "error: symbolic link '\(dir)/loop-b' is part of a loop of links; remove it",
            "\(dir)/broken.yaml:1:1: error: missing required field 'apiVersion' in document",
            "\(dir)/broken.yaml:1:1: error: missing required field 'metadata' in document",
            "\(dir)/broken.yaml:1:1: error: missing required field 'spec' in document",
        ])
    }

    @Test("a symlinked sub-directory inside the root is read, once")
    func symlinkedDirectoryFollowed() throws {
        let dir = try makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try write(host, to: dir + "/shared/hosts.yaml")
        try link(dir + "/site", to: "shared")
        try link(dir + "/again", to: dir + "/shared")
        #expect(try ManifestLoader.manifestPaths(at: dir) == [dir + "/shared/hosts.yaml"])
        let manifest = try ManifestLoader.load(path: dir)
        #expect(manifest.hosts.map(\.value.name) == ["h"])

        // Only reachable through the link: read through it, named by the link's path.
        let other = try makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: other) }
        try write(host, to: other + "/real/.hidden/hosts.yaml")
        try link(other + "/site", to: "real/.hidden")
        #expect(try ManifestLoader.manifestPaths(at: other) == [other + "/site/hosts.yaml"])
    }

    @Test("a directory link back to a directory that contains it is a loop")
    func linkToAncestor() throws {
        let dir = try makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try write(host, to: dir + "/a/hosts.yaml")
        try link(dir + "/a/up", to: "..")
        let real = try #require(realPath(dir))
        #expect(diagnostics(loading: dir) == [
            "error: symbolic link '\(dir)/a/up' leads back to '\(real)', a directory that contains it: a loop; remove the link",
        ])
    }

    @Test("links to manifests and directories outside the root are refused")
    func linksLeavingTheRoot() throws {
        let dir = try makeTemporaryDirectory()
        let outside = try makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: dir); try? FileManager.default.removeItem(atPath: outside) }
        try write(host, to: dir + "/hosts.yaml")
        try write(host.replacingOccurrences(of: "name: h", with: "name: x"), to: outside + "/more/x.yaml")
        try link(dir + "/more", to: outside + "/more")
        try link(dir + "/x.yaml", to: outside + "/more/x.yaml")
        try link(dir + "/notes.txt", to: "/etc/hostname")  // not a manifest: never read
        let (root, away) = try (#require(realPath(dir)), #require(realPath(outside)))
        #expect(diagnostics(loading: dir) == [
            "error: symbolic link '\(dir)/more' leads to '\(away)/more', outside the manifest directory '\(root)'; manifests and the files they name must be inside it",
            "error: symbolic link '\(dir)/x.yaml' leads to '\(away)/more/x.yaml', outside the manifest directory '\(root)'; manifests and the files they name must be inside it",
        ])
    }

    @Test("cloud-init files reached through a symlinked directory must stay inside the root")
    func cloudInitThroughLink() throws {
        let dir = try makeTemporaryDirectory()
        let outside = try makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: dir); try? FileManager.default.removeItem(atPath: outside) }
        try write(host, to: dir + "/hosts.yaml")
        try write("secret", to: outside + "/user-data")
        try link(dir + "/seeds", to: outside)
        try write(vmWithUserData(file: "seeds/user-data"), to: dir + "/vm.yaml")
        let (root, away) = try (#require(realPath(dir)), #require(realPath(outside)))
        #expect(diagnostics(loading: dir) == [
            "error: symbolic link '\(dir)/seeds' leads to '\(away)', outside the manifest directory '\(root)'; manifests and the files they name must be inside it",
            "\(dir)/vm.yaml:13:32: error: cloudInit.userData.file 'seeds/user-data' leads to '\(away)/user-data', outside the manifest directory '\(root)'; the files a manifest names must be inside it",
        ])
    }

    @Test("cloud-init files behind links inside the root are read; from a sub-directory the root still bounds them")
    func cloudInitLinksInside() throws {
        let dir = try makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try write(host, to: dir + "/hosts.yaml")
        try write("#cloud-config\n", to: dir + "/common/user-data")
        try write(vmWithUserData(file: "user-data"), to: dir + "/vms/vm.yaml")
        try link(dir + "/vms/user-data", to: "../common/user-data")
        let manifest = try ManifestLoader.load(path: dir)
        #expect(manifest.virtualMachines.first?.value.cloudInit?.userData == "#cloud-config\n")

        // Loading only the sub-directory makes it the root: the common file is outside it now.
        let root = try #require(realPath(dir))
        #expect(diagnostics(loading: dir + "/vms") == [
            "\(dir)/vms/vm.yaml:4:14: error: host 'h' is not defined by any Host document; known hosts: none (declare one with kind: Host)",
            "\(dir)/vms/vm.yaml:10:9: error: host 'h' is not defined by any Host document; known hosts: none (declare one with kind: Host)",
            "\(dir)/vms/vm.yaml:13:32: error: cloudInit.userData.file 'user-data' leads to '\(root)/common/user-data', outside the manifest directory '\(root)/vms'; the files a manifest names must be inside it",
        ])
    }

    func realPath(_ path: String) -> String? {
        if case let .resolved(real) = ManifestTree.realPath(path) { return real }
        return nil
    }
}
