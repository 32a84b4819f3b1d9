// A thin owner of a libarchive write handle: pax tarballs (restricted pax: plain ustar headers
// unless a name, a size or xattrs need an extended header), optionally compressed, written to a
// descriptor. Only what is given is written: no atime, ctime, user or group names.
#if canImport(Glibc)
import Glibc
#endif
import CArchive

/// Writes tar entries one after another.
final class ArchiveWriter {
    /// What error messages call the output.
    let display: String
    private let handle: OpaquePointer
    private let entry: OpaquePointer

    /// Whether libarchive 3.6 writes an xattr name intact in a `SCHILY.xattr.` key: it
    /// URL-encodes these characters there too, and no reader decodes them.
    static func schilyKeepsName(_ name: [UInt8]) -> Bool {
        !name.contains { $0 < 33 || $0 > 126 || $0 == UInt8(ascii: "%") || $0 == UInt8(ascii: "=") }
    }

    /// Starts a tarball on `fd` with the given compression. xattrs go in `SCHILY.xattr.*` keys
    /// (GNU tar's), or, when `libarchiveXattrs` (some name would be mangled there), in
    /// `LIBARCHIVE.xattr.*` keys, which libarchive (so ostree and Arbor) reads back exactly.
    init(fd: FileDescriptor, compression: ExportCompression, display: String, libarchiveXattrs: Bool = false) throws {
        self.display = display
        if let why = arbor_archive_load() { throw ArborError.unsupported(String(cString: why)) }
        guard let a = archive_write_new() else { throw ArborError.unsupported("\(display): cannot allocate an archive writer") }
        handle = a
        guard let e = archive_entry_new() else {
            archive_write_free(a)
            throw ArborError.unsupported("\(display): cannot allocate an archive entry")
        }
        entry = e
        try check(archive_write_set_format_pax_restricted(a))
        // One kind of key only: readers that take both would see every attribute twice.
        try check(archive_write_set_format_option(a, "pax", "xattrheader", libarchiveXattrs ? "LIBARCHIVE" : "SCHILY"))
        // No padding beyond the last record, so a file and a pipe get the same bytes.
        try check(archive_write_set_bytes_in_last_block(a, 1))
        switch compression {
        case .none: break
        case .gzip:
            try check(archive_write_add_filter_gzip(a))
            // The gzip header would otherwise carry the current time: same commit, different bytes.
            try check(archive_write_set_filter_option(a, "gzip", "timestamp", nil))
        case .xz: try check(archive_write_add_filter_xz(a))
        case .zstd: try check(archive_write_add_filter_zstd(a))
        case .bzip2: try check(archive_write_add_filter_bzip2(a))
        }
        try check(archive_write_open_fd(a, fd.raw))
    }

    deinit {
        archive_entry_free(entry)
        archive_write_free(handle)
    }

    /// Writes one entry's header. `mode` is the full st_mode; `hardlink` names an earlier entry.
    func header(path: String, mode: UInt32, uid: UInt32, gid: UInt32, mtime: Int, size: UInt64 = 0,
                symlink: String? = nil, hardlink: String? = nil, xattrs: [Xattr] = []) throws {
        archive_entry_clear(entry)
        archive_entry_copy_pathname(entry, path)
        archive_entry_set_mode(entry, mode_t(mode))
        archive_entry_set_uid(entry, la_int64_t(uid))
        archive_entry_set_gid(entry, la_int64_t(gid))
        archive_entry_set_mtime(entry, time_t(mtime), 0)
        archive_entry_set_size(entry, la_int64_t(size))
        if let s = symlink { archive_entry_copy_symlink(entry, s) }
        if let h = hardlink {
            archive_entry_copy_hardlink(entry, h)
            archive_entry_set_size(entry, 0)
        }
        for x in xattrs {
            guard !x.name.contains(0) else { throw ArborError.unsupported("\(display): \(path): xattr name with a NUL byte") }
            let name = x.name.map { CChar(bitPattern: $0) } + [0]
            x.value.withUnsafeBytes { v in archive_entry_xattr_add_entry(entry, name, v.baseAddress, v.count) }
        }
        // ARCHIVE_WARN: a name the C locale cannot convert is written as raw bytes, which is right.
        let r = archive_write_header(handle, entry)
        if r < ARCHIVE_WARN { throw failure(path) }
    }

    /// Writes data of the current entry.
    func data(_ bytes: UnsafeRawBufferPointer, path: String) throws {
        guard let base = bytes.baseAddress, bytes.count > 0 else { return }
        var off = 0
        while off < bytes.count {
            let n = archive_write_data(handle, base + off, bytes.count - off)
            if n <= 0 { throw failure(path) }
            off += n
        }
    }

    /// Writes the end of the archive and flushes the compressor.
    func close() throws {
        try check(archive_write_close(handle))
    }

    private func check(_ r: Int32) throws {
        if r < ARCHIVE_WARN { throw failure(nil) }
    }

    private func failure(_ path: String?) -> ArborError {
        let message = archive_error_string(handle).map { String(cString: $0) } ?? "cannot write the archive"
        let oneLine = message.split(whereSeparator: { $0 == "\n" || $0 == "\r" }).joined(separator: " ")
        return ArborError.unsupported("\(display): \(path.map { $0 + ": " } ?? "")\(oneLine)")
    }
}
