internal import CLibvirt
import Spec
import Foundation

/// Owns one `virConnectPtr`. libvirt connections are thread-safe, so one connection is
/// shared by every operation on a host; libvirt's thread-local error is copied right
/// after each failing call, before anything else can overwrite it.
final class LibvirtConnection: @unchecked Sendable {
    let uri: String
    let pointer: virConnectPtr

    private static let silenceDefaultErrorPrinter: Void = {
        // libvirt prints every error to stderr unless a handler is installed.
        virSetErrorFunc(nil) { _, _ in }
    }()

    init(uri: String, limits: ConnectionLimits = ConnectionLimits()) throws {
        _ = LibvirtConnection.silenceDefaultErrorPrinter
        _ = EventLoop.started
        guard let pointer = virConnectOpen(uri) else {
            throw LibvirtConnection.lastError(.connection, "cannot connect to \(uri)")
        }
        self.uri = uri
        self.pointer = pointer
        // Remote connections only (local drivers answer -1 or 1: nothing to watch there).
        _ = virConnectSetKeepAlive(pointer, limits.keepAliveInterval, limits.keepAliveCount)
    }

    deinit {
        virConnectClose(pointer)
    }

    /// The error libvirt recorded for this thread, wrapped with what vmplan was doing.
    /// `context` is evaluated only after the error is copied: building it may call libvirt
    /// (a domain's name, say), and any libvirt call resets the thread's last error.
    static func lastError(_ code: DriverError.Code, _ context: @autoclosure () -> String) -> DriverError {
        guard let error = virGetLastError() else {
            return DriverError(code, "\(context()): libvirt gave no reason")
        }
        let message = error.pointee.message.map { String(cString: $0) } ?? "unknown libvirt error"
        let number = error.pointee.code
        let notFound = [VIR_ERR_NO_DOMAIN, VIR_ERR_NO_STORAGE_POOL, VIR_ERR_NO_STORAGE_VOL, VIR_ERR_NO_NETWORK].map { Int32($0.rawValue) }
        let mapped: DriverError.Code = notFound.contains(number) ? .notFound : code
        return DriverError(mapped, "\(context()): \(message)", libvirtCode: number)
    }

    func capabilitiesXML() throws -> String {
        guard let raw = virConnectGetCapabilities(pointer) else {
            throw LibvirtConnection.lastError(.connection, "cannot read capabilities of \(uri)")
        }
        defer { free(raw) }
        return String(cString: raw)
    }

    /// Every domain on the host, active or not, in one call; with `autostarting`, only those
    /// libvirtd starts when it starts.
    func allDomains(autostarting: Bool = false) throws -> [LibvirtDomain] {
        var list: UnsafeMutablePointer<virDomainPtr?>?
        let flags = autostarting ? VIR_CONNECT_LIST_DOMAINS_AUTOSTART.rawValue : 0
        let count = virConnectListAllDomains(pointer, &list, UInt32(flags))
        guard count >= 0, let list else {
            throw LibvirtConnection.lastError(.connection, "cannot list domains on \(uri)")
        }
        defer { free(list) }
        return (0..<Int(count)).compactMap { list[$0].map(LibvirtDomain.init) }
    }

    func domain(named name: String) throws -> LibvirtDomain {
        guard let pointer = virDomainLookupByName(pointer, name) else {
            throw LibvirtConnection.lastError(.notFound, "domain \(name) on \(uri)")
        }
        return LibvirtDomain(pointer)
    }

    /// Defines (or redefines, for a known UUID) a domain. `validate` has libvirtd check the XML
    /// against its schema first, which costs about as much again as the define itself (libvirtd
    /// loads the schema each time): worth it when a definition that works is replaced, not for
    /// each of a thousand new ones (the tests validate every shape vmplan writes).
    func define(xml: String, validate: Bool) throws -> LibvirtDomain {
        let flags = validate ? VIR_DOMAIN_DEFINE_VALIDATE.rawValue : 0
        guard let domain = virDomainDefineXMLFlags(pointer, xml, UInt32(flags)) else {
            throw LibvirtConnection.lastError(.operation, "libvirt refused the domain definition")
        }
        return LibvirtDomain(domain)
    }
}

