internal import CLibvirt
import Dispatch
import Foundation
import Spec

/// How long vmplan waits for a host before it gives up on it, instead of hanging with it.
public struct ConnectionLimits: Sendable, Hashable {
    /// Opening the connection and reading the host's capabilities.
    public var connect: Duration
    /// libvirt's keepalive: a ping every `interval`; after `count` unanswered pings the connection
    /// is closed, and every call waiting on it fails instead of hanging.
    public var keepAliveInterval: Int32
    public var keepAliveCount: UInt32

    public init(connect: Duration = .seconds(30), keepAliveInterval: Int32 = 5, keepAliveCount: UInt32 = 3) {
        self.connect = connect
        self.keepAliveInterval = keepAliveInterval
        self.keepAliveCount = keepAliveCount
    }
}

/// libvirt sends keepalives only with an event loop registered before the first connection is
/// opened, and run by the application: one thread, for the life of the process.
/// libvirt writes to its sockets without MSG_NOSIGNAL: a connection the other end has closed
/// would end the process with SIGPIPE, silently, instead of failing the call. Like virsh,
/// vmplan ignores the signal, so the write fails with EPIPE and the call with an error.
enum EventLoop {
    static let started: Void = {
        signal(SIGPIPE, SIG_IGN)
        guard virEventRegisterDefaultImpl() == 0 else { return }
        let thread = Thread {
            while true { _ = virEventRunDefaultImpl() }
        }
        thread.name = "vmplan libvirt events"
        thread.start()
    }()
}

/// Runs a blocking libvirt call with a deadline. A call past it cannot be interrupted: it is
/// abandoned on its thread (keepalive ends it later) and the caller gets a timeout error now.
func blocking<T: Sendable>(deadline: Duration, _ timeout: @escaping @Sendable () -> DriverError,
                           _ body: @escaping @Sendable () throws -> T) async throws -> T {
    let once = ResumeOnce<T>()
    return try await withCheckedThrowingContinuation { continuation in
        once.set(continuation)
        // Its own thread (see `blocking(_:)`): a host that hangs holds only that one.
        Thread.detachNewThread { once.resume(with: Result { try body() }) }
        let (seconds, attoseconds) = deadline.components
        let nanoseconds = Int(seconds) * 1_000_000_000 + Int(attoseconds / 1_000_000_000)
        DispatchQueue.global().asyncAfter(deadline: .now() + .nanoseconds(nanoseconds)) { once.resume(with: .failure(timeout())) }
    }
}

/// A continuation resumed by whichever comes first, the call or its deadline.
private final class ResumeOnce<T: Sendable>: @unchecked Sendable {
    private let lock = NSLock()
    private var continuation: CheckedContinuation<T, Error>?

    func set(_ continuation: CheckedContinuation<T, Error>) {
        lock.withLock { self.continuation = continuation }
    }

    func resume(with result: Result<T, Error>) {
        let pending: CheckedContinuation<T, Error>? = lock.withLock {
            defer { continuation = nil }
            return continuation
        }
        pending?.resume(with: result)
    }
}
