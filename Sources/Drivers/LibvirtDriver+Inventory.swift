extension LibvirtDriver {
    /// The host's PCI devices, the mdev types they offer, and the mediated devices that
    /// exist, read fresh from libvirt's node-device API on every call.
    public func inventory() async throws -> HostInventory {
        try await blocking { [connection] in
            let documents = try connection.gpuRelevantNodeDevices().compactMap { try $0.xmlUnlessGone() }
            return try HostInventory(nodeDeviceXML: documents)
        }
    }
}
