internal import CLibvirt
import Foundation
import Spec

/// Owns one `virStoragePoolPtr`.
final class LibvirtPool: @unchecked Sendable {
    private let pointer: virStoragePoolPtr

    init(_ pointer: virStoragePoolPtr) { self.pointer = pointer }
    deinit { virStoragePoolFree(pointer) }

    var name: String { virStoragePoolGetName(pointer).map { String(cString: $0) } ?? "" }

    var uuid: String {
        var buffer = [CChar](repeating: 0, count: Int(VIR_UUID_STRING_BUFLEN))
        guard virStoragePoolGetUUIDString(pointer, &buffer) == 0 else { return "" }
        return String(cString: buffer)
    }

    var isActive: Bool { virStoragePoolIsActive(pointer) == 1 }

    func xml() throws -> String {
        let name = self.name
        guard let raw = virStoragePoolGetXMLDesc(pointer, 0) else {
            throw LibvirtConnection.lastError(.operation, "cannot read the XML of pool \(name)")
        }
        defer { free(raw) }
        return String(cString: raw)
    }

    func info() throws -> (capacity: UInt64, allocation: UInt64, available: UInt64) {
        var info = virStoragePoolInfo()
        guard virStoragePoolGetInfo(pointer, &info) == 0 else {
            throw LibvirtConnection.lastError(.operation, "cannot read the size of pool \(name)")
        }
        return (UInt64(info.capacity), UInt64(info.allocation), UInt64(info.available))
    }

    func volumes() throws -> [LibvirtVolume] {
        var list: UnsafeMutablePointer<virStorageVolPtr?>?
        let count = virStoragePoolListAllVolumes(pointer, &list, 0)
        guard count >= 0 else { throw LibvirtConnection.lastError(.operation, "cannot list the volumes of pool \(name)") }
        guard let list else { return [] }
        defer { free(list) }
        return (0..<Int(count)).compactMap { list[$0].map(LibvirtVolume.init) }
    }

    func volume(named volume: String) throws -> LibvirtVolume {
        guard let raw = virStorageVolLookupByName(pointer, volume) else {
            throw LibvirtConnection.lastError(.notFound, "volume \(volume) in pool \(name)")
        }
        return LibvirtVolume(raw)
    }

    /// A directory pool: makes the directory. A logical pool: makes the volume group; without the
    /// overwrite flag, libvirt refuses a device that already carries a signature.
    func build() throws { try check(virStoragePoolBuild(pointer, 0), "cannot build (create the directory or volume group of) pool") }
    func start() throws { try check(virStoragePoolCreate(pointer, 0), "cannot start pool") }
    func setAutostart() throws { try check(virStoragePoolSetAutostart(pointer, 1), "cannot mark pool as autostarted") }
    func refresh() throws { try check(virStoragePoolRefresh(pointer, 0), "cannot refresh pool") }
    func stop() throws { try check(virStoragePoolDestroy(pointer), "cannot stop pool") }
    /// For a directory pool: removes the (empty) directory.
    func deleteDirectory() throws { try check(virStoragePoolDelete(pointer, 0), "cannot delete the directory of pool") }
    func undefine() throws { try check(virStoragePoolUndefine(pointer), "cannot undefine pool") }

    func createVolume(xml: String, from source: LibvirtVolume? = nil) throws -> LibvirtVolume {
        let raw = source.map { virStorageVolCreateXMLFrom(pointer, xml, $0.pointer, 0) } ?? virStorageVolCreateXML(pointer, xml, 0)
        guard let raw else { throw LibvirtConnection.lastError(.operation, "cannot create a volume in pool \(name)") }
        return LibvirtVolume(raw)
    }

    private func check(_ result: Int32, _ what: @autoclosure () -> String) throws {
        guard result == 0 else { throw LibvirtConnection.lastError(.operation, "\(what()) \(name)") }
    }
}

