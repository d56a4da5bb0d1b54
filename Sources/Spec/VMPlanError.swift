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
    }

    public var code: Code
    public var message: String
    public var cause: (any Error & Sendable)?

    public init(_ code: Code, _ message: String, cause: (any Error & Sendable)? = nil) {
        self.code = code
        self.message = message
        self.cause = cause
    }

    /// Every failure ends with 1 today; 2 is taken by `--detailed-exitcode` for "changes present".
    public var exitStatus: Int32 { 1 }

    public var description: String { message }
}
