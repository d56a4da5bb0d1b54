import Foundation
import Testing
@testable import Spec

@Suite("Loading from paths")
struct PathTests {
    let host = hostDocument

    @Test("a path that does not exist")
    func missingPath() throws {
        let dir = try makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        #expect(diagnostics(loading: dir + "/nope") == ["error: no such file or directory: '\(dir)/nope'"])
    }

    @Test("a directory without manifests")
    func emptyDirectory() throws {
        let dir = try makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try write("notes", to: dir + "/README.md")
        try write(host, to: dir + "/.git/config.yaml")
        #expect(diagnostics(loading: dir) == ["error: no manifests found in '\(dir)': expected *.yaml or *.yml files"])
    }

    @Test("hidden directories such as .vmplan and .git are skipped; a trailing slash adds no '//'")
    func hiddenSkipped() throws {
        let dir = try makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try write(host, to: dir + "/b/hosts.yml")
        try write("broken: [", to: dir + "/.vmplan/state.yaml")
        try write("broken: [", to: dir + "/.git/x.yml")
        try write("broken: [", to: dir + "/.swap.yaml")
        #expect(try ManifestLoader.manifestPaths(at: dir + "/") == [dir + "/b/hosts.yml"])
        let manifest = try ManifestLoader.load(path: dir + "/")
        #expect(manifest.hosts.first?.location.description == "\(dir)/b/hosts.yml:1:1")
    }

    @Test("locations keep a relative path relative")
    func relativePath() throws {
        let dir = try makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try write(host.replacingOccurrences(of: "kvm}", with: "kvmm}"), to: dir + "/demo/hosts.yaml")
        // A relative path from the current directory up to `/` and back down to `dir`.
        let depth = FileManager.default.currentDirectoryPath.split(separator: "/").count
        let relative = String(repeating: "../", count: depth) + dir.drop { $0 == "/" }
        #expect(!relative.hasPrefix("/"))
        #expect(diagnostics(loading: relative) == [
            "\(relative)/demo/hosts.yaml:4:43: error: hypervisor must be one of kvm, xen; got 'kvmm'; did you mean 'kvm'?",
        ])
    }

    @Test("invalid UTF-8 and read problems are reported with the other errors")
    func invalidUTF8() throws {
        let dir = try makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        #expect(FileManager.default.createFile(atPath: dir + "/a.yaml", contents: Data([0x6b, 0x3a, 0x20, 0xff, 0xfe])))
        try write("kind: Host\n", to: dir + "/b.yaml")
        #expect(diagnostics(loading: dir) == [
            "\(dir)/a.yaml:1:4: error: file is not valid UTF-8 text: the first invalid byte is here; save the file as UTF-8",
            "\(dir)/b.yaml:1:1: error: missing required field 'apiVersion' in document",
            "\(dir)/b.yaml:1:1: error: missing required field 'metadata' in document",
            "\(dir)/b.yaml:1:1: error: missing required field 'spec' in document",
        ])
    }

    @Test("a file named explicitly is loaded whatever its extension")
    func explicitFile() throws {
        let dir = try makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try write(host, to: dir + "/hosts.txt")
        #expect(try ManifestLoader.load(path: dir + "/hosts.txt").hosts.map(\.value.name) == ["h"])
    }
}

@Suite("Helpers")
struct HelperTests {
    @Test("edit distance counts transpositions as one edit")
    func editDistance() {
        #expect(DidYouMean.editDistance("memroy", "memory") == 1)
        #expect(DidYouMean.editDistance("vcpu", "vcpus") == 1)
        #expect(DidYouMean.editDistance("", "abc") == 3)
        #expect(DidYouMean.editDistance("kitten", "sitting") == 3)
    }

    @Test("suggestions ignore case and refuse distant words")
    func suggestions() {
        #expect(DidYouMean.suggestion(for: "maxvcpus", among: ["vcpus", "maxVcpus"]) == "maxVcpus")
        #expect(DidYouMean.suggestion(for: "memroy", among: ["memory", "maxMemory"]) == "memory")
        #expect(DidYouMean.suggestion(for: "colour", among: ["host", "vcpus", "memory"]) == nil)
        #expect(DidYouMean.suggestion(for: "xy", among: ["ab"]) == nil)
    }

    @Test("unit suggestions only for recognisable units", arguments: [
        ("8GB", "8GiB"), ("8G", "8GiB"), ("8Gi", "8GiB"), ("64kb", "64KiB"),
    ])
    func unitSuggestion(text: String, expected: String) {
        #expect(NodeChecker.unitSuggestion(for: text) == expected)
    }

    @Test("no unit suggestion for bare numbers or unknown units", arguments: ["8", "8PB", "lots", "GB"])
    func noUnitSuggestion(text: String) {
        #expect(NodeChecker.unitSuggestion(for: text) == nil)
    }

    @Test("label keys")
    func labelKeys() {
        #expect(NodeChecker.isValidLabelKey("app.kubernetes.io/name"))
        #expect(!NodeChecker.isValidLabelKey("/x"))
        #expect(!NodeChecker.isValidLabelKey("a b"))
        #expect(!NodeChecker.isValidLabelKey(""))
        #expect(!NodeChecker.isValidLabelKey(String(repeating: "a", count: 254)))
    }
}
