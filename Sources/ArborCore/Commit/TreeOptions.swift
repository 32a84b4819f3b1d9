// How a source tree's metadata is mapped into objects (spec §3.3, "Options ostree commit
// applies before checksumming").

/// Options that change the metadata of committed entries.
public struct TreeOptions: Sendable {
    /// Override every entry's owner (directories included).
    public var ownerUID: UInt32?
    /// Override every entry's group.
    public var ownerGID: UInt32?
    /// uid/gid 0, modes masked to 0755, no xattrs (forced in bare-user-only repositories).
    public var canonicalPermissions = false
    /// Ignore xattrs.
    public var noXattrs = false

    /// Creates default options.
    public init() {}

    /// Whether xattrs must be read at all.
    var wantsXattrs: Bool { !noXattrs && !canonicalPermissions }

    /// Applies the options to a file's or symlink's metadata.
    func apply(_ m: FileMeta) -> FileMeta {
        var m = m
        if canonicalPermissions {
            m.uid = 0
            m.gid = 0
            m.mode = m.isSymlink ? 0o120777 : m.mode & (0o100000 | 0o755)
            m.xattrs = []
            return m
        }
        if let u = ownerUID { m.uid = u }
        if let g = ownerGID { m.gid = g }
        if noXattrs { m.xattrs = [] }
        return m
    }

    /// Applies the options to a directory's metadata.
    func apply(_ m: DirMeta) -> DirMeta {
        var m = m
        if canonicalPermissions {
            m.uid = 0
            m.gid = 0
            m.mode = m.mode & (0o040000 | 0o755)
            m.xattrs = []
            return m
        }
        if let u = ownerUID { m.uid = u }
        if let g = ownerGID { m.gid = g }
        if noXattrs { m.xattrs = [] }
        return m
    }
}
