/// Rules for LVM (`type: logical`) pools and the volumes in them, shared by the loader
/// (which reports them at the offending line) and the planner (which re-checks its inputs).
public enum LogicalPool {
    /// LVM's default extent size (vgcreate's, and so libvirt's build): logical volumes come in whole extents.
    public static let extent = ByteCount.mebibytes(4)

    public static let volumeGroupRule = "1 to 127 characters: letters, digits, '+', '_', '.' and '-', not starting with '-' and not '.' or '..'"
    public static let deviceRule = "an absolute block device path under /dev/ such as /dev/sdb or /dev/disk/by-id/…, "
        + "without '.' or '..' components, spaces or control characters"

    /// LVM's own rule for volume group names (lvm(8), "VALID NAMES"); the name also becomes `/dev/VG`.
    public static func isValidVolumeGroup(_ name: String) -> Bool {
        guard !name.isEmpty, name.unicodeScalars.count <= 127, !name.hasPrefix("-"), name != ".", name != ".." else { return false }
        return name.unicodeScalars.allSatisfy { scalar in
            ("a"..."z").contains(scalar) || ("A"..."Z").contains(scalar) || ("0"..."9").contains(scalar)
                || scalar == "+" || scalar == "_" || scalar == "." || scalar == "-"
        }
    }

    public static func isValidDevice(_ path: String) -> Bool {
        path.hasPrefix("/dev/") && path.count > "/dev/".count && StoragePath.isValid(path)
    }

    /// Why `volume` cannot be made in the logical pool `pool`, or nil when it can.
    /// Each answer names the field it is about, for the loader's location.
    public static func refusal(of volume: VolumeSpec, in pool: StoragePoolSpec) -> (field: String, message: String)? {
        guard pool.type == .logical else { return nil }
        switch volume.source {
        case .backing?:
            return ("backing", "Volume '\(volume.name)' is in the logical (LVM) pool '\(pool.name)', and LVM has no qcow2 overlays; "
                + "put the overlay and its base in a dir pool, or make a full copy with from: {volume: …}")
        case .image?:
            return ("from", "Volume '\(volume.name)': from.image cannot fill a volume in the logical (LVM) pool '\(pool.name)' yet; "
                + "copy the image into a Volume of a dir pool and use from: {volume: …}")
        case .seed?:
            return nil  // a raw ISO: fine on a logical volume
        case .volume?, nil:
            break
        }
        if volume.format != .raw {
            return ("format", "Volume '\(volume.name)' is in the logical (LVM) pool '\(pool.name)', whose volumes are raw block devices; "
                + "format: \(volume.format.rawValue) needs a dir pool. Use format: raw (the default in a logical pool)")
        }
        if volume.capacity.bytes % extent.bytes != 0 {
            let rounded = ByteCount(bytes: (volume.capacity.bytes / extent.bytes + 1) * extent.bytes)
            return ("capacity", "Volume '\(volume.name)': capacity \(volume.capacity) is not a multiple of 4MiB, LVM's extent in the logical pool '\(pool.name)'; "
                + "LVM would round it up and later plans would see a volume larger than asked. Use \(rounded)")
        }
        return nil
    }
}
