/// The error every layer's own errors become at the boundary to the CLI (or a server): what
/// happened, in words a user can act on, the exit status it ends the program with, and the cause.
public struct VMPlanError: Error, Sendable, CustomStringConvertible {
    public enum Code: String, Sendable, Hashable {
        /// Manifests, flags or a saved plan that cannot be used as given.
        case invalidInput = "invalid-input"
        /// The plan found problems; nothing was changed.
        case planFailed = "plan-failed"
        /// A saved plan no longer matches what it was made from.
        case stalePlan = "stale-plan"
        /// Another run holds the state lock.
        case locked
        /// A host could not be reached or read.
        case unreachable
        /// The state database cannot be opened or read.
        case state
        /// Some changes of an apply failed.
        case applyFailed = "apply-failed"
        /// A commit older than the last one reconciled, refused.
        case rollback
    }

    public var code: Code
    public var message: String
    public var cause: (any Error & Sendable)?

    /// What the program ends with: 1 for most failures (2 is taken by `--detailed-exitcode`
    /// for "changes present"), 4 for a refused rollback. A command may choose its own for a code
    /// (`vmplan reconcile` ends with 3 when the state is locked, so that CI can retry).
    public var exitStatus: Int32

    public init(_ code: Code, _ message: String, cause: (any Error & Sendable)? = nil) {
        self.code = code
        self.message = message
        self.cause = cause
        self.exitStatus = code == .rollback ? 4 : 1
    }

    public var description: String { message }
}
