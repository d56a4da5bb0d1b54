import Dispatch
import Foundation
import Logging
import Spec

/// The libvirt implementation of `Hypervisor`. One connection per host, opened once;
/// libvirt calls block, so they run on a dispatch queue, never on Swift's cooperative pool.
public final class LibvirtDriver: Hypervisor, @unchecked Sendable {
    public let hostName: String
    public let uri: String
    public let capabilities: HostCapabilities
    public var hostUUID: String? { capabilities.hostUUID }
    /// KVM or Xen: decides the domain XML written and what can change live.
    public let flavour: HypervisorKind
    let connection: LibvirtConnection
    private let logger: Logger

    /// Connects to a Host document's hypervisor, as it says.
    public static func connect(to host: HostSpec, limits: ConnectionLimits = ConnectionLimits()) async throws -> LibvirtDriver {
        try await connect(host: host.name, uri: host.uri, flavour: host.hypervisor, acceleration: host.acceleration, limits: limits)
    }

    /// Connects to `uri` and reads the host's capabilities, giving up after `limits.connect`.
    /// - Parameter acceleration: `.tcg` defines QEMU domains as if the host offered no KVM.
    public static func connect(host: String, uri: String, flavour: HypervisorKind = .kvm, acceleration: Acceleration = .kvm,
                               limits: ConnectionLimits = ConnectionLimits()) async throws -> LibvirtDriver {
        try await blocking(deadline: limits.connect, {
            DriverError(.timeout, "host '\(host)' (\(uri)) did not answer within \(limits.connect.formattedSeconds): "
                + "libvirtd there may be stopped or hung, or the network may drop the connection; check it (virsh -c \(uri) version)")
        }) {
            let connection = try LibvirtConnection(uri: uri, limits: limits)
            var capabilities = try HostCapabilities(parsing: connection.capabilitiesXML())
            if acceleration == .tcg { capabilities.hvmDomainTypes.remove("kvm") }
            var logger = Logger(label: "vmplan.driver")
            logger[metadataKey: "host"] = "\(host)"
            logger.debug("connected", metadata: ["uri": "\(uri)", "arch": "\(capabilities.arch)", "domainType": "\(capabilities.preferredDomainType)"])
            return LibvirtDriver(hostName: host, flavour: flavour, connection: connection, capabilities: capabilities)
        }
    }

    private init(hostName: String, flavour: HypervisorKind, connection: LibvirtConnection, capabilities: HostCapabilities) {
        self.hostName = hostName
        self.flavour = flavour
        self.uri = connection.uri
        self.connection = connection
        self.capabilities = capabilities
        var logger = Logger(label: "vmplan.driver")
        logger[metadataKey: "host"] = "\(hostName)"
        self.logger = logger
    }

    public func observe() async throws -> [ObservedDomain] {
        let started = ContinuousClock.now
        let domains = try await blocking { [connection, hostName] in
            let listed = try connection.allDomains()
            // The autostart flag is not in the XML: one listing of the autostarting domains says it
            // for all (an import compares it too), instead of a call per domain.
            let autostarting = Set(try connection.allDomains(autostarting: true).map(\.uuid))
            // One connection carries many calls at once: fetching and parsing in a few lanes
            // overlaps the round trips instead of paying them one after another. The lanes are
            // threads of their own: each spends most of its time waiting for libvirtd.
            // libvirtd reads at most 5 calls of one client at a time (max_client_requests): 4
            // lanes leave room for a keepalive answer.
            let lanes = min(4, max(1, listed.count / 64))
            let results = LaneResults<ObservedDomain?>(count: listed.count)
            onThreads(lanes) { lane in
                for index in stride(from: lane, to: listed.count, by: lanes) {
                    let domain = listed[index]
                    results.set(index, Result { try Self.observe(domain, host: hostName, autostart: autostarting.contains(domain.uuid)) })
                }
            }
            return try results.values().compactMap { $0 }
        }
        logger.debug("observed domains", metadata: ["count": "\(domains.count)", "elapsed": "\(ContinuousClock.now - started)"])
        return domains
    }

    private static func observe(_ domain: LibvirtDomain, host: String, autostart: Bool) throws -> ObservedDomain? {
        let id = domain.id
        let xml: String
        do {
            xml = try domain.xml(inactive: true)
        } catch let error as DriverError where error.code == .notFound {
            return nil  // undefined by someone else between the listing and this read
        }
        let reader = try DomainXMLReader.read(xml)
        // Only vmplan's running domains need their live definition (a second read), to tell which
        // changes still wait for a restart.
        var running: VirtualMachineSpec?
        if id != nil, reader.owner != nil, let live = try? domain.xml(inactive: false) {
            running = try DomainXMLReader.read(live).spec(host: host, running: true, autostart: autostart)
        }
        return ObservedDomain(
            name: reader.name, uuid: domain.uuid, id: id, owner: reader.owner,
            spec: reader.spec(host: host, running: id != nil, autostart: autostart), runningSpec: running,
            domainType: reader.domainType
        )
    }

