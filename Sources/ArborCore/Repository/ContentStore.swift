// Reading content objects in each storage mode (spec §5):
//   bare            the real file or symlink; metadata from the inode
//   bare-user       a regular file; true metadata in `user.ostreemeta` (uuua(ayay)); symlinks hold target + NUL
//   bare-user-only  the file or symlink; uid = gid = 0, no xattrs
//   archive         .filez: archive header, then a raw deflate payload
#if canImport(Glibc)
import Glibc
#endif

/// A content object's metadata and uncompressed size, read without reading the content.
public struct ContentInfo: Sendable {
    /// Ownership, mode, symlink target and xattrs.
    public var meta: FileMeta
    /// The content length (0 for symlinks).
    public var size: UInt64
}

extension Repository {
    static let bareUserMetaType = GVariantType.tuple([.uint32, .uint32, .uint32, FileMeta.xattrsType])

    /// Reads a content object's metadata and size.
    public func contentInfo(_ checksum: Checksum) throws -> ContentInfo {
        try openContent(checksum).info
    }

    /// Opens a content object once: its metadata, size and, for a regular file, a descriptor
    /// positioned at the content (after the header in archive mode). One open per object keeps
    /// fsck and copying checkouts to a handful of system calls per file.
    func openContent(_ checksum: Checksum) throws -> (info: ContentInfo, fd: FileDescriptor?) {
        let name = ObjectName(checksum, .file).description
        let (d, n) = looseName(checksum, .file)
        guard let sub = objectSubdir(d) else { throw ArborError.missingObject(name: name) }
        let raw = Glibc.openat(sub.raw, n, O_RDONLY | O_NOFOLLOW | O_CLOEXEC)
        if raw < 0 {
            let err = errno
            if err == ENOENT { throw ArborError.missingObject(name: name) }
            guard err == ELOOP, mode == .bare || mode == .bareUserOnly else {
                throw ArborError.system(op: "open", path: sub.join(n), errno: err)
            }
            // A symlink object (bare, bare-user-only): metadata from the link itself.
            let st = try sub.stat(n)
            let target = try sub.readlink(n)
            if mode == .bareUserOnly {
                return (ContentInfo(meta: FileMeta(uid: 0, gid: 0, mode: UInt32(st.st_mode), symlinkTarget: target), size: 0), nil)
            }
            let xattrs = try XattrIO.read(dir: sub, name: n)
            return (ContentInfo(meta: FileMeta(uid: st.st_uid, gid: st.st_gid, mode: UInt32(st.st_mode), symlinkTarget: target,
                                                xattrs: xattrs), size: 0), nil)
        }
        let fd = FileDescriptor(raw: raw, path: sub.join(n))
        let st = try fd.stat()
        guard st.st_mode & S_IFMT == S_IFREG else {
            throw ArborError.corruptObject(name: name, reason: "not a regular file or symlink")
        }
        switch mode {
        case .bareUserOnly:
            return (ContentInfo(meta: FileMeta(uid: 0, gid: 0, mode: UInt32(st.st_mode)), size: UInt64(st.st_size)), fd)
        case .bare:
            let xattrs = try XattrIO.read(fd: fd.raw, path: fd.path)
            return (ContentInfo(meta: FileMeta(uid: st.st_uid, gid: st.st_gid, mode: UInt32(st.st_mode), xattrs: xattrs),
                                size: UInt64(st.st_size)), fd)
        case .bareUser:
            let meta = try bareUserMeta(fd: fd, name: name)
            if meta.isSymlink {
                var m = meta
                m.symlinkTarget = try bareUserSymlinkTarget(fd: fd, name: name)
                return (ContentInfo(meta: m, size: 0), nil)
            }
            return (ContentInfo(meta: meta, size: UInt64(st.st_size)), fd)
        case .archive:
            let (meta, size, _) = try readArchiveHeader(fd: fd, name: name)
            return (ContentInfo(meta: meta, size: size), meta.isRegular ? fd : nil)
        }
    }

    func bareUserMeta(fd: FileDescriptor, name: String) throws -> FileMeta {
        guard let raw = XattrIO.get(fd: fd.raw, name: "user.ostreemeta") else {
            throw ArborError.corruptObject(name: name, reason: "missing user.ostreemeta")
        }
        let v = try parseNormal(raw, as: Self.bareUserMetaType, name: name)
        guard case let .tuple(c) = v, c.count == 4, case let .uint32(uid) = c[0], case let .uint32(gid) = c[1],
              case let .uint32(mode) = c[2] else { throw ArborError.corruptObject(name: name, reason: "bad user.ostreemeta") }
        let m = UInt32(bigEndian: mode)
        let meta = FileMeta(uid: UInt32(bigEndian: uid), gid: UInt32(bigEndian: gid), mode: m,
                            symlinkTarget: m & 0o170000 == 0o120000 ? "-" : "", xattrs: try parseXattrs(c[3], object: name))
        try meta.validate(object: name)
        return meta
    }

