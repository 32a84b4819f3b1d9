// Writing content objects in each storage mode (spec §5). A file is hashed first; only when
// the repository lacks the object is it copied (with copy_file_range) or compressed, so
// re-committing an unchanged tree reads each file once and writes nothing.
#if canImport(Glibc)
import Glibc
#endif
import CArborSystem

extension Transaction {
    /// Size of the read buffer a worker uses; files that fit are written from memory.
    static let chunkSize = 256 * 1024

    /// Hashes the regular file open at `fd` (described by `meta`) and stages it when missing.
    /// `buffer` is a worker-owned scratch buffer of at least `chunkSize` bytes.
    public func writeRegularFile(fd: FileDescriptor, meta: FileMeta, buffer: UnsafeMutableRawBufferPointer) throws -> Checksum {
        let before = try fd.stat()
        let hasher = SHA256Hasher()
        hasher.update(meta.canonicalHeader())
        var total = 0
        var wholeInBuffer = true
        while true {
            let room = wholeInBuffer ? buffer.count - total : buffer.count
            if room == 0 { wholeInBuffer = false; continue }
            let dest = wholeInBuffer ? UnsafeMutableRawBufferPointer(rebasing: buffer[total...]) : buffer
            let n = try fd.read(into: dest)
            if n == 0 { break }
            hasher.update(UnsafeRawBufferPointer(rebasing: dest[0..<n]))
            total += n
        }
        let checksum = hasher.finalize()
        let name = ObjectName(checksum, .file)
        guard claim(name) else { return checksum }
        do {
            if wholeInBuffer {
                try stage(name, meta: meta, size: UInt64(total), body: UnsafeRawBufferPointer(rebasing: buffer[0..<total]), source: nil)
            } else {
                if lseek(fd.raw, 0, SEEK_SET) != 0 { throw ArborError.errno("seek", fd.path) }
                try stage(name, meta: meta, size: UInt64(total), body: nil, source: fd, scratch: buffer)
            }
            let after = try fd.stat()
            if after.st_size != before.st_size || after.st_mtim.tv_sec != before.st_mtim.tv_sec
                || after.st_mtim.tv_nsec != before.st_mtim.tv_nsec || after.st_ctim.tv_nsec != before.st_ctim.tv_nsec
                || Int(after.st_size) != total {
                throw ArborError.changedWhileReading(fd.path)
            }
        } catch {
            discard(name)
            throw error
        }
        record(name, bytes: UInt64(total))
        return checksum
    }

    /// Stages a content object whose bytes are in memory (symlinks: empty).
    public func writeContent(meta: FileMeta, bytes: UnsafeRawBufferPointer) throws -> Checksum {
        let hasher = SHA256Hasher()
        hasher.update(meta.canonicalHeader())
        if meta.isRegular { hasher.update(bytes) }
        let checksum = hasher.finalize()
        let name = ObjectName(checksum, .file)
        guard claim(name) else { return checksum }
        do {
            try stage(name, meta: meta, size: meta.isRegular ? UInt64(bytes.count) : 0, body: bytes, source: nil)
        } catch {
            discard(name)
            throw error
        }
        record(name, bytes: UInt64(bytes.count))
        return checksum
    }