    public func define(_ spec: VirtualMachineSpec, owner: String) async throws {
        let xml = try DomainXML.make(for: spec, flavour: flavour, capabilities: capabilities, owner: owner)
        logger.trace("defining domain", metadata: ["xml": "\(xml)"])
        try await blocking { [connection] in
            let domain: LibvirtDomain
            do {
                // The XML names no UUID, so libvirt refuses it, atomically, when the name is
                // taken: no lookup first (a round trip per VM); one afterwards only words the error.
                domain = try connection.define(xml: xml, validate: false)
            } catch {
                if let existing = try? connection.domain(named: spec.name) {
                    throw DriverError(.operation, "a domain named \(spec.name) already exists on \(connection.uri) (uuid \(existing.uuid))")
                }
                throw error
            }
            // A new definition starts without autostart.
            if spec.autostart == true { try domain.setAutostart(true) }
        }
    }

    public func update(_ spec: VirtualMachineSpec, owner: String, progress: ProgressHandler?) async throws {
        try await blocking { [connection, capabilities, flavour] in
            let domain = try connection.domain(named: spec.name)
            try Self.owned(domain, on: connection)
            if domain.id != nil {
                try Self.hotplugDisks(domain, desired: spec, progress: progress)
                if flavour == .kvm { try Self.hotplugInterfaces(domain, desired: spec, progress: progress) }
            }
            let kept = try UnmanagedDevices.extract(from: domain.xml(inactive: true), managingInterfaces: spec.networks != nil,
                                                    keepingVideo: spec.graphics != nil && !spec.vgpus.contains(where: \.display))
            let xml = try DomainXML.make(for: spec, flavour: flavour, capabilities: capabilities, uuid: domain.uuid, owner: owner)
            _ = try connection.define(xml: try UnmanagedDevices.keeping(kept, in: xml), validate: true)
            try Self.setAutostart(domain, to: spec.autostart)
            guard domain.id != nil else { return }
            // The persistent config now holds the new spec; bring the running domain along
            // where it fits inside the maxima it was started with (its live XML, not the config).
            let current = try DomainXMLReader.read(domain.xml(inactive: false))
            if spec.vcpus != current.vcpus, spec.vcpus <= current.maxVcpus {
                progress?("\(spec.name): setting \(spec.vcpus) vCPUs live")
                try domain.setLiveVcpus(spec.vcpus)
            }
            if spec.memory != (current.memory ?? current.maxMemory), spec.memory <= current.maxMemory {
                progress?("\(spec.name): setting memory to \(spec.memory) live")
                try domain.setLiveMemory(kibibytes: spec.memory.kibibytes)
            }
        }
    }

    public func importDomain(_ spec: VirtualMachineSpec, uuid: String, owner: String) async throws {
        try await blocking { [connection] in
            let domain = try connection.domain(named: spec.name)
            guard domain.uuid.lowercased() == uuid else {
                throw DriverError(.notOwned, "domain \(spec.name) on \(connection.uri) has UUID \(domain.uuid), not \(uuid) as the manifest "
                    + "imports; it was left untouched")
            }
            guard try DomainXMLReader.read(domain.xml(inactive: true)).owner == nil else {
                throw DriverError(.notOwned, "domain \(spec.name) on \(connection.uri) already carries vmplan's marker; it was left untouched")
            }
            try domain.setMetadata(DomainXML.marker(for: spec, owner: owner), key: "vmplan", uri: OwnershipMarker.namespace,
                                   live: domain.id != nil)
        }
    }

    public func start(_ name: String) async throws {
        try await blocking { [connection] in
            let domain = try connection.domain(named: name)
            try Self.owned(domain, on: connection)
            guard domain.id == nil else { return }
            try domain.start()
        }
    }

    public func stop(_ name: String, policy: StopPolicy, progress: ProgressHandler?) async throws {
        try await blocking { [connection, flavour] in
            let domain = try connection.domain(named: name)
            try Self.owned(domain, on: connection)
            try Self.stop(domain, flavour: flavour, policy: policy, progress: progress)
        }
    }

    public func delete(_ name: String, policy: StopPolicy, progress: ProgressHandler?) async throws {
        try await blocking { [connection, flavour] in
            let domain = try connection.domain(named: name)
            try Self.owned(domain, on: connection)
            // The lookup says whether it runs (its id): a stopped domain costs no state query.
            if domain.id != nil { try Self.stop(domain, flavour: flavour, policy: policy, progress: progress) }
            try domain.undefine(flavour: flavour)
            // libxl finishes tearing a destroyed domain down in the background; the domain is
            // only gone (and its name free) once libvirt stops listing it. QEMU's is gone at once.
            guard flavour == .xen else { return }
            let deadline = ContinuousClock.now.advanced(by: .seconds(10))
            while ContinuousClock.now < deadline, (try? connection.domain(named: name)) != nil {
                Thread.sleep(forTimeInterval: 0.1)
            }
        }
    }

