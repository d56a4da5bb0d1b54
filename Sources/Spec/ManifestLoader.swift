import Foundation
import Yams

/// Reads `*.yaml` / `*.yml` files (a file, or a directory tree) into a validated `Manifest`.
public enum ManifestLoader {
    public static let manifestExtensions = ["yaml", "yml"]

    /// Loads and validates everything under `path`. Throws `ManifestError` with every problem found.
    /// Locations name files as they were reached from `path` (relative stays relative).
    public static func load(path: String) throws -> Manifest {
        var log = DiagnosticLog()
        let tree = try files(at: path)
        for problem in tree.problems { log.append(problem) }
        var files: [(path: String, text: String)] = []
        var totalBytes = 0
        for (file, realPath) in tree.files {
            let start = SourceLocation(file: file, line: 1, column: 1)
            // The size is checked before reading, so that a huge file costs no memory.
            let size = (try? FileManager.default.attributesOfItem(atPath: realPath))?[.size] as? Int ?? 0
            if size > YAMLLimits.maximumFileBytes {
                log.error("manifest file is \(YAMLLimits.shown(size)), over the limit of \(YAMLLimits.shown(YAMLLimits.maximumFileBytes)) per file; split it into several files", at: start)
                continue
            }
            totalBytes += size
            if totalBytes > YAMLLimits.maximumTotalBytes {
                log.error("the manifests add up to more than \(YAMLLimits.shown(YAMLLimits.maximumTotalBytes)); this file and the ones after it were not read", at: start)
                break
            }
            guard let data = FileManager.default.contents(atPath: realPath) else {
                log.error("cannot read '\(file)'", at: nil)
                continue
            }
            guard let text = String(data: data, encoding: .utf8) else {
                let (line, column) = YAMLLimits.firstInvalidUTF8(in: data) ?? (1, 1)
                log.error("file is not valid UTF-8 text: the first invalid byte is here; save the file as UTF-8",
                          at: SourceLocation(file: file, line: line, column: column))
                continue
            }
            files.append((file, text))
        }
        return try load(files: files, root: tree.root, log: log)
    }

    /// Loads and validates manifests given as texts (e.g. read from a git commit).
    /// `path` is only used in locations. Files are taken in the given order.
    public static func load(files: [(path: String, text: String)]) throws -> Manifest {
        try load(files: files, root: nil, log: DiagnosticLog())
    }

    /// The manifest files under `path`, sorted; hidden files and directories (`.git`, `.vmplan`) are skipped.
    /// A file named explicitly is taken whatever its extension. Symlinks are followed inside the
    /// manifest directory only (see `ManifestTree`); any link problem is thrown with the others.
    public static func manifestPaths(at path: String) throws -> [String] {
        let tree = try files(at: path)
        guard tree.problems.isEmpty else { throw ManifestError(tree.problems) }
        return tree.files.map(\.path)
    }

    private static func files(at path: String) throws -> ManifestTree {
        let tree = try ManifestTree.scan(path)
        guard !tree.files.isEmpty || !tree.problems.isEmpty else {
            throw ManifestError([Diagnostic("no manifests found in '\(path)': expected *.yaml or *.yml files", at: nil)])
        }
        return tree
    }

    /// `root` is the real manifest directory that files the manifests name must be in;
    /// nil for texts not read from a directory (each document's own directory is then its root).
    static func load(files: [(path: String, text: String)], root: String?, log initial: DiagnosticLog) throws -> Manifest {
        var log = initial
        var decoded: [DecodedDocument] = []
        var syntaxErrors = false
        var totalBytes = 0
        for file in files {
            totalBytes += file.text.utf8.count
            if totalBytes > YAMLLimits.maximumTotalBytes {
                log.error("the manifests add up to more than \(YAMLLimits.shown(YAMLLimits.maximumTotalBytes)); this file and the ones after it were not read",
                          at: SourceLocation(file: file.path, line: 1, column: 1))
                syntaxErrors = true
                break
            }
            let before = log.diagnostics.count
            let documents = YAMLReader.documents(file: file.path, text: file.text, root: root, log: &log)
            if log.diagnostics.count > before { syntaxErrors = true }
            for document in documents {
                if let result = DocumentDecoder.decode(document, log: &log) { decoded.append(result) }
            }
        }
        checkDuplicateNames(decoded, log: &log)
        // After a syntax error the rest of that file is unread, so a "missing" host may just be there.
        if !syntaxErrors {
            checkHostReferences(decoded, log: &log)
            checkHypervisorFit(decoded, log: &log)
        }
        var storageLog = DiagnosticLog()
        let storage = StorageReferences.check(&decoded, log: &storageLog)
        if !syntaxErrors { for diagnostic in storageLog.diagnostics { log.append(diagnostic) } }
        guard log.isEmpty else { throw ManifestError(log.sorted) }
        return Manifest(
            hosts: decoded.compactMap(\.host),
            virtualMachines: decoded.compactMap(\.virtualMachine),
            storage: storage,
            driftPolicies: decoded.compactMap(\.driftPolicy))
    }

    private static func checkDuplicateNames(_ documents: [DecodedDocument], log: inout DiagnosticLog) {
        var first: [String: SourceLocation] = [:]
        for document in documents {
            guard let name = document.name, let location = document.nameLocation else { continue }
            let key = "\(document.kind.rawValue)/\(name)"
            if let earlier = first[key] {
                log.error("duplicate \(document.kind.rawValue) name '\(name)'; first defined at \(earlier)", at: location)
            } else {
                first[key] = location
            }
        }
    }

    private static func checkHostReferences(_ documents: [DecodedDocument], log: inout DiagnosticLog) {
        var hosts: [String] = []
        for document in documents where document.kind == .host {
            if let name = document.name, !hosts.contains(name) { hosts.append(name) }
        }
        let known = hosts.isEmpty ? "none (declare one with kind: Host)" : hosts.sorted().joined(separator: ", ")
        for document in documents {  // VirtualMachines and StoragePools name a host
            guard let reference = document.hostReference, !hosts.contains(reference.name) else { continue }
            let hint = DidYouMean.hint(for: reference.name, among: hosts)
            log.error("host '\(reference.name)' is not defined by any Host document; known hosts: \(known)\(hint)", at: reference.location)
        }
    }
}