    /// Stages a regular file read from a stream (a tarball entry, a download): `read` fills the
    /// buffer it is given and returns the byte count, 0 at the end. Exactly `size` bytes must come.
    public func writeRegularFile(meta: FileMeta, size: UInt64,
                                 read: (UnsafeMutableRawBufferPointer) throws -> Int) throws -> Checksum {
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: Transaction.chunkSize, alignment: 64)
        defer { buffer.deallocate() }
        return try writeRegularFile(meta: meta, size: size) { sink in
            while true {
                let n = try read(buffer)
                if n == 0 { return }
                try sink(UnsafeRawBufferPointer(rebasing: buffer[0..<n]))
            }
        }
    }

    /// Stages a regular file whose bytes are pushed by `produce` (which calls its argument with
    /// each chunk, in order). Exactly `size` bytes must come. Returns the checksum. With
    /// `expected`, content that hashes to anything else is not staged (its checksum is returned):
    /// a download is verified and stored in one pass, and a damaged one lands nowhere.
    public func writeRegularFile(meta: FileMeta, size: UInt64, expected: Checksum? = nil,
                                 produce: ((UnsafeRawBufferPointer) throws -> Void) throws -> Void) throws -> Checksum {
        if size <= UInt64(Transaction.chunkSize) {
            var bytes: [UInt8] = []
            bytes.reserveCapacity(Int(size))
            try produce { chunk in
                if bytes.count + chunk.count > Int(size) { throw ArborError.unsupported("content longer than its declared \(size) bytes") }
                bytes.append(contentsOf: chunk)
            }
            guard bytes.count == Int(size) else { throw ArborError.unsupported("content ended after \(bytes.count) of \(size) bytes") }
            if let e = expected {
                let hasher = SHA256Hasher()
                hasher.update(meta.canonicalHeader())
                hasher.update(bytes)
                let sum = hasher.finalize()
                if sum != e { return sum }
            }
            return try bytes.withUnsafeBytes { try writeContent(meta: meta, bytes: $0) }
        }
        let scratchName = "scratch-\(randomSuffix(10))"
        let scratch = try staging.openat(scratchName, O_RDWR | O_CREAT | O_EXCL | O_NOFOLLOW, mode: 0o600)
        defer { try? staging.unlink(scratchName) }
        let hasher = SHA256Hasher()
        hasher.update(meta.canonicalHeader())
        var total: UInt64 = 0
        try produce { chunk in
            total += UInt64(chunk.count)
            if total > size { throw ArborError.unsupported("content longer than its declared \(size) bytes") }
            hasher.update(chunk)
            try scratch.writeAll(chunk)
        }
        guard total == size else { throw ArborError.unsupported("content ended after \(total) of \(size) bytes") }
        let checksum = hasher.finalize()
        if let e = expected, e != checksum { return checksum }
        let name = ObjectName(checksum, .file)
        guard claim(name) else { return checksum }
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: Transaction.chunkSize, alignment: 64)
        defer { buffer.deallocate() }
        do {
            if lseek(scratch.raw, 0, SEEK_SET) != 0 { throw ArborError.errno("seek", scratch.path) }
            try stage(name, meta: meta, size: size, body: nil, source: scratch, scratch: buffer)
        } catch {
            discard(name)
            throw error
        }
        record(name, bytes: size)
        return checksum
    }

    /// Stages an archive-mode `.filez` exactly as received, after the caller verified that it
    /// holds the object `checksum` (the repository must be in archive mode).
    public func writeVerifiedArchiveObject(_ checksum: Checksum, bytes: [UInt8]) throws {
        try stageVerifiedArchiveObject(checksum, size: UInt64(bytes.count)) { try $0.writeAll(bytes) }
    }

    /// Stages an archive-mode `.filez` from the start of `source` (`size` bytes), after the
    /// caller verified that it holds the object `checksum`: a large download kept in a file.
    public func writeVerifiedArchiveObject(_ checksum: Checksum, from source: FileDescriptor, size: UInt64) throws {
        try stageVerifiedArchiveObject(checksum, size: size) { fd in
            if lseek(source.raw, 0, SEEK_SET) != 0 { throw ArborError.errno("seek", source.path) }
            try copyData(from: source, to: fd, size: size, scratch: nil)
        }
    }

    /// Stages the `.filez` of `checksum`, whose `size` bytes `write` puts in the staged file.
    private func stageVerifiedArchiveObject(_ checksum: Checksum, size: UInt64, write: (FileDescriptor) throws -> Void) throws {
        precondition(repo.mode == .archive, "raw .filez objects only go into archive repositories")
        let name = ObjectName(checksum, .file)
        guard claim(name) else { return }
        do {
            let (d, n) = repo.looseName(checksum, .file)
            let fd = try stagingSubdir(d).openat(n, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW, mode: 0o644)
            try write(fd)
            if fchmod(fd.raw, 0o644) != 0 { throw ArborError.errno("chmod", fd.path) }
        } catch {
            discard(name)
            throw error
        }
        record(name, bytes: size)
    }

    /// Stages content the caller has already verified to hash to `checksum` (no second hash).
    public func writeVerifiedContent(_ checksum: Checksum, meta: FileMeta, bytes: UnsafeRawBufferPointer) throws {
        let name = ObjectName(checksum, .file)
        guard claim(name) else { return }
        do {
            try stage(name, meta: meta, size: meta.isRegular ? UInt64(bytes.count) : 0, body: bytes, source: nil)
        } catch {
            discard(name)
            throw error
        }
        record(name, bytes: UInt64(bytes.count))
    }

    /// Stages a symlink.
    public func writeSymlink(meta: FileMeta) throws -> Checksum {
        try writeContent(meta: meta, bytes: UnsafeRawBufferPointer(start: nil, count: 0))
    }

    private func discard(_ name: ObjectName) {
        let (d, n) = repo.looseName(name.checksum, name.type)
        if let sub = try? staging.openDirectory(d) { try? sub.unlink(n) }
        unclaim(name)
    }

    /// Writes one content object into staging in the repository's mode.
    private func stage(_ name: ObjectName, meta: FileMeta, size: UInt64, body: UnsafeRawBufferPointer?,
                       source: FileDescriptor?, scratch: UnsafeMutableRawBufferPointer? = nil) throws {
        let mode = repo.mode
        if mode == .bareUserOnly {
            // These objects keep no owner, xattrs or special bits: refuse what would lose them
            // (as `ostree`: "invalid mode ... with bits ...").
            let extra = meta.isSymlink ? 0 : meta.mode & 0o7777 & ~UInt32(0o755)
            if extra != 0 || meta.uid != 0 || meta.gid != 0 || !meta.xattrs.isEmpty {
                throw ArborError.unsupported("object \(name) cannot be stored in a bare-user-only repository: "
                    + (extra != 0 ? "mode \(String(meta.mode, radix: 8)) has bits \(String(extra, radix: 8))" :
                       !meta.xattrs.isEmpty ? "it has xattrs" : "it is owned by \(meta.uid):\(meta.gid)")
                    + " (commit with --canonical-permissions)")
            }
        }
        let (d, n) = repo.looseName(name.checksum, name.type)
        let sub = try stagingSubdir(d)
        if meta.isSymlink && (mode == .bare || mode == .bareUserOnly) {
            try? sub.unlink(n)
            try sub.symlink(meta.symlinkTarget, n)
            if mode == .bare {
                if fchownat(sub.raw, n, meta.uid, meta.gid, AT_SYMLINK_NOFOLLOW) != 0 { throw ArborError.errno("chown", sub.join(n)) }
                if !meta.xattrs.isEmpty { try XattrIO.write(dir: sub, name: n, meta.xattrs) }
            }
            var times = [timespec(tv_sec: 0, tv_nsec: 0), timespec(tv_sec: 0, tv_nsec: 0)]
            if utimensat(sub.raw, n, &times, AT_SYMLINK_NOFOLLOW) != 0 { throw ArborError.errno("utimensat", sub.join(n)) }
            return
        }
        let fd = try sub.openat(n, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW, mode: 0o600)
        switch mode {
        case .archive:
            try fd.writeAll(meta.archiveHeader(size: size))
            if meta.isRegular {
                let sink: (UnsafeRawBufferPointer) throws -> Void = { try fd.writeAll($0) }
                if let b = body {
                    try self.deflater.compress(b, sink: sink)
                } else if let src = source, size <= UInt64(FastDeflater.maxWholeBuffer) {
                    // One large file at a time is held whole (input and output): libdeflate on it
                    // alone is still faster than zlib on several, and peak memory stays low.
                    let large = size > UInt64(FastDeflater.smallBuffer)
                    if large { FastDeflater.largeSlot.wait() }
                    defer { if large { FastDeflater.largeSlot.signal() } }
                    let whole = UnsafeMutableRawBufferPointer.allocate(byteCount: Int(size), alignment: 16)
                    defer { whole.deallocate() }
                    guard try readFully(src, into: whole) == Int(size) else { throw ArborError.changedWhileReading(src.path) }
                    try self.deflater.compress(UnsafeRawBufferPointer(whole), sink: sink)
                } else if let src = source, let buf = scratch {
                    let deflater = try RawDeflater(level: compressionLevel)
                    var copied: UInt64 = 0
                    while true {
                        let k = try src.read(into: buf)
                        if k == 0 { break }
                        copied += UInt64(k)
                        try deflater.feed(UnsafeRawBufferPointer(rebasing: buf[0..<k]), finish: false, sink: sink)
                    }
                    try deflater.feed(UnsafeRawBufferPointer(start: nil, count: 0), finish: true, sink: sink)
                    if copied != size { throw ArborError.changedWhileReading(src.path) }
                }
            }
            if fchmod(fd.raw, 0o644) != 0 { throw ArborError.errno("chmod", fd.path) }
            return
        case .bareUser where meta.isSymlink:
            try fd.writeAll(Array(meta.symlinkTarget.utf8) + [0])
        default:
            if let b = body {
                try fd.writeAll(b)
            } else if let src = source {
                try copyData(from: src, to: fd, size: size, scratch: scratch)
            }
        }
        switch mode {
        case .bare:
            if fchown(fd.raw, meta.uid, meta.gid) != 0 { throw ArborError.errno("chown", fd.path) }
            if fchmod(fd.raw, mode_t(meta.mode & 0o7777)) != 0 { throw ArborError.errno("chmod", fd.path) }
            if !meta.xattrs.isEmpty { try XattrIO.write(fd: fd.raw, path: fd.path, meta.xattrs) }
        case .bareUser:
            let m: UInt32 = meta.isSymlink ? 0o644 : (meta.mode & 0o775) | 0o400
            if fchmod(fd.raw, mode_t(m)) != 0 { throw ArborError.errno("chmod", fd.path) }
            let ostreemeta = GVariant.tuple([.uint32(meta.uid.bigEndian), .uint32(meta.gid.bigEndian),
                                             .uint32(meta.mode.bigEndian), xattrsVariant(meta.xattrs)]).serialize()
            try XattrIO.write(fd: fd.raw, path: fd.path, [Xattr(name: Array("user.ostreemeta".utf8), value: ostreemeta)])
        case .bareUserOnly:
            if fchmod(fd.raw, mode_t(meta.mode & 0o755)) != 0 { throw ArborError.errno("chmod", fd.path) }
        case .archive:
            break
        }
        var times = [timespec(tv_sec: 0, tv_nsec: 0), timespec(tv_sec: 0, tv_nsec: 0)]
        if futimens(fd.raw, &times) != 0 { throw ArborError.errno("futimens", fd.path) }
    }
}