/// Owns one `virStorageVolPtr`.
final class LibvirtVolume: @unchecked Sendable {
    fileprivate let pointer: virStorageVolPtr

    init(_ pointer: virStorageVolPtr) { self.pointer = pointer }
    deinit { virStorageVolFree(pointer) }

    var name: String { virStorageVolGetName(pointer).map { String(cString: $0) } ?? "" }
    var key: String { virStorageVolGetKey(pointer).map { String(cString: $0) } ?? "" }

    var path: String {
        guard let raw = virStorageVolGetPath(pointer) else { return "" }
        defer { free(raw) }
        return String(cString: raw)
    }

    func xml() throws -> String {
        let name = self.name
        guard let raw = virStorageVolGetXMLDesc(pointer, 0) else {
            throw LibvirtConnection.lastError(.operation, "cannot read the XML of volume \(name)")
        }
        defer { free(raw) }
        return String(cString: raw)
    }

    func resize(to bytes: UInt64) throws {
        guard virStorageVolResize(pointer, bytes, 0) == 0 else {
            throw LibvirtConnection.lastError(.operation, "cannot resize volume \(name)")
        }
    }

    func delete() throws {
        guard virStorageVolDelete(pointer, 0) == 0 else {
            throw LibvirtConnection.lastError(.operation, "cannot delete volume \(name)")
        }
    }

    /// Streams `data` into the volume from offset 0 (`virStorageVolUpload`): works on remote
    /// hosts too, since the bytes travel over the libvirt connection.
    func upload(_ data: Data, connection: LibvirtConnection) throws {
        let name = self.name
        let stream = try connection.newStream()
        defer { virStreamFree(stream) }
        guard virStorageVolUpload(pointer, stream, 0, UInt64(data.count), 0) == 0 else {
            throw LibvirtConnection.lastError(.operation, "cannot start the upload into volume \(name)")
        }
        var offset = 0
        let chunk = 256 * 1024
        while offset < data.count {
            let end = min(offset + chunk, data.count)
            let sent = data[offset..<end].withUnsafeBytes { buffer in
                virStreamSend(stream, buffer.baseAddress?.assumingMemoryBound(to: CChar.self), buffer.count)
            }
            guard sent > 0 else {
                let error = LibvirtConnection.lastError(.operation, "the upload into volume \(name) failed")
                virStreamAbort(stream)
                throw error
            }
            offset += Int(sent)
        }
        guard virStreamFinish(stream) == 0 else {
            let error = LibvirtConnection.lastError(.operation, "the upload into volume \(name) did not finish")
            virStreamAbort(stream)
            throw error
        }
    }
}

