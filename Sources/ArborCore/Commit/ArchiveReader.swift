// A thin owner of a libarchive read handle fed from a file descriptor through our own read
// callback, so that the bytes libarchive consumes can be counted and hashed (OCI blobs are
// checked against their digest as they are read, not only beforehand).
#if canImport(Glibc)
import Glibc
#endif
import CArchive

/// Reads the entries of an archive stream (every format and compression libarchive knows).
final class ArchiveReader {
    /// What error messages call the stream: a file name, `standard input`, a blob digest.
    let display: String
    private let handle: OpaquePointer
    private let source: ArchiveSource

    /// Opens the stream on `fd`; with `hasher`, every byte read from `fd` is hashed.
    init(fd: FileDescriptor, display: String, hasher: SHA256Hasher? = nil) throws {
        self.display = display
        if let why = arbor_archive_load() { throw ArborError.unsupported(String(cString: why)) }
        guard let a = archive_read_new() else { throw ArborError.unsupported("\(display): cannot allocate an archive reader") }
        handle = a
        source = ArchiveSource(fd: fd, hasher: hasher)
        archive_read_support_filter_all(a)
        archive_read_support_format_all(a)
        let client = Unmanaged.passUnretained(source).toOpaque()
        let r = archive_read_open(a, client, nil, { _, client, out in
            guard let client = client, let out = out else { return -1 }
            let src = Unmanaged<ArchiveSource>.fromOpaque(client).takeUnretainedValue()
            return src.fill(out)
        }, nil)
        if r != ARCHIVE_OK { throw failure() }
    }

    deinit { archive_read_free(handle) }

    /// The next entry, or nil at the end of the archive. The entry is valid until the next call.
    func next() throws -> OpaquePointer? {
        var entry: OpaquePointer?
        let r = archive_read_next_header(handle, &entry)
        if r == ARCHIVE_EOF { return nil }
        // ARCHIVE_WARN: names that cannot be converted to the C locale are still read as raw bytes.
        if r < ARCHIVE_WARN { throw failure() }
        guard let e = entry else { throw failure() }
        return e
    }

    /// Reads the current entry's data; 0 at its end.
    func read(into buffer: UnsafeMutableRawBufferPointer) throws -> Int {
        let n = archive_read_data(handle, buffer.baseAddress, buffer.count)
        if n < 0 { throw failure() }
        return n
    }

    /// Reads what libarchive left unread of the stream (a compressor's trailer, padding), so
    /// that the hash and byte count cover the whole input; returns the total bytes read.
    func drain() throws -> UInt64 {
        try source.drain()
        return source.total
    }

    /// The read error, ours (from the descriptor) first, else libarchive's, on one line.
    private func failure() -> ArborError {
        if let e = source.error { return e }
        let message = archive_error_string(handle).map { String(cString: $0) } ?? "unreadable archive"
        let oneLine = message.split(whereSeparator: { $0 == "\n" || $0 == "\r" }).joined(separator: " ")
        return ArborError.unsupported("\(display): \(oneLine)")
    }
}

/// The descriptor side of an `ArchiveReader`: one reusable buffer, a byte count and a hasher.
private final class ArchiveSource {
    let fd: FileDescriptor
    let hasher: SHA256Hasher?
    var total: UInt64 = 0
    var error: ArborError?
    private let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: 256 * 1024, alignment: 64)

    init(fd: FileDescriptor, hasher: SHA256Hasher?) {
        self.fd = fd
        self.hasher = hasher
    }

    deinit { buffer.deallocate() }

    /// libarchive's read callback: points `out` at the next chunk; 0 at end, -1 on error.
    func fill(_ out: UnsafeMutablePointer<UnsafeRawPointer?>) -> Int {
        do {
            let n = try fd.read(into: buffer)
            if n > 0 { consume(n) }
            out.pointee = UnsafeRawPointer(buffer.baseAddress)
            return n
        } catch {
            self.error = error as? ArborError ?? ArborError.unsupported("\(fd.path): \(error)")
            return -1
        }
    }

    func drain() throws {
        while true {
            let n = try fd.read(into: buffer)
            if n == 0 { return }
            consume(n)
        }
    }

    private func consume(_ n: Int) {
        total += UInt64(n)
        hasher?.update(UnsafeRawBufferPointer(rebasing: buffer[0..<n]))
    }
}
