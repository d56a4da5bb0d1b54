/// A failure reported by a hypervisor driver, with libvirt's own words kept intact.
public struct DriverError: Error, Sendable, CustomStringConvertible {
    public enum Code: String, Sendable {
        /// The host could not be reached or the connection broke.
        case connection
        /// libvirt refused or failed an operation.
        case operation
        /// The domain is not vmplan's; the driver refuses to change it.
        case notOwned
        /// The domain does not exist.
        case notFound
        /// A graceful stop did not finish in time and a forced stop was not allowed.
        case timeout
        /// Input that cannot be put into domain XML.
        case invalidInput
    }

    public var code: Code
    public var message: String
    /// libvirt's error number (`virErrorNumber`), when libvirt reported the failure.
    public var libvirtCode: Int32?

    public init(_ code: Code, _ message: String, libvirtCode: Int32? = nil) {
        self.code = code
        self.message = message
        self.libvirtCode = libvirtCode
    }

    public var description: String { message }
}
