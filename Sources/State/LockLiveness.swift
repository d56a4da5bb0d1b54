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

/// Whether a recorded lock still binds.
public enum LockStatus: Sendable, Hashable {
    /// Its lease runs, and (on this machine) its process is there.
    case held
    /// Its last heartbeat is older than its lease: the holder stopped renewing it.
    case stale(silentFor: TimeInterval)
    /// Its process on this machine is gone (`reason` says how), whatever its lease says.
    case holderGone(reason: String)
}

extension LockHolder {
    /// The holder of a lock taken now by this process; a backend with its own clock passes its `now`.
    public static func current(_ request: LockRequest, lockID: String, now: Date = Date()) -> LockHolder {
        let pid = ProcessInfo.processInfo.processIdentifier
        return LockHolder(holder: request.holder, pid: pid, hostname: ProcessInfo.processInfo.hostName, acquiredAt: now,
                          expiresAt: now.addingTimeInterval(request.lease), processStart: ProcessStart.ticks(of: pid),
                          bootID: ProcessStart.bootID, lockID: lockID, operation: request.operation, commitID: request.commitID,
                          heartbeatAt: now, lease: request.lease)
    }

    /// Whether the lock still binds. It does not once its lease has run out (no heartbeat for longer
    /// than the lease), or, for a holder on this machine, once its process is gone: no process with
    /// its pid, or one that started at another time or in another boot (the pid was reused). A
    /// holder on another machine cannot be checked from here: its heartbeat is what tells.
    public func status(at now: Date = Date()) -> LockStatus {
        guard expiresAt > now else { return .stale(silentFor: now.timeIntervalSince(heartbeatAt ?? acquiredAt)) }
        guard hostname == ProcessInfo.processInfo.hostName else { return .held }
        if let bootID, let currentBoot = ProcessStart.bootID, bootID != currentBoot {
            return .holderGone(reason: "this machine has rebooted since pid \(pid) took it")
        }
        guard kill(pid, 0) == 0 || errno == EPERM else { return .holderGone(reason: "its process \(pid) on this machine is gone") }
        if let processStart, let started = ProcessStart.ticks(of: pid), started != processStart {
            return .holderGone(reason: "its process \(pid) on this machine is gone (the pid now belongs to another process)")
        }
        return .held
    }

    public func isAlive(at now: Date = Date()) -> Bool { status(at: now) == .held }

    /// `vmplan apply (alice@ci)`; a lock taken without an operation is named by its holder alone.
    public var name: String {
        operation.map { "vmplan \($0.rawValue) (\(holder))" } ?? holder
    }

    /// `last heartbeat 12 s ago (lease 60 s)`; nil for a lock from a vmplan that did not renew.
    public func heartbeatText(at now: Date = Date()) -> String? {
        guard let heartbeatAt else { return nil }
        return "last heartbeat \(LeaseTime.text(now.timeIntervalSince(heartbeatAt))) ago"
            + (lease.map { " (lease \(LeaseTime.text($0)))" } ?? "")
    }
}

extension LockHolder: CustomStringConvertible {
    /// `vmplan apply (alice@ci) (pid 4242 on ci-7, since 2026-11-29T12:00:00Z)`
    public var description: String {
        "\(name) (pid \(pid) on \(hostname)\(commitID.map { ", commit \($0.prefix(12))" } ?? ""), "
            + "since \(ISO8601DateFormatter().string(from: acquiredAt)))"
    }
}

extension LockStatus: CustomStringConvertible {
    /// Why a lock no longer binds: `stale: no heartbeat for 3 min 10 s`.
    public var description: String {
        switch self {
        case .held: "held"
        case .stale(let silence): "stale: no heartbeat for \(LeaseTime.text(silence))"
        case .holderGone(let reason): reason
        }
    }
}

/// Lease durations for people: `45 s`, `3 min 10 s`, `2 h 5 min`.
enum LeaseTime {
    static func text(_ interval: TimeInterval) -> String {
        guard interval >= 1 else { return interval <= 0 ? "0 s" : String(format: "%.1f s", interval) }
        let seconds = Int(interval.rounded())
        switch seconds {
        case ..<60: return "\(seconds) s"
        case ..<3600: return "\(seconds / 60) min" + (seconds % 60 == 0 ? "" : " \(seconds % 60) s")
        default: return "\(seconds / 3600) h" + (seconds % 3600 / 60 == 0 ? "" : " \(seconds % 3600 / 60) min")
        }
    }
}