    func bareUserSymlinkTarget(fd: FileDescriptor, name: String) throws -> String {
        let bytes = try fd.readAll(limit: 1 << 20)
        guard bytes.count >= 2, bytes.last == 0, !bytes.dropLast().contains(0) else {
            throw ArborError.corruptObject(name: name, reason: "bad symlink target")
        }
        guard let s = String(validating: bytes.dropLast(), as: UTF8.self) else {
            throw ArborError.corruptObject(name: name, reason: "symlink target is not UTF-8")
        }
        return s
    }

    /// Reads and parses the header of a `.filez`; leaves `fd` positioned at the payload.
    func readArchiveHeader(fd: FileDescriptor, name: String) throws -> (FileMeta, UInt64, Int) {
        try readArchiveObjectHeader(fd: fd, name: name)
    }
}

/// Reads and parses the header of a `.filez` from `fd`; leaves `fd` positioned at the payload.
public func readArchiveObjectHeader(fd: FileDescriptor, name: String) throws -> (FileMeta, UInt64, Int) {
        var prefix = [UInt8](repeating: 0, count: 8)
        let got = try prefix.withUnsafeMutableBytes { try readFully(fd, into: $0) }
        guard got == 8 else { throw ArborError.corruptObject(name: name, reason: "truncated header") }
        let len = Int(prefix[0]) << 24 | Int(prefix[1]) << 16 | Int(prefix[2]) << 8 | Int(prefix[3])
        guard len <= 1 << 20 else { throw ArborError.corruptObject(name: name, reason: "header length \(len) out of range") }
        var header = prefix + [UInt8](repeating: 0, count: len)
        let got2 = try header.withUnsafeMutableBytes { try readFully(fd, into: UnsafeMutableRawBufferPointer(rebasing: $0[8...])) }
        guard got2 == len else { throw ArborError.corruptObject(name: name, reason: "truncated header") }
        return try FileMeta.parseArchiveHeader(header, object: name)
}

extension Repository {
    /// Streams a content object's bytes (nothing for a symlink) to `sink` and returns its
    /// metadata. With `verify`, the object is re-hashed and a mismatch throws after the last chunk.
    @discardableResult
    public func readContent(_ checksum: Checksum, verify: Bool,
                            sink: (UnsafeRawBufferPointer) throws -> Void) throws -> ContentInfo {
        try withoutActuallyEscaping(sink) { sink in try readContentImpl(checksum, verify: verify, sink: sink) }
    }

    /// Streams an object already opened with `openContent` (see `readContent`).
    func readContent(_ checksum: Checksum, opened: (info: ContentInfo, fd: FileDescriptor?), verify: Bool,
                     sink: (UnsafeRawBufferPointer) throws -> Void) throws {
        _ = try withoutActuallyEscaping(sink) { s in try readContentImpl(checksum, opened: opened, verify: verify, sink: s) }
    }

    private func readContentImpl(_ checksum: Checksum, opened given: (info: ContentInfo, fd: FileDescriptor?)? = nil, verify: Bool,
                                 sink: @escaping (UnsafeRawBufferPointer) throws -> Void) throws -> ContentInfo {
        let name = ObjectName(checksum, .file).description
        let (info, opened) = try given ?? openContent(checksum)
        let hasher = verify ? SHA256Hasher() : nil
        hasher?.update(info.meta.canonicalHeader())
        var total: UInt64 = 0
        let feed: (UnsafeRawBufferPointer) throws -> Void = { chunk in
            total += UInt64(chunk.count)
            if total > info.size { throw ArborError.corruptObject(name: name, reason: "content longer than its header says") }
            hasher?.update(chunk)
            try sink(chunk)
        }
        if info.meta.isRegular {
            guard let fd = opened else { throw ArborError.missingObject(name: name) }
            let buf = UnsafeMutableRawBufferPointer.allocate(byteCount: 256 * 1024, alignment: 64)
            defer { buf.deallocate() }
            if mode == .archive {
                let inflater = try RawInflater(object: name)
                while true {
                    let n = try fd.read(into: buf)
                    if n == 0 { break }
                    try inflater.feed(UnsafeRawBufferPointer(rebasing: buf[0..<n]), sink: feed)
                }
                if !inflater.finished { throw ArborError.corruptObject(name: name, reason: "truncated compressed data") }
            } else {
                while true {
                    let n = try fd.read(into: buf)
                    if n == 0 { break }
                    try feed(UnsafeRawBufferPointer(rebasing: buf[0..<n]))
                }
            }
            if total != info.size { throw ArborError.corruptObject(name: name, reason: "content shorter than its header says") }
        }
        if let h = hasher, h.finalize() != checksum {
            throw ArborError.corruptObject(name: name, reason: "checksum mismatch")
        }
        return info
    }
}

