// Content-object metadata and its two serialised headers (spec §3.3 and §5):
//   canonical  u32 BE length, 4 zero bytes, GVariant (uuuusa(ayay))   -- hashed before the content
//   archive    u32 BE length, 4 zero bytes, GVariant (tuuuusa(ayay))  -- heads a .filez
// uid, gid and mode are stored big-endian inside the little-endian GVariant.

/// The metadata of a content object: what a checksum covers besides the bytes.
public struct FileMeta: Hashable, Sendable {
    /// Owner.
    public var uid: UInt32
    /// Group.
    public var gid: UInt32
    /// Full `st_mode`, with `S_IFREG` or `S_IFLNK`.
    public var mode: UInt32
    /// The target for a symlink; empty for a regular file.
    public var symlinkTarget: String
    /// Sorted extended attributes.
    public var xattrs: [Xattr]

    /// Creates file metadata; `xattrs` are put in canonical order.
    public init(uid: UInt32, gid: UInt32, mode: UInt32, symlinkTarget: String = "", xattrs: [Xattr] = []) {
        self.uid = uid
        self.gid = gid
        self.mode = mode
        self.symlinkTarget = symlinkTarget
        self.xattrs = canonicalXattrs(xattrs)
    }

    /// Whether this describes a symlink.
    public var isSymlink: Bool { mode & 0o170000 == 0o120000 }
    /// Whether this describes a regular file.
    public var isRegular: Bool { mode & 0o170000 == 0o100000 }

    static let headerType = GVariantType.tuple([.uint32, .uint32, .uint32, .uint32, .string, xattrsType])
    static let archiveHeaderType = GVariantType.tuple([.uint64, .uint32, .uint32, .uint32, .uint32, .string, xattrsType])
    static let xattrsType = GVariantType.array(.tuple([.array(.byte), .array(.byte)]))

    /// The header hashed before the content: the object's identity in every mode.
    public func canonicalHeader() -> [UInt8] {
        let v = GVariant.tuple([.uint32(uid.bigEndian), .uint32(gid.bigEndian), .uint32(mode.bigEndian), .uint32(0),
                                .string(symlinkTarget), xattrsVariant(xattrs)])
        return framed(v.serialize())
    }

    /// The header of a `.filez` object holding `size` uncompressed bytes.
    public func archiveHeader(size: UInt64) -> [UInt8] {
        let v = GVariant.tuple([.uint64(size.bigEndian), .uint32(uid.bigEndian), .uint32(gid.bigEndian),
                                .uint32(mode.bigEndian), .uint32(0), .string(symlinkTarget), xattrsVariant(xattrs)])
        return framed(v.serialize())
    }

    private func framed(_ body: [UInt8]) -> [UInt8] {
        let n = UInt32(body.count)
        var out: [UInt8] = [UInt8(n >> 24), UInt8((n >> 16) & 0xff), UInt8((n >> 8) & 0xff), UInt8(n & 0xff), 0, 0, 0, 0]
        out.append(contentsOf: body)
        return out
    }

    /// Parses a `.filez` header from the start of `bytes`; returns the metadata, the uncompressed
    /// size and where the payload starts.
    public static func parseArchiveHeader(_ bytes: [UInt8], object: String) throws -> (FileMeta, UInt64, Int) {
        guard bytes.count >= 8 else { throw ArborError.corruptObject(name: object, reason: "truncated header") }
        let len = Int(bytes[0]) << 24 | Int(bytes[1]) << 16 | Int(bytes[2]) << 8 | Int(bytes[3])
        guard bytes[4] == 0, bytes[5] == 0, bytes[6] == 0, bytes[7] == 0 else {
            throw ArborError.corruptObject(name: object, reason: "bad header padding")
        }
        guard len <= bytes.count - 8, len <= 1 << 20 else {
            throw ArborError.corruptObject(name: object, reason: "header length \(len) out of range")
        }
        let v: GVariant
        do { v = try GVariant.parse(Array(bytes[8..<(8 + len)]), as: archiveHeaderType) } catch {
            throw ArborError.corruptObject(name: object, reason: "bad header: \(error)")
        }
        guard case let .tuple(c) = v, c.count == 7,
              case let .uint64(sizeBE) = c[0], case let .uint32(uid) = c[1], case let .uint32(gid) = c[2],
              case let .uint32(mode) = c[3], case let .string(target) = c[5] else {
            throw ArborError.corruptObject(name: object, reason: "bad header")
        }
        let meta = FileMeta(uid: UInt32(bigEndian: uid), gid: UInt32(bigEndian: gid), mode: UInt32(bigEndian: mode),
                            symlinkTarget: target, xattrs: try parseXattrs(c[6], object: object))
        try meta.validate(object: object)
        return (meta, UInt64(bigEndian: sizeBE), 8 + len)
    }

    /// Parses the canonical header GVariant (without its 8-byte prefix).
    public static func parseCanonical(_ body: [UInt8], object: String) throws -> FileMeta {
        let v: GVariant
        do { v = try GVariant.parse(body, as: headerType) } catch {
            throw ArborError.corruptObject(name: object, reason: "bad header: \(error)")
        }
        guard case let .tuple(c) = v, c.count == 6, case let .uint32(uid) = c[0], case let .uint32(gid) = c[1],
              case let .uint32(mode) = c[2], case let .string(target) = c[4] else {
            throw ArborError.corruptObject(name: object, reason: "bad header")
        }
        return FileMeta(uid: UInt32(bigEndian: uid), gid: UInt32(bigEndian: gid), mode: UInt32(bigEndian: mode),
                        symlinkTarget: target, xattrs: try parseXattrs(c[5], object: object))
    }

    /// Checks the invariants OSTree relies on: a file or symlink, only permission bits besides the type.
    public func validate(object: String) throws {
        guard isRegular || isSymlink else {
            throw ArborError.corruptObject(name: object, reason: "mode \(String(mode, radix: 8)) is neither a file nor a symlink")
        }
        if isSymlink && symlinkTarget.isEmpty { throw ArborError.corruptObject(name: object, reason: "empty symlink target") }
        if isRegular && !symlinkTarget.isEmpty { throw ArborError.corruptObject(name: object, reason: "regular file with a symlink target") }
    }
}

/// The `a(ayay)` value for a list of xattrs (names get their trailing NUL).
func xattrsVariant(_ xs: [Xattr]) -> GVariant {
    .array(element: .tuple([.array(.byte), .array(.byte)]), xs.map { .tuple([.bytes($0.name + [0]), .bytes($0.value)]) })
}

/// Reads an `a(ayay)` value back into xattrs (dropping the names' trailing NUL).
func parseXattrs(_ v: GVariant, object: String) throws -> [Xattr] {
    if case .bytes = v { return [] }
    guard case let .array(_, items) = v else { throw ArborError.corruptObject(name: object, reason: "bad xattrs") }
    var out: [Xattr] = []
    out.reserveCapacity(items.count)
    for item in items {
        guard case let .tuple(kv) = item, kv.count == 2, case var .bytes(name) = kv[0], case let .bytes(value) = kv[1] else {
            throw ArborError.corruptObject(name: object, reason: "bad xattr entry")
        }
        if name.last == 0 { name.removeLast() }
        guard !name.isEmpty, !name.contains(0) else { throw ArborError.corruptObject(name: object, reason: "bad xattr name") }
        out.append(Xattr(name: name, value: value))
    }
    return out
}
