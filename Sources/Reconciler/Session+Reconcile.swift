import Foundation
import Spec
import State

/// The manifests as one commit has them.
public struct CommitManifests: Sendable {
    public var manifest: Manifest
    public var commit: RunCommit
    /// `REPO@COMMIT:PATH`, as reports name where the manifests came from.
    public var source: String

    /// Reads the manifests under `path` (the whole tree when nil) at `ref`. Only committed files
    /// are read; errors name files as `COMMIT:PATH:line:column`.
    public static func load(from repository: GitRepository, ref: String, path: String?) throws -> CommitManifests {
        let id = try repository.commit(ref)
        let commit = RunCommit(id: id, ref: ref, author: try repository.author(of: id))
        let relative = (path ?? "").split(separator: "/").filter { $0 != "." }.joined(separator: "/")
        guard !(path ?? "").hasPrefix("/"), !relative.split(separator: "/").contains("..") else {
            throw GitRepository.failure("--path '\(path ?? "")' must be a directory inside the repository, without '..'")
        }
        let scratch = FileManager.default.temporaryDirectory.appendingPathComponent("vmplan-commit-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: scratch) }
        try repository.extract(id, into: scratch)
        let root = relative.isEmpty ? scratch : scratch + "/" + relative
        guard FileManager.default.fileExists(atPath: root) else {
            throw GitRepository.failure("commit \(id.prefix(12)) of \(repository.location) has no '\(relative)'")
        }
        let label = String(id.prefix(12))
        do {
            return CommitManifests(manifest: try ManifestLoader.load(path: root), commit: commit,
                                   source: "\(repository.location)@\(label)" + (relative.isEmpty ? "" : ":\(relative)"))
        } catch let error as ManifestError {
            // Name files as the commit has them, not as the scratch copy does.
            let renamed = error.diagnostics.map { diagnostic in
                Diagnostic(diagnostic.message, at: diagnostic.location.map { location in
                    SourceLocation(file: location.file.replacingOccurrences(of: scratch + "/", with: "\(label):"),
                                   line: location.line, column: location.column)
                })
            }
            throw ManifestError(renamed)
        }
    }
}

extension Session {
    /// Applies a commit's manifests without asking: what `vmplan reconcile` (a push, a CI job,
    /// a server hook) runs. A commit that is not a descendant of the last one reconciled (a
    /// force-push, an old CI job finishing late) is refused unless `allowRollback`.
    public func reconcile(_ repository: GitRepository, options: PlanOptions = PlanOptions(), allowRollback: Bool,
                          shutdownTimeout: Duration, show: @Sendable (Planned) async -> Void,
                          events: @escaping @Sendable (ApplyEvent) -> Void) async throws -> Applied {
        guard let commit else { throw GitRepository.failure("a reconcile needs the commit its manifests came from") }
        return try await apply(options, shutdownTimeout: shutdownTimeout, runKind: .reconcile, precondition: { store in
            guard !allowRollback, let last = try store.lastReconciledCommit(), last != commit.id else { return }
            guard try repository.isAncestor(last, of: commit.id) else {
                throw VMPlanError(.rollback, "error: \(commit.ref ?? commit.id) is commit \(commit.id.prefix(12)), which does not descend from "
                    + "\(last.prefix(12)), the last commit reconciled into this state: applying it would roll the hosts back "
                    + "(a force-push, or an older job finishing late). Nothing was changed. Reconcile a newer commit, or pass "
                    + "--allow-rollback if going back is intended.")
            }
        }, approve: { planned in
            await show(planned)
            return true
        }, events: events)
    }
}