/// Owns one `virDomainPtr`.
final class LibvirtDomain: @unchecked Sendable {
    let pointer: virDomainPtr

    init(_ pointer: virDomainPtr) { self.pointer = pointer }

    deinit { virDomainFree(pointer) }

    var name: String {
        virDomainGetName(pointer).map { String(cString: $0) } ?? ""
    }

    /// The domain id, nil when it is not running. Known from the listing, no round trip.
    var id: Int? {
        let id = virDomainGetID(pointer)
        return id == UInt32.max ? nil : Int(id)
    }

    var uuid: String {
        var buffer = [CChar](repeating: 0, count: Int(VIR_UUID_STRING_BUFLEN))
        guard virDomainGetUUIDString(pointer, &buffer) == 0 else { return "" }
        return String(cString: buffer)
    }

    /// The persistent definition (what the next boot uses), or the live one.
    func xml(inactive: Bool) throws -> String {
        let flags = inactive ? UInt32(VIR_DOMAIN_XML_INACTIVE.rawValue) : 0
        guard let raw = virDomainGetXMLDesc(pointer, flags) else {
            throw LibvirtConnection.lastError(.operation, "cannot read the XML of domain \(name)")
        }
        defer { free(raw) }
        return String(cString: raw)
    }

    /// The persistent definition's metadata element of namespace `uri`, nil when it has none.
    func metadata(uri: String) throws -> String? {
        guard let raw = virDomainGetMetadata(pointer, Int32(VIR_DOMAIN_METADATA_ELEMENT.rawValue), uri,
                                             UInt32(VIR_DOMAIN_AFFECT_CONFIG.rawValue)) else {
            if virGetLastErrorCode() == Int32(VIR_ERR_NO_DOMAIN_METADATA.rawValue) { return nil }
            throw LibvirtConnection.lastError(.operation, "cannot read the metadata of domain \(name)")
        }
        defer { free(raw) }
        return String(cString: raw)
    }

    /// Sets the metadata element of namespace `uri` (prefix `key`) and nothing else of the definition;
    /// on a running domain the live definition gets it too.
    func setMetadata(_ element: String, key: String, uri: String, live: Bool) throws {
        let flags = VIR_DOMAIN_AFFECT_CONFIG.rawValue | (live ? VIR_DOMAIN_AFFECT_LIVE.rawValue : 0)
        guard virDomainSetMetadata(pointer, Int32(VIR_DOMAIN_METADATA_ELEMENT.rawValue), element, key, uri, flags) == 0 else {
            throw LibvirtConnection.lastError(.operation, "cannot write the metadata of domain \(name)")
        }
    }

    /// Whether libvirtd starts the domain when it starts.
    func autostart() throws -> Bool {
        var value: Int32 = 0
        guard virDomainGetAutostart(pointer, &value) == 0 else {
            throw LibvirtConnection.lastError(.operation, "cannot read the autostart flag of domain \(name)")
        }
        return value != 0
    }

    enum RunState { case running, paused, shutoff, other }

    func state() throws -> RunState {
        var state: Int32 = 0
        var reason: Int32 = 0
        guard virDomainGetState(pointer, &state, &reason, 0) == 0 else {
            throw LibvirtConnection.lastError(.operation, "cannot read the state of domain \(name)")
        }
        switch UInt32(state) {
        case VIR_DOMAIN_RUNNING.rawValue, VIR_DOMAIN_BLOCKED.rawValue: return .running
        case VIR_DOMAIN_PAUSED.rawValue, VIR_DOMAIN_PMSUSPENDED.rawValue: return .paused
        case VIR_DOMAIN_SHUTOFF.rawValue, VIR_DOMAIN_CRASHED.rawValue: return .shutoff
        default: return .other
        }
    }

    func start() throws {
        guard virDomainCreate(pointer) == 0 else {
            throw LibvirtConnection.lastError(.operation, "cannot start domain \(name)")
        }
    }

    /// How a guest is asked to power off.
    enum ShutdownRequest {
        /// Whatever the hypervisor thinks best: libxl's PV control or ACPI.
        case hypervisorChoice
        /// The ACPI power button.
        case acpi
        /// The QEMU guest agent, and the ACPI power button should the agent fail.
        case guestAgent
    }