/// Reads until `buffer` is full or end of file; returns the bytes read.
func readFully(_ fd: FileDescriptor, into buffer: UnsafeMutableRawBufferPointer) throws -> Int {
    var off = 0
    while off < buffer.count {
        let n = try fd.read(into: UnsafeMutableRawBufferPointer(rebasing: buffer[off...]))
        if n == 0 { break }
        off += n
    }
    return off
}

/// Decodes and verifies an archive-mode `.filez` held in memory: rebuilds the canonical header,
/// inflates the payload (to `sink` when given) and returns the metadata, size and checksum.
public func decodeArchiveObject(_ bytes: [UInt8], name: String,
                                sink: ((UnsafeRawBufferPointer) throws -> Void)? = nil) throws -> (FileMeta, UInt64, Checksum) {
    let (meta, size, offset) = try FileMeta.parseArchiveHeader(bytes, object: name)
    let sum = try inflatePayload(meta, size: size, name: name, sink: sink) { feed in
        try bytes.withUnsafeBytes { raw in try feed(UnsafeRawBufferPointer(rebasing: raw[offset...])) }
    }
    return (meta, size, sum)
}

/// Inflates the payload of a `.filez` whose header gave `meta` and `size`, the compressed bytes
/// coming in chunks from `compressed`; checks its length, streams it to `sink` and returns the
/// object's checksum. A symlink object must have no payload.
private func inflatePayload(_ meta: FileMeta, size: UInt64, name: String, sink: ((UnsafeRawBufferPointer) throws -> Void)?,
                            compressed: ((UnsafeRawBufferPointer) throws -> Void) throws -> Void) throws -> Checksum {
    let hasher = SHA256Hasher()
    hasher.update(meta.canonicalHeader())
    if meta.isRegular {
        let inflater = try RawInflater(object: name)
        var total: UInt64 = 0
        try compressed { input in
            try inflater.feed(input) { chunk in
                total += UInt64(chunk.count)
                if total > size { throw ArborError.corruptObject(name: name, reason: "content longer than its header says") }
                hasher.update(chunk)
                try sink?(chunk)
            }
        }
        if !inflater.finished { throw ArborError.corruptObject(name: name, reason: "truncated compressed data") }
        if total != size { throw ArborError.corruptObject(name: name, reason: "content shorter than its header says") }
    } else {
        var payload = 0
        try compressed { payload += $0.count }
        if payload != 0 { throw ArborError.corruptObject(name: name, reason: "symlink object with a payload") }
    }
    return hasher.finalize()
}

/// Decodes and verifies a `.filez` read from `fd` (positioned at its start), streaming the
/// inflated content to `sink`: for objects too large to hold in memory.
public func decodeArchiveObject(fd: FileDescriptor, name: String,
                                sink: ((UnsafeRawBufferPointer) throws -> Void)? = nil) throws -> (FileMeta, UInt64, Checksum) {
    let (meta, size, _) = try readArchiveObjectHeader(fd: fd, name: name)
    let buf = UnsafeMutableRawBufferPointer.allocate(byteCount: 256 * 1024, alignment: 64)
    defer { buf.deallocate() }
    let sum = try inflatePayload(meta, size: size, name: name, sink: sink) { feed in
        while true {
            let n = try fd.read(into: buf)
            if n == 0 { return }
            try feed(UnsafeRawBufferPointer(rebasing: buf[0..<n]))
        }
    }
    return (meta, size, sum)
}

/// Decodes and verifies a `.filez` held in memory, inflating its content at once (libdeflate):
/// for content small enough to hold, which is then staged without a second pass.
/// Returns nil, having checked only the header, when the content is larger than `limit` bytes.
public func inflateArchiveObject(_ bytes: [UInt8], name: String, limit: Int) throws -> (meta: FileMeta, content: [UInt8], checksum: Checksum)? {
    let (meta, size, offset) = try FileMeta.parseArchiveHeader(bytes, object: name)
    if meta.isRegular && size > UInt64(limit) { return nil }
    let hasher = SHA256Hasher()
    hasher.update(meta.canonicalHeader())
    guard meta.isRegular else {
        if offset != bytes.count { throw ArborError.corruptObject(name: name, reason: "symlink object with a payload") }
        return (meta, [], hasher.finalize())
    }
    // Deflate expands at most about 1032:1: a larger claim is a lie, not worth allocating for.
    guard size <= UInt64(bytes.count - offset) * 1040 + 64 else {
        throw ArborError.corruptObject(name: name, reason: "content longer than its compressed data can hold")
    }
    let content = try [UInt8](unsafeUninitializedCapacity: Int(size)) { out, count in
        try bytes.withUnsafeBytes { raw in
            try FastInflater.shared.inflate(UnsafeRawBufferPointer(rebasing: raw[offset...]), into: UnsafeMutableRawBufferPointer(out), object: name)
        }
        count = Int(size)
    }
    content.withUnsafeBytes { hasher.update($0) }
    return (meta, content, hasher.finalize())
}
