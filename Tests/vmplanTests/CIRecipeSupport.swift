import Foundation
import Testing
import TestSupport

/// A CI recipe from examples/ci, read as the CI service reads it (PyYAML, as JSON), whose shell
/// steps run here as a runner would run them.
struct CIRecipe {
    let document: [String: Any]

    /// Why the recipes cannot be read here, or nil when python3 with PyYAML is there.
    static let unavailable: String? = {
        (try? TestHost.run("python3", ["-c", "import yaml"]).status) == 0 ? nil : "needs python3 with PyYAML (apt-get install python3-yaml)"
    }()

    init(_ relative: String) throws {
        let output = try TestHost.run("python3", ["-c", "import json, sys, yaml; json.dump(yaml.safe_load(open(sys.argv[1])), sys.stdout)",
                                                  RepositoryFile.path(relative)])
        guard output.status == 0 else { throw CocoaError(.fileReadCorruptFile, userInfo: [NSLocalizedDescriptionKey: output.stderr]) }
        document = try #require(try JSONSerialization.jsonObject(with: Data(output.stdout.utf8)) as? [String: Any])
    }

    subscript(_ keys: String...) -> Any? {
        keys.reduce(document as Any?) { value, key in (value as? [String: Any])?[key] }
    }

    func strings(_ keys: String...) -> [String: String] {
        ((keys.reduce(document as Any?) { value, key in (value as? [String: Any])?[key] }) as? [String: Any] ?? [:])
            .compactMapValues { $0 as? String }
    }

    /// GitHub Actions: a job's steps, in order.
    func steps(_ job: String) -> [[String: Any]] {
        self["jobs", job, "steps"] as? [[String: Any]] ?? []
    }

    /// GitHub Actions: the `run:` scripts of a job's steps that call vmplan.
    func vmplanRuns(_ job: String) -> [String] {
        steps(job).compactMap { $0["run"] as? String }.filter { $0.contains("vmplan ") }
    }

    /// GitLab CI: a job's script, as one shell script.
    func script(_ job: String) -> String {
        (self[job, "script"] as? [String] ?? []).joined(separator: "\n")
    }

    /// Replaces each `${{ expression }}` with its value; an expression without one is a test failure.
    static func substitute(_ text: String, _ values: [String: String]) -> String {
        var result = ""
        var rest = Substring(text)
        while let open = rest.range(of: "${{"), let close = rest.range(of: "}}", range: open.upperBound..<rest.endIndex) {
            let expression = rest[open.upperBound..<close.lowerBound].trimmingCharacters(in: .whitespaces)
            if values[expression] == nil { Issue.record("no value for the expression ${{ \(expression) }}") }
            result += rest[..<open.lowerBound] + (values[expression] ?? "")
            rest = rest[close.upperBound...]
        }
        return result + rest
    }

    /// Replaces each `$NAME` whose name `values` has (GitLab's variable expansion, one level deep).
    static func expand(_ text: String, _ values: [String: String]) -> String {
        let pattern = try! NSRegularExpression(pattern: #"\$([A-Za-z_][A-Za-z0-9_]*)"#)
        var result = text
        for match in pattern.matches(in: text, range: NSRange(text.startIndex..., in: text)).reversed() {
            guard let whole = Range(match.range, in: text), let name = Range(match.range(at: 1), in: text),
                  let value = values[String(text[name])] else { continue }
            result.replaceSubrange(whole, with: value)
        }
        return result
    }

    /// Whether the built vmplan's plan takes `--format` (another branch adds it).
    static let planHasFormat: Bool = (try? CLI.run("plan", "--help").stdout.contains("--format")) ?? false

    /// The script as this binary can run it: without `--format` on plan lines when plan lacks it.
    static func runnable(_ script: String) -> String {
        guard !planHasFormat else { return script }
        return script.split(separator: "\n", omittingEmptySubsequences: false).map { line in
            line.contains("vmplan plan ") ? line.replacingOccurrences(of: #" --format [a-z]+"#, with: "", options: .regularExpression) : String(line)
        }.joined(separator: "\n")
    }
}

/// A runner's checkout of a manifest repository, with `vmplan` (the built binary) on its PATH.
struct CIRunner {
    let checkout: GitWorkspace
    let scratch: URL

    init() throws {
        checkout = try GitWorkspace()
        scratch = FileManager.default.temporaryDirectory.appendingPathComponent("vmplan-runner-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: scratch.appendingPathComponent("bin"), withIntermediateDirectories: true)
        try FileManager.default.createSymbolicLink(atPath: scratch.appendingPathComponent("bin/vmplan").path, withDestinationPath: CLI.binary)
    }

    /// Runs `script` in the checkout with `shell` (the service's own command line) and `environment`.
    func run(_ script: String, shell: [String], environment: [String: String]) throws -> TestHost.Output {
        let file = scratch.appendingPathComponent("step-\(UUID().uuidString).sh")
        try CIRecipe.runnable(script).write(to: file, atomically: true, encoding: .utf8)
        let path = scratch.appendingPathComponent("bin").path + ":" + (ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin")
        return try TestHost.run("sh", ["-c", "cd \"$0\" && exec \"$@\"", checkout.path] + shell + [file.path],
                                environment: environment.merging(["PATH": path]) { _, runner in runner })
    }

    func delete() {
        checkout.delete()
        try? FileManager.default.removeItem(at: scratch)
    }
}