    /// Asks the guest to power off; returns at once.
    func requestShutdown(_ request: ShutdownRequest) throws {
        let flags: UInt32 = switch request {
        case .hypervisorChoice: 0
        case .acpi: VIR_DOMAIN_SHUTDOWN_ACPI_POWER_BTN.rawValue
        case .guestAgent: VIR_DOMAIN_SHUTDOWN_GUEST_AGENT.rawValue | VIR_DOMAIN_SHUTDOWN_ACPI_POWER_BTN.rawValue
        }
        guard virDomainShutdownFlags(pointer, flags) == 0 else {
            throw LibvirtConnection.lastError(.operation, "cannot ask domain \(name) to shut down")
        }
    }

    func setAutostart(_ enabled: Bool) throws {
        guard virDomainSetAutostart(pointer, enabled ? 1 : 0) == 0 else {
            throw LibvirtConnection.lastError(.operation, "cannot \(enabled ? "enable" : "disable") autostart of domain \(name)")
        }
    }

    /// Pulls the plug.
    func destroy() throws {
        guard virDomainDestroy(pointer) == 0 else {
            throw LibvirtConnection.lastError(.operation, "cannot force domain \(name) off")
        }
    }

    /// Removes the definition with what belongs to it only (managed save; for QEMU also NVRAM and
    /// snapshot and checkpoint metadata). libxl refuses every flag but the managed-save one.
    func undefine(flavour: HypervisorKind) throws {
        var flags = VIR_DOMAIN_UNDEFINE_MANAGED_SAVE.rawValue
        if flavour == .kvm {
            flags |= VIR_DOMAIN_UNDEFINE_NVRAM.rawValue | VIR_DOMAIN_UNDEFINE_SNAPSHOTS_METADATA.rawValue
                | VIR_DOMAIN_UNDEFINE_CHECKPOINTS_METADATA.rawValue
        }
        guard virDomainUndefineFlags(pointer, UInt32(flags)) == 0 else {
            throw LibvirtConnection.lastError(.operation, "cannot undefine domain \(name)")
        }
    }

    /// Changes the vCPU count of the running domain only; its config is redefined separately.
    func setLiveVcpus(_ count: Int) throws {
        guard virDomainSetVcpusFlags(pointer, UInt32(count), UInt32(VIR_DOMAIN_AFFECT_LIVE.rawValue)) == 0 else {
            throw LibvirtConnection.lastError(.operation, "cannot set \(count) vCPUs on running domain \(name)")
        }
    }

    /// Asks the running domain's balloon for a new size.
    func setLiveMemory(kibibytes: UInt64) throws {
        guard virDomainSetMemoryFlags(pointer, UInt(kibibytes), UInt32(VIR_DOMAIN_AFFECT_LIVE.rawValue)) == 0 else {
            throw LibvirtConnection.lastError(.operation, "cannot set memory of running domain \(name)")
        }
    }
}

extension LibvirtConnection {
    /// PCI devices, devices offering mdev types, and mediated devices. Only capability flags
    /// are passed: the test driver refuses the ACTIVE/INACTIVE ones (`virsh nodedev-list` fails there).
    func gpuRelevantNodeDevices() throws -> [LibvirtNodeDevice] {
        let flags = VIR_CONNECT_LIST_NODE_DEVICES_CAP_PCI_DEV.rawValue
            | VIR_CONNECT_LIST_NODE_DEVICES_CAP_MDEV_TYPES.rawValue
            | VIR_CONNECT_LIST_NODE_DEVICES_CAP_MDEV.rawValue
        var list: UnsafeMutablePointer<virNodeDevicePtr?>?
        let count = virConnectListAllNodeDevices(pointer, &list, UInt32(flags))
        guard count >= 0 else {
            throw LibvirtConnection.lastError(.connection, "cannot list node devices on \(uri)")
        }
        guard let list else { return [] }
        defer { free(list) }
        return (0..<Int(count)).compactMap { list[$0].map(LibvirtNodeDevice.init) }
    }
}
