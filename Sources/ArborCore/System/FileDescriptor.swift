// A thin owner of a file descriptor and the *at() calls Arbor makes through it.
// Paths are always resolved relative to a directory descriptor, never following a
// final symlink unless the caller asks for it.
#if canImport(Glibc)
import Glibc
#endif
import CArborSystem

/// An open file descriptor, closed when the last reference goes away.
public final class FileDescriptor: @unchecked Sendable {
    /// The raw descriptor.
    public let raw: Int32
    /// The path it was opened with, for error messages only.
    public let path: String

    /// Takes ownership of `raw`.
    public init(raw: Int32, path: String) {
        self.raw = raw
        self.path = path
    }

    deinit { _ = Glibc.close(raw) }

    /// The current working directory as a descriptor-less anchor.
    public static let cwd = FileDescriptor(borrowed: AT_FDCWD, path: ".")
    private var borrowed = false
    private init(borrowed raw: Int32, path: String) {
        self.raw = raw
        self.path = path
        self.borrowed = true
    }

    /// Opens `name` relative to this directory. `O_CLOEXEC` is always added.
    public func openat(_ name: String, _ flags: Int32, mode: mode_t = 0o644) throws -> FileDescriptor {
        let fd = Glibc.openat(raw, name, flags | O_CLOEXEC, mode)
        if fd < 0 { throw ArborError.errno("open", join(name)) }
        return FileDescriptor(raw: fd, path: join(name))
    }

    /// Opens a directory below this one without following symlinks.
    public func openDirectory(_ name: String) throws -> FileDescriptor {
        try openat(name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW)
    }

    /// Opens a file for reading without following a final symlink.
    public func openRead(_ name: String) throws -> FileDescriptor {
        try openat(name, O_RDONLY | O_NOFOLLOW)
    }

    /// Like `openat`, but returns nil when the entry does not exist.
    public func openIfExists(_ name: String, _ flags: Int32) throws -> FileDescriptor? {
        let fd = Glibc.openat(raw, name, flags | O_CLOEXEC, 0)
        if fd < 0 {
            if Glibc.errno == ENOENT { return nil }
            throw ArborError.errno("open", join(name))
        }
        return FileDescriptor(raw: fd, path: join(name))
    }

    /// `fstatat` without following a final symlink; nil when the entry does not exist.
    public func statIfExists(_ name: String) throws -> Glibc.stat? {
        var st = Glibc.stat()
        if fstatat(raw, name, &st, AT_SYMLINK_NOFOLLOW) != 0 {
            if Glibc.errno == ENOENT { return nil }
            throw ArborError.errno("stat", join(name))
        }
        return st
    }

    /// `fstatat` without following a final symlink.
    public func stat(_ name: String) throws -> Glibc.stat {
        var st = Glibc.stat()
        if fstatat(raw, name, &st, AT_SYMLINK_NOFOLLOW) != 0 { throw ArborError.errno("stat", join(name)) }
        return st
    }

    /// `fstat` of this descriptor.
    public func stat() throws -> Glibc.stat {
        var st = Glibc.stat()
        if fstat(raw, &st) != 0 { throw ArborError.errno("stat", path) }
        return st
    }

    /// Whether an entry exists (without following a final symlink).
    public func exists(_ name: String) -> Bool {
        var st = Glibc.stat()
        return fstatat(raw, name, &st, AT_SYMLINK_NOFOLLOW) == 0
    }

    /// Creates a directory; returns false when it already exists.
    @discardableResult
    public func mkdir(_ name: String, mode: mode_t = 0o755) throws -> Bool {
        if mkdirat(raw, name, mode) != 0 {
            if Glibc.errno == EEXIST { return false }
            throw ArborError.errno("mkdir", join(name))
        }
        return true
    }

    /// Creates every missing directory along `relative` (a `/`-separated path), without following symlinks.
    public func mkdirs(_ relative: String, mode: mode_t = 0o755) throws -> FileDescriptor {
        var dir = self
        for comp in relative.split(separator: "/") where !comp.isEmpty && comp != "." {
            let c = String(comp)
            try dir.mkdir(c, mode: mode)
            dir = try dir.openDirectory(c)
        }
        return dir === self ? try openDirectory(".") : dir
    }

    /// Reads a symlink's target.
    public func readlink(_ name: String) throws -> String {
        var buf = [UInt8](repeating: 0, count: 4096)
        while true {
            let n = readlinkat(raw, name, &buf, buf.count)
            if n < 0 { throw ArborError.errno("readlink", join(name)) }
            if n < buf.count { return String(decoding: buf[0..<n], as: UTF8.self) }
            buf = [UInt8](repeating: 0, count: buf.count * 2)
        }
    }

    /// Reads a symlink's target as raw bytes.
    public func readlinkBytes(_ name: String) throws -> [UInt8] {
        var buf = [UInt8](repeating: 0, count: 4096)
        while true {
            let n = readlinkat(raw, name, &buf, buf.count)
            if n < 0 { throw ArborError.errno("readlink", join(name)) }
            if n < buf.count { return Array(buf[0..<n]) }
            buf = [UInt8](repeating: 0, count: buf.count * 2)
        }
    }

    /// Creates a symlink `name` pointing at `target`.
    public func symlink(_ target: String, _ name: String) throws {
        if symlinkat(target, raw, name) != 0 { throw ArborError.errno("symlink", join(name)) }
    }

    /// Removes a file or symlink; ENOENT is ignored when `missingOK`.
    public func unlink(_ name: String, missingOK: Bool = true) throws {
        if unlinkat(raw, name, 0) != 0 {
            if missingOK && Glibc.errno == ENOENT { return }
            throw ArborError.errno("unlink", join(name))
        }
    }

