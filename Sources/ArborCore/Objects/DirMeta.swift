// dirmeta: (uuua(ayay)) -- uid, gid, mode big-endian, then sorted xattrs (spec §3.1).

/// A directory's metadata object.
public struct DirMeta: Hashable, Sendable {
    /// Owner.
    public var uid: UInt32
    /// Group.
    public var gid: UInt32
    /// Full `st_mode` including `S_IFDIR`.
    public var mode: UInt32
    /// Sorted extended attributes.
    public var xattrs: [Xattr]

    /// Creates directory metadata; xattrs are put in canonical order.
    public init(uid: UInt32, gid: UInt32, mode: UInt32, xattrs: [Xattr] = []) {
        self.uid = uid
        self.gid = gid
        self.mode = mode
        self.xattrs = canonicalXattrs(xattrs)
    }

    static let type = GVariantType.tuple([.uint32, .uint32, .uint32, FileMeta.xattrsType])

    /// The serialised object.
    public func serialize() -> [UInt8] {
        GVariant.tuple([.uint32(uid.bigEndian), .uint32(gid.bigEndian), .uint32(mode.bigEndian), xattrsVariant(xattrs)]).serialize()
    }

    /// Parses and validates a dirmeta object.
    public static func parse(_ bytes: [UInt8], name: String) throws -> DirMeta {
        let v = try parseNormal(bytes, as: type, name: name)
        guard case let .tuple(c) = v, c.count == 4, case let .uint32(uid) = c[0], case let .uint32(gid) = c[1],
              case let .uint32(mode) = c[2] else {
            throw ArborError.corruptObject(name: name, reason: "not a dirmeta")
        }
        let m = UInt32(bigEndian: mode)
        guard m & 0o170000 == 0o040000, m & ~UInt32(0o047777) == 0 else {
            throw ArborError.corruptObject(name: name, reason: "mode \(String(m, radix: 8)) is not a directory mode")
        }
        return DirMeta(uid: UInt32(bigEndian: uid), gid: UInt32(bigEndian: gid), mode: m, xattrs: try parseXattrs(c[3], object: name))
    }
}

/// Parses `bytes` as `type`, requiring OSTree's normal form; errors name the object.
func parseNormal(_ bytes: [UInt8], as type: GVariantType, name: String) throws -> GVariant {
    let v: GVariant
    do { v = try GVariant.parse(bytes, as: type) } catch {
        throw ArborError.corruptObject(name: name, reason: "malformed: \(error)")
    }
    guard v.serialize() == bytes else { throw ArborError.corruptObject(name: name, reason: "not in normal form") }
    return v
}