/// Copies `size` bytes from the current position of `src` to `dst`, in the kernel when possible.
func copyData(from src: FileDescriptor, to dst: FileDescriptor, size: UInt64, scratch: UnsafeMutableRawBufferPointer?) throws {
    var remaining = size
    var useKernel = true
    var owned: UnsafeMutableRawBufferPointer?
    defer { owned?.deallocate() }
    while remaining > 0 {
        if useKernel {
            let n = arbor_copy_file_range(src.raw, dst.raw, Int(min(remaining, 1 << 30)))
            if n > 0 { remaining -= UInt64(n); continue }
            if n == 0 { throw ArborError.changedWhileReading(src.path) }
            if errno == EXDEV || errno == ENOSYS || errno == EINVAL || errno == EOPNOTSUPP { useKernel = false; continue }
            throw ArborError.errno("copy_file_range", src.path)
        }
        let buf: UnsafeMutableRawBufferPointer
        if let s = scratch { buf = s } else {
            owned = owned ?? UnsafeMutableRawBufferPointer.allocate(byteCount: 256 * 1024, alignment: 16)
            buf = owned!
        }
        let k = try src.read(into: UnsafeMutableRawBufferPointer(rebasing: buf[0..<Int(min(UInt64(buf.count), remaining))]))
        if k == 0 { throw ArborError.changedWhileReading(src.path) }
        try dst.writeAll(UnsafeRawBufferPointer(rebasing: buf[0..<k]))
        remaining -= UInt64(k)
    }
}
