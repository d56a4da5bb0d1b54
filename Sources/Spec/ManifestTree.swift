import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// The manifest files under a path, confined to the manifest root once symlinks are resolved.
/// Symlinked directories inside the root are followed once; links that dangle, loop or leave
/// the root are reported with their path.
struct ManifestTree {
    /// The real path of the manifest directory (for a single file, of the directory it is in).
    let root: String
    /// Each file as reached from the given path (for locations), and its real path (to read).
    var files: [(path: String, realPath: String)] = []
    var problems: [Diagnostic] = []

    enum Resolution: Equatable {
        case resolved(String)
        case dangling
        case loop
        case unreadable(String)
    }

    /// The real path of `path` (`realpath(3)`): every link, `.` and `..` resolved.
    static func realPath(_ path: String) -> Resolution {
        guard let resolved = realpath(path, nil) else {
            switch errno {
            case ENOENT, ENOTDIR: return .dangling
            case ELOOP: return .loop
            default: return .unreadable(String(cString: strerror(errno)))
            }
        }
        defer { free(resolved) }
        return .resolved(String(cString: resolved))
    }

    /// Whether the real path `path` is the root or under it.
    static func isInside(_ path: String, root: String) -> Bool {
        path == root || path.hasPrefix(root.hasSuffix("/") ? root : root + "/")
    }

    func contains(_ realPath: String) -> Bool { ManifestTree.isInside(realPath, root: root) }

    /// Throws only when `path` itself is missing; every other problem is collected in `problems`.
    static func scan(_ path: String) throws -> ManifestTree {
        let fileManager = FileManager.default
        var isDirectory: ObjCBool = false
        guard fileManager.fileExists(atPath: path, isDirectory: &isDirectory), case let .resolved(real) = realPath(path) else {
            throw ManifestError([Diagnostic("no such file or directory: '\(path)'", at: nil)])
        }
        guard isDirectory.boolValue else {
            // A file named explicitly is taken whatever its extension; what it names must sit beside it.
            return ManifestTree(root: (real as NSString).deletingLastPathComponent, files: [(path, real)])
        }
        var tree = ManifestTree(root: real)
        tree.walk(from: path, realPath: real)
        return tree
    }

    /// Walks the directories as they are first, then the symlinked directories not yet seen,
    /// so a file reached both ways is named by its real place in the tree.
    private mutating func walk(from path: String, realPath real: String) {
        var visited: Set<String> = [real]
        var pending = [(path: path, realPath: real)]
        var links: [(path: String, location: String, parentRealPath: String)] = []
        while !pending.isEmpty || !links.isEmpty {
            while let directory = pending.popLast() {
                list(directory, pending: &pending, links: &links, visited: &visited)
            }
            links.sort { $0.path < $1.path }
            for link in links {
                guard let target = followedDirectory(link.path, at: link.location, from: link.parentRealPath, visited: visited) else { continue }
                visited.insert(target)
                pending.append((link.path, target))
            }
            links = []
        }
        // One real file is one manifest, however many ways it is reached.
        var seen: Set<String> = []
        files = files.sorted { $0.path < $1.path }.filter { seen.insert($0.realPath).inserted }
        problems.sort { $0.message < $1.message }  // they name the link first: in path order
    }

    private mutating func list(_ directory: (path: String, realPath: String), pending: inout [(path: String, realPath: String)],
                               links: inout [(path: String, location: String, parentRealPath: String)], visited: inout Set<String>) {
        let entries: [String]
        do {
            entries = try FileManager.default.contentsOfDirectory(atPath: directory.realPath)
        } catch {
            problems.append(Diagnostic("cannot list directory '\(directory.path)': \(error.localizedDescription)", at: nil))
            return
        }
        for entry in entries.sorted() where !entry.hasPrefix(".") {
            let child = directory.path.hasSuffix("/") ? directory.path + entry : directory.path + "/" + entry
            let childReal = directory.realPath == "/" ? "/" + entry : directory.realPath + "/" + entry
            var status = stat()
            guard lstat(childReal, &status) == 0 else { continue }
            let isManifest = ManifestLoader.manifestExtensions.contains((entry as NSString).pathExtension)
            switch status.st_mode & S_IFMT {
            case S_IFLNK:
                switch ManifestTree.realPath(childReal) {
                case let .resolved(target):
                    var isDirectory: ObjCBool = false
                    _ = FileManager.default.fileExists(atPath: target, isDirectory: &isDirectory)
                    if isDirectory.boolValue {
                        links.append((child, childReal, directory.realPath))
                    } else if isManifest {
                        guard contains(target) else { reportOutside(child, target); continue }
                        files.append((child, target))
                    }
                case .dangling:
                    let destination = (try? FileManager.default.destinationOfSymbolicLink(atPath: childReal)) ?? "?"
                    problems.append(Diagnostic("symbolic link '\(child)' is dangling: its target '\(destination)' does not exist; "
                        + "remove the link or restore its target", at: nil))
                case .loop:
                    problems.append(Diagnostic("symbolic link '\(child)' is part of a loop of links; remove it", at: nil))
                case let .unreadable(reason):
                    problems.append(Diagnostic("cannot resolve symbolic link '\(child)': \(reason)", at: nil))
                }
            case S_IFDIR:
                if visited.insert(childReal).inserted { pending.append((child, childReal)) }
            case S_IFREG where isManifest:
                files.append((child, childReal))
            default:
                continue
            }
        }
    }

    /// The real directory a symlinked directory leads to, when it is inside the root and not yet read.
    private mutating func followedDirectory(_ link: String, at location: String, from parent: String, visited: Set<String>) -> String? {
        guard case let .resolved(target) = ManifestTree.realPath(location) else { return nil }
        guard contains(target) else {
            reportOutside(link, target)
            return nil
        }
        if ManifestTree.isInside(parent, root: target) {
            problems.append(Diagnostic("symbolic link '\(link)' leads back to '\(target)', a directory that contains it: "
                + "a loop; remove the link", at: nil))
            return nil
        }
        return visited.contains(target) ? nil : target  // already read by its own path
    }

    private mutating func reportOutside(_ link: String, _ target: String) {
        problems.append(Diagnostic("symbolic link '\(link)' leads to '\(target)', outside the manifest directory '\(root)'; "
            + "manifests and the files they name must be inside it", at: nil))
    }
}
