/// Which directories on a host pools and image files may use. The operating system's own
/// directories are never allowed; a Host's `storageRoots` narrows the rest to the directories it lists.
public enum HostPaths {
    /// Refused on every host, with everything under them. `/` itself is no valid pool path.
    /// Logical pools live under /dev by nature: their path and devices are not checked here.
    public static let systemDirectories = [
        "/bin", "/boot", "/dev", "/etc", "/lib", "/lib32", "/lib64", "/libx32", "/proc",
        "/root", "/run", "/sbin", "/sys", "/usr", "/var/run",
    ]

    /// `path` is `directory` or under it. Both are normalised StoragePaths, so no `..` escapes.
    static func isUnder(_ path: String, _ directory: String) -> Bool {
        path == directory || path.hasPrefix(directory + "/")
    }

    static func systemDirectory(containing path: String) -> String? {
        systemDirectories.first { isUnder(path, $0) }
    }

    /// Why a pool or image may not be at `path` on a host with these roots (nil: the default), or nil when it may.
    static func refusal(of path: String, roots: [String]?, host: String?) -> String? {
        if let system = systemDirectory(containing: path) {
            return "'\(path)' is in the system directory \(system); no pool or image may be under "
                + systemDirectories.joined(separator: ", ") + "; use a directory such as /var/lib/libvirt/images or /srv/vmplan"
        }
        guard let roots, !roots.contains(where: { isUnder(path, $0) }) else { return nil }
        let owner = host.map { "host '\($0)'" } ?? "the host"
        return "'\(path)' is outside the storageRoots of \(owner): \(roots.joined(separator: ", ")); "
            + "move it under one of them or add its directory to the Host's storageRoots"
    }
}