    /// Re-reads the domain's marker and refuses it unless it is vmplan's for this name: the last
    /// line of defence for domains vmplan does not own. Only the metadata element is read, not the
    /// whole definition (which libvirtd would format and vmplan parse, once per changed VM).
    @discardableResult
    static func owned(_ domain: LibvirtDomain, on connection: LibvirtConnection) throws -> OwnershipMarker {
        guard let element = try domain.metadata(uri: OwnershipMarker.namespace), let owner = try DomainXMLReader.marker(element),
              owner.resource == domain.name else {
            throw DriverError(.notOwned, "domain \(domain.name) on \(connection.uri) is not managed by vmplan; it was left untouched")
        }
        return owner
    }

    /// `autostart` nil (a spec recorded before vmplan managed it) leaves the flag as it is.
    private static func setAutostart(_ domain: LibvirtDomain, to autostart: Bool?) throws {
        guard let autostart, try domain.autostart() != autostart else { return }
        try domain.setAutostart(autostart)
    }

    private static func stop(_ domain: LibvirtDomain, flavour: HypervisorKind, policy: StopPolicy, progress: ProgressHandler?) throws {
        guard try domain.state() != .shutoff else { return }
        if try domain.state() == .running {
            // The guest agent shuts a guest down cleanly even where ACPI is ignored; libvirt falls back
            // to the power button when the agent fails. libxl picks PV control or ACPI itself.
            let request: LibvirtDomain.ShutdownRequest
            if flavour == .xen {
                request = .hypervisorChoice
            } else {
                let live = try? DomainXMLReader.read(domain.xml(inactive: false))
                request = live?.guestAgentConnected == true ? .guestAgent : .acpi
            }
            try domain.requestShutdown(request)
            let clock = ContinuousClock()
            let deadline = clock.now.advanced(by: policy.timeout)
            var nextReport = clock.now.advanced(by: .seconds(5))
            let how = request == .guestAgent ? " through the guest agent" : ""
            progress?("\(domain.name): shutting down\(how) (waiting up to \(policy.timeout.formattedSeconds))")
            while clock.now < deadline {
                if try domain.state() == .shutoff { return }
                Thread.sleep(forTimeInterval: 0.2)
                if clock.now >= nextReport {
                    let waited = policy.timeout - (deadline - clock.now)
                    progress?("\(domain.name): still shutting down (\(waited.formattedSeconds) of \(policy.timeout.formattedSeconds))")
                    nextReport = clock.now.advanced(by: .seconds(5))
                }
            }
            if try domain.state() == .shutoff { return }
        }
        guard policy.forceAfterTimeout else {
            throw DriverError(.timeout, "domain \(domain.name) did not shut down within \(policy.timeout.formattedSeconds) and a forced stop is not allowed; it is still running")
        }
        progress?("\(domain.name): forcing off")
        do {
            try domain.destroy()
        } catch {
            // The guest may have finished its own shutdown in the meantime.
            if (try? domain.state()) == .shutoff { return }
            throw error
        }
    }
}

/// Results written by concurrent lanes, each index by exactly one lane.
final class LaneResults<Value>: @unchecked Sendable {
    private var slots: [Result<Value, Error>?]
    private let lock = NSLock()

    init(count: Int) { slots = Array(repeating: nil, count: count) }

    func set(_ index: Int, _ result: Result<Value, Error>) {
        lock.withLock { slots[index] = result }
    }

    /// In index order; the first failure is thrown.
    func values() throws -> [Value] {
        try lock.withLock { slots }.map { try ($0 ?? .failure(DriverError(.operation, "a domain was not read"))).get() }
    }
}

/// Runs `body(lane)` for each of `count` lanes, each on a thread of its own, and returns when all
/// have: unlike `DispatchQueue.concurrentPerform`, which runs no more lanes at once than there
/// are cores, however long each waits on the network.
func onThreads(_ count: Int, _ body: @escaping @Sendable (Int) -> Void) {
    guard count > 1 else { return body(0) }
    let group = DispatchGroup()
    for lane in 0..<count {
        group.enter()
        Thread.detachNewThread {
            body(lane)
            group.leave()
        }
    }
    group.wait()
}

/// Runs a blocking libvirt call off Swift's cooperative thread pool, on a thread of its own:
/// Dispatch's global queues run about as many blocking calls at once as there are cores, which
/// would hold an apply across ten hosts to two calls at a time on a two-core machine. How many
/// calls run at once is bounded by the callers (`--parallelism`, `perHostConcurrency`).
func blocking<T: Sendable>(_ body: @escaping @Sendable () throws -> T) async throws -> T {
    try await withCheckedThrowingContinuation { continuation in
        Thread.detachNewThread {
            continuation.resume(with: Result { try body() })
        }
    }
}
