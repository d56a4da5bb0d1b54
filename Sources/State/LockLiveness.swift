import Foundation

/// Tells the process that took a lock from a later one that reuses its pid, on Linux: the kernel's
/// boot id changes at every boot, and a process's start time (in clock ticks after boot) is fixed
/// for its life. Elsewhere both are nil, and only the pid is checked.
enum ProcessStart {
    /// Field 22 of /proc/PID/stat; nil when the process does not exist or /proc is not there.
    static func ticks(of pid: Int32) -> Int64? {
        guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
              let commEnd = stat.lastIndex(of: ")") else { return nil }
        // The command name (field 2) may hold spaces and parentheses; fields 3... follow its last ')'.
        let fields = stat[stat.index(after: commEnd)...].split(separator: " ")
        return fields.count > 19 ? Int64(fields[19]) : nil
    }

    static var bootID: String? {
        (try? String(contentsOfFile: "/proc/sys/kernel/random/boot_id", encoding: .utf8))?
            .trimmingCharacters(in: .whitespacesAndNewlines)
    }
}

extension LockHolder {
    /// The holder of a lock taken now by this process.
    static func current(holder: String, ttl: TimeInterval, now: Date = Date()) -> LockHolder {
        let pid = ProcessInfo.processInfo.processIdentifier
        return LockHolder(holder: holder, pid: pid, hostname: ProcessInfo.processInfo.hostName, acquiredAt: now,
                          expiresAt: now.addingTimeInterval(ttl), processStart: ProcessStart.ticks(of: pid), bootID: ProcessStart.bootID)
    }

    /// Whether the lock still binds. It does not once its lease has run out, or, for a holder on
    /// this machine, once its process is gone: no process with its pid, or one that started at
    /// another time or in another boot (the pid was reused). A holder on another machine cannot be
    /// checked from here, so it is trusted until its lease runs out.
    public func isAlive(at now: Date = Date()) -> Bool {
        guard expiresAt > now else { return false }
        guard hostname == ProcessInfo.processInfo.hostName else { return true }
        if let bootID, let currentBoot = ProcessStart.bootID, bootID != currentBoot { return false }
        guard kill(pid, 0) == 0 || errno == EPERM else { return false }
        if let processStart, let started = ProcessStart.ticks(of: pid), started != processStart { return false }
        return true
    }
}

extension LockHolder: CustomStringConvertible {
    /// `vmplan apply (alice@ci) (pid 4242 on ci-7, since 2026-11-29T12:00:00Z)`
    public var description: String {
        "\(holder) (pid \(pid) on \(hostname), since \(ISO8601DateFormatter().string(from: acquiredAt)))"
    }
}