    /// Removes an empty directory.
    public func rmdir(_ name: String) throws {
        if unlinkat(raw, name, AT_REMOVEDIR) != 0 { throw ArborError.errno("rmdir", join(name)) }
    }

    /// Renames within or across directories (same filesystem).
    public func rename(_ name: String, to dir: FileDescriptor, _ newName: String) throws {
        if renameat(raw, name, dir.raw, newName) != 0 { throw ArborError.errno("rename", join(name)) }
    }

    /// Renames without replacing; returns false when the destination exists.
    public func renameNoReplace(_ name: String, to dir: FileDescriptor, _ newName: String) throws -> Bool {
        if arbor_renameat2(raw, name, dir.raw, newName, 1) != 0 {
            if Glibc.errno == EEXIST { return false }
            if Glibc.errno == EINVAL || Glibc.errno == ENOSYS {
                // Filesystems without RENAME_NOREPLACE: link then unlink is equally atomic.
                if linkat(raw, name, dir.raw, newName, 0) != 0 {
                    if Glibc.errno == EEXIST { try? unlink(name); return false }
                    throw ArborError.errno("link", join(name))
                }
                try unlink(name)
                return true
            }
            throw ArborError.errno("rename", join(name))
        }
        return true
    }

    /// Creates a hardlink `newName` in `dir` to `name` in this directory.
    public func link(_ name: String, to dir: FileDescriptor, _ newName: String) throws {
        if linkat(raw, name, dir.raw, newName, 0) != 0 { throw ArborError.errno("link", dir.join(newName)) }
    }

    /// Lists a directory's entry names (without `.` and `..`).
    public func entries() throws -> [String] {
        var names: [String] = []
        try forEachEntryName { bytes in
            guard let name = String(validating: bytes, as: UTF8.self) else {
                throw ArborError.unsupported("\(path): an entry's name is not valid UTF-8")
            }
            names.append(name)
        }
        return names
    }

    /// Calls `body` with each entry's name as bytes (without `.`, `..` and the NUL), in
    /// directory order, without making Strings: for listings read in bulk.
    func forEachEntryName(_ body: (UnsafeBufferPointer<UInt8>) throws -> Void) throws {
        let dupfd = Glibc.openat(raw, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        if dupfd < 0 { throw ArborError.errno("open", path) }
        guard let dir = fdopendir(dupfd) else {
            _ = Glibc.close(dupfd)
            throw ArborError.errno("opendir", path)
        }
        defer { closedir(dir) }
        while true {
            Glibc.errno = 0
            guard let ent = readdir(dir) else {
                if Glibc.errno != 0 { throw ArborError.errno("readdir", path) }
                return
            }
            try withUnsafeBytes(of: ent.pointee.d_name) { raw in
                let all = raw.bindMemory(to: UInt8.self)
                let name = UnsafeBufferPointer(rebasing: all[0..<(all.firstIndex(of: 0) ?? all.count)])
                if (name.count == 1 || name.count == 2) && name.allSatisfy({ $0 == UInt8(ascii: ".") }) { return }
                try body(name)
            }
        }
    }

    /// Writes all of `bytes`.
    public func writeAll(_ bytes: UnsafeRawBufferPointer) throws {
        var off = 0
        while off < bytes.count {
            let n = Glibc.write(raw, bytes.baseAddress! + off, bytes.count - off)
            if n < 0 {
                if Glibc.errno == EINTR { continue }
                throw ArborError.errno("write", path)
            }
            off += n
        }
    }

    /// Writes all of `bytes`.
    public func writeAll(_ bytes: [UInt8]) throws {
        try bytes.withUnsafeBytes { try writeAll($0) }
    }

    /// Reads up to `buffer.count` bytes; 0 at end of file.
    public func read(into buffer: UnsafeMutableRawBufferPointer) throws -> Int {
        while true {
            let n = Glibc.read(raw, buffer.baseAddress, buffer.count)
            if n < 0 {
                if Glibc.errno == EINTR { continue }
                throw ArborError.errno("read", path)
            }
            return n
        }
    }

    /// Reads the whole file, refusing files larger than `limit` bytes.
    public func readAll(limit: Int = 256 << 20) throws -> [UInt8] {
        var out: [UInt8] = []
        let st = try stat()
        if Int(st.st_size) > limit { throw ArborError.invalidArgument("\(path): file too large (\(st.st_size) bytes)") }
        out.reserveCapacity(Int(st.st_size))
        var chunk = [UInt8](repeating: 0, count: 65536)
        while true {
            let n = try chunk.withUnsafeMutableBytes { try read(into: $0) }
            if n == 0 { break }
            out.append(contentsOf: chunk[0..<n])
            if out.count > limit { throw ArborError.invalidArgument("\(path): file too large") }
        }
        return out
    }

    /// Flushes the file's data and metadata to disk.
    public func fsync() throws {
        if Glibc.fsync(raw) != 0 { throw ArborError.errno("fsync", path) }
    }

    /// Flushes the whole filesystem holding this descriptor.
    public func syncfs() throws {
        if arbor_syncfs(raw) != 0 { throw ArborError.errno("syncfs", path) }
    }

    /// `path` joined with a child name, for messages.
    public func join(_ name: String) -> String {
        if name.hasPrefix("/") { return name }
        if path == "." || path.isEmpty { return name }
        return path.hasSuffix("/") ? path + name : path + "/" + name
    }
}

/// Opens a directory by path (following symlinks in the path the user typed, as every tool does).
public func openDirectory(path: String) throws -> FileDescriptor {
    let fd = Glibc.open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
    if fd < 0 { throw ArborError.errno("open", path) }
    return FileDescriptor(raw: fd, path: path)
}