extension LibvirtVolume {
    /// Copies this volume's bytes into `target`, on another host, through two streams over the
    /// libvirt connections (sparse: holes stay holes). For a shut-off VM's volume: nothing may
    /// write it meanwhile.
    func copy(to target: LibvirtVolume, from connection: LibvirtConnection, into destination: LibvirtConnection) throws {
        let name = self.name
        let download = try connection.newStream()
        defer { virStreamFree(download) }
        let upload = try destination.newStream()
        defer { virStreamFree(upload) }
        guard virStorageVolDownload(pointer, download, 0, 0, UInt32(VIR_STORAGE_VOL_DOWNLOAD_SPARSE_STREAM.rawValue)) == 0 else {
            throw LibvirtConnection.lastError(.operation, "cannot start reading volume \(name) on \(connection.uri)")
        }
        guard virStorageVolUpload(target.pointer, upload, 0, 0, UInt32(VIR_STORAGE_VOL_UPLOAD_SPARSE_STREAM.rawValue)) == 0 else {
            let error = LibvirtConnection.lastError(.operation, "cannot start writing volume \(name) on \(destination.uri)")
            virStreamAbort(download)
            throw error
        }
        let failed = { (what: String) -> DriverError in
            let error = LibvirtConnection.lastError(.operation, "copying volume \(name) from \(connection.uri) to \(destination.uri): \(what)")
            virStreamAbort(download)
            virStreamAbort(upload)
            return error
        }
        var buffer = [CChar](repeating: 0, count: 256 * 1024)
        while true {
            let received = virStreamRecvFlags(download, &buffer, buffer.count, UInt32(VIR_STREAM_RECV_STOP_AT_HOLE.rawValue))
            if received == 0 { break }
            if received == -3 {  // at a hole: its length, passed on as a hole
                var length: Int64 = 0
                guard virStreamRecvHole(download, &length, 0) == 0 else { throw failed("reading a hole failed") }
                guard virStreamSendHole(upload, length, 0) == 0 else { throw failed("writing a hole failed") }
                continue
            }
            guard received > 0 else { throw failed("reading failed") }
            var offset = 0
            while offset < Int(received) {
                let sent = buffer.withUnsafeBufferPointer { virStreamSend(upload, $0.baseAddress! + offset, Int(received) - offset) }
                guard sent > 0 else { throw failed("writing failed") }
                offset += Int(sent)
            }
        }
        guard virStreamFinish(download) == 0 else { throw failed("the download did not finish") }
        guard virStreamFinish(upload) == 0 else { throw failed("the upload did not finish") }
    }
}

extension LibvirtConnection {
    func allPools() throws -> [LibvirtPool] {
        var list: UnsafeMutablePointer<virStoragePoolPtr?>?
        let count = virConnectListAllStoragePools(pointer, &list, 0)
        guard count >= 0 else { throw LibvirtConnection.lastError(.connection, "cannot list storage pools on \(uri)") }
        guard let list else { return [] }
        defer { free(list) }
        return (0..<Int(count)).compactMap { list[$0].map(LibvirtPool.init) }
    }

    func pool(named name: String) throws -> LibvirtPool {
        guard let raw = virStoragePoolLookupByName(pointer, name) else {
            throw LibvirtConnection.lastError(.notFound, "pool \(name) on \(uri)")
        }
        return LibvirtPool(raw)
    }

    func definePool(xml: String) throws -> LibvirtPool {
        guard let raw = virStoragePoolDefineXML(pointer, xml, 0) else {
            throw LibvirtConnection.lastError(.operation, "libvirt refused the pool definition")
        }
        return LibvirtPool(raw)
    }

    fileprivate func newStream() throws -> virStreamPtr {
        guard let stream = virStreamNew(pointer, 0) else {
            throw LibvirtConnection.lastError(.connection, "cannot open a stream to \(uri)")
        }
        return stream
    }
}

extension LibvirtDomain {
    /// Attaches or detaches one device on the running domain, and in its config when `config`.
    /// - Parameter what: the device for messages, `a disk`.
    func changeDevice(xml: String, attach: Bool, config: Bool, what: String) throws {
        let flags = UInt32(VIR_DOMAIN_AFFECT_LIVE.rawValue | (config ? VIR_DOMAIN_AFFECT_CONFIG.rawValue : 0))
        let result = attach ? virDomainAttachDeviceFlags(pointer, xml, flags) : virDomainDetachDeviceFlags(pointer, xml, flags)
        guard result == 0 else {
            throw LibvirtConnection.lastError(.operation, "cannot \(attach ? "attach \(what) to" : "detach \(what) from") running domain \(name)")
        }
    }

    /// Grows a disk of the running domain (`target` is its `vdb`-style name), so QEMU,
    /// which holds the image open, does the resize and tells the guest.
    func blockResize(target: String, bytes: UInt64) throws {
        guard virDomainBlockResize(pointer, target, bytes, UInt32(VIR_DOMAIN_BLOCK_RESIZE_BYTES.rawValue)) == 0 else {
            throw LibvirtConnection.lastError(.operation, "cannot grow disk \(target) of running domain \(name)")
        }
    }
}
