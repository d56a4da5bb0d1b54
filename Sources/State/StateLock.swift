import Foundation

/// What a writer asks for when it takes the lock.
public struct LockRequest: Sendable {
    /// Who asks: `user@host`.
    public var holder: String
    /// The run that will hold it, and the commit it applies; recorded for whoever finds the lock held.
    public var operation: RunKind?
    public var commitID: String?
    /// How long the lock binds after each heartbeat; a lock not renewed for longer is stale.
    public var lease: TimeInterval
    /// How often the holder renews it: a third of the lease unless said, so that one missed
    /// heartbeat does not make it stale.
    public var heartbeat: TimeInterval
    /// Told when a renewal fails (the run goes on; the next tick tries again) or finds the lock gone.
    public var warn: @Sendable (String) -> Void

    public static let defaultLease: TimeInterval = 60

    public init(holder: String, operation: RunKind? = nil, commitID: String? = nil, lease: TimeInterval = LockRequest.defaultLease,
                heartbeat: TimeInterval? = nil, warn: @escaping @Sendable (String) -> Void = LockRequest.toStandardError) {
        self.holder = holder
        self.operation = operation
        self.commitID = commitID
        self.lease = lease
        self.heartbeat = heartbeat ?? lease / 3
        self.warn = warn
    }

    public static let toStandardError: @Sendable (String) -> Void = { message in
        FileHandle.standardError.write(Data((message + "\n").utf8))
    }
}

/// A lock the new holder took from one that no longer held it: stale, or its process gone.
public struct LockTakeover: Sendable, Hashable, CustomStringConvertible {
    public var previous: LockHolder
    public var status: LockStatus

    public init(previous: LockHolder, status: LockStatus) {
        self.previous = previous
        self.status = status
    }

    /// `stale: no heartbeat for 3 min (lease 60 s)`
    public var reason: String {
        "\(status)" + (previous.lease.map { " (lease \(LeaseTime.text($0)))" } ?? "")
    }

    /// `note: took over the lock of vmplan apply (alice@ci) (pid 4242 on ci-7, since …): stale: no heartbeat for 3 min (lease 60 s).`
    public var description: String {
        "note: took over the lock of \(previous): \(reason)."
    }
}

/// The held writer lock. While held, its heartbeat renews the lease every `LockRequest.heartbeat`
/// on a thread of its own, so that an apply busy on every other thread cannot starve it;
/// `release()` it when done (a crashed holder's lock goes stale and is taken over).
public final class StateLock: Sendable {
    /// The token `vmplan state unlock` must name, and that writes under this lock carry.
    public let id: String
    public let holder: LockHolder
    /// The stale lock this one replaced, if it did.
    public let takeover: LockTakeover?
    private let releaseLock: @Sendable () throws -> Void
    /// Signalled to stop the heartbeat.
    private let stop = DispatchSemaphore(value: 0)

    /// - Parameters:
    ///   - renew: extends the lease in the store that granted it; false when the lock is no longer
    ///     this one (taken over or unlocked): renewing then stops.
    ///   - release: gives the lock back in that store.
    public init(id: String, holder: LockHolder, takeover: LockTakeover? = nil, heartbeat: TimeInterval,
                warn: @escaping @Sendable (String) -> Void,
                renew: @escaping @Sendable () throws -> Bool, release: @escaping @Sendable () throws -> Void) {
        self.id = id
        self.holder = holder
        self.takeover = takeover
        self.releaseLock = release
        let stop = stop
        let interval = DispatchTimeInterval.nanoseconds(Int(max(heartbeat, 0.001) * 1_000_000_000))
        Thread.detachNewThread {
            while stop.wait(timeout: .now() + interval) == .timedOut {
                do {
                    guard try renew() else {
                        if stop.wait(timeout: .now()) == .success { return }  // released while renewing
                        warn("warning: the state lock \(id) is no longer this run's (taken over as stale, or unlocked); "
                            + "this run's next state write will be refused.")
                        return
                    }
                } catch {
                    // One failed renewal costs a third of the lease, not the run.
                    warn("warning: could not renew the state lock \(id): \(error); trying again in \(LeaseTime.text(heartbeat)).")
                }
            }
        }
    }

    deinit { stop.signal() }

    /// Stops the heartbeat and gives the lock back.
    public func release() throws {
        stopHeartbeat()
        try releaseLock()
    }

    /// Also for tests: a holder that hangs, whose lease then runs out.
    func stopHeartbeat() {
        stop.signal()
    }
}
