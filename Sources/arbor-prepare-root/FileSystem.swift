// Thin, throwing wrappers over the system calls arbor-prepare-root makes, so that each failure
// becomes one PrepareRootError naming the step and the path. Paths here are plain strings: fixed
// names joined to the canonical sysroot and the resolved deployment. Paths walked component by
// component, or read from links, are bytes (BytePath, PathWalk).
#if canImport(Glibc)
import Glibc
#endif

/// File-system and mount system calls.
enum FileSystem {
    /// lstat(2), nil (with errno set) when it fails.
    static func lstatIfPresent(_ path: String) -> stat? {
        var info = stat()
        return lstat(path, &info) == 0 ? info : nil
    }

    /// stat(2), nil (with errno set) when it fails.
    static func statIfPresent(_ path: String) -> stat? {
        var info = stat()
        return stat(path, &info) == 0 ? info : nil
    }

    /// Whether a mode is a symbolic link's.
    static func isSymlink(_ info: stat) -> Bool { (info.st_mode & S_IFMT) == S_IFLNK }

    /// Whether a mode is a directory's.
    static func isDirectory(_ info: stat) -> Bool { (info.st_mode & S_IFMT) == S_IFDIR }

    /// Whether `path` is a real directory (not a symbolic link to one).
    static func isRealDirectory(_ path: String) -> Bool {
        guard let info = lstatIfPresent(path) else { return false }
        return isDirectory(info)
    }

    /// Whether `path` is the root of a mount: its device differs from its parent's, or it is
    /// `/`. Bind mounts within one file system are not seen; this is only asked of /dev, /proc,
    /// /sys and /run, which never are.
    static func isMountPoint(_ path: String) -> Bool {
        guard let info = statIfPresent(path), isDirectory(info), let parent = statIfPresent(path + "/..") else { return false }
        return info.st_dev != parent.st_dev || info.st_ino == parent.st_ino
    }

    /// realpath(3) of an existing directory, which must be valid UTF-8 (it is used as text from
    /// here on, and a String would silently replace other bytes).
    static func canonicalDirectory(_ path: String) throws -> String {
        guard let resolved = realpath(path, nil) else {
            throw PrepareRootError.sysrootUnusable(path: path, reason: PrepareRootError.describe(errno))
        }
        defer { free(resolved) }
        let bytes = Array(UnsafeRawBufferPointer(start: resolved, count: strlen(resolved)))
        guard let text = BytePath.text(bytes) else {
            throw PrepareRootError.sysrootUnusable(path: Shown.bytes(bytes), reason: "its canonical path is not valid UTF-8")
        }
        guard let info = statIfPresent(text), isDirectory(info) else {
            throw PrepareRootError.sysrootUnusable(path: path, reason: PrepareRootError.describe(ENOTDIR))
        }
        return text
    }

    /// Reads a whole regular file of at most `limit` bytes; nil when it does not exist. The
    /// type is checked before the open (stat, or lstat with `followLinks` false), so a FIFO, a
    /// device or a socket is never opened, and again on the open descriptor (fstat), which is
    /// opened O_NONBLOCK (and O_NOFOLLOW without `followLinks`) so that nothing can block it.
    /// `what` names the file in errors ("the kernel command line", "the configuration").
    static func readRegularFile(_ path: String, what: String, limit: Int, followLinks: Bool) throws -> [UInt8]? {
        var info = stat()
        let found = followLinks ? stat(path, &info) : lstat(path, &info)
        guard found == 0 else {
            if errno == ENOENT { return nil }
            throw PrepareRootError.unreadable(what: what, path: path, errno: errno)
        }
        guard isRegular(info) else { throw PrepareRootError.notRegularFile(what: what, path: path) }
        let fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK | (followLinks ? 0 : O_NOFOLLOW))
        guard fd >= 0 else { throw PrepareRootError.unreadable(what: what, path: path, errno: errno) }
        defer { close(fd) }
        guard fstat(fd, &info) == 0 else { throw PrepareRootError.unreadable(what: what, path: path, errno: errno) }
        guard isRegular(info) else { throw PrepareRootError.notRegularFile(what: what, path: path) }
        var data: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 65536)
        while true {
            let n = chunk.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
            if n < 0 && errno == EINTR { continue }
            guard n >= 0 else { throw PrepareRootError.unreadable(what: what, path: path, errno: errno) }
            if n == 0 { break }
            guard data.count + n <= limit else { throw PrepareRootError.tooLarge(what: what, path: path, limit: limit) }
            data.append(contentsOf: chunk[0..<n])
        }
        return data
    }

    /// Whether a mode is a regular file's.
    static func isRegular(_ info: stat) -> Bool { (info.st_mode & S_IFMT) == S_IFREG }

    /// mount(2) with optional source, type and data, as the step named `what`.
    static func mount(_ source: String?, _ target: String, type: String? = nil, flags: UInt, data: String? = nil, what: String) throws {
        let result = withOptionalCString(source) { src in
            withOptionalCString(type) { fstype in
                withOptionalCString(data) { options in
                    Glibc.mount(src, target, fstype, flags | UInt(MS_SILENT), options.map { UnsafeRawPointer($0) })
                }
            }
        }
        guard result == 0 else { throw PrepareRootError.systemCall(what: what, path: target, errno: errno) }
    }

    /// umount2(2) with MNT_DETACH; failures are ignored (used only to undo).
    static func detach(_ target: String) {
        _ = umount2(target, Int32(MNT_DETACH))
    }

    /// chdir(2).
    static func changeDirectory(_ path: String) throws {
        guard chdir(path) == 0 else { throw PrepareRootError.systemCall(what: "cannot change directory to", path: path, errno: errno) }
    }

    /// mkdir(2), succeeding when a directory is there already; returns whether it created one.
    @discardableResult
    static func makeDirectory(_ path: String, mode: mode_t) throws -> Bool {
        if mkdir(path, mode) == 0 { return true }
        let code = errno
        if code == EEXIST, isRealDirectory(path) { return false }
        throw PrepareRootError.systemCall(what: "cannot create directory", path: path, errno: code)
    }

    /// Creates an empty file if missing (the readonly stamp), with `mode`.
    static func touch(_ path: String, mode: mode_t) throws {
        let fd = open(path, O_WRONLY | O_CREAT | O_CLOEXEC | O_NOCTTY | O_NOFOLLOW, mode)
        guard fd >= 0 else { throw PrepareRootError.systemCall(what: "cannot create", path: path, errno: errno) }
        close(fd)
    }

    /// Writes `bytes` to `path` atomically: a temporary file beside it, then rename(2).
    static func writeAtomically(_ path: String, _ bytes: [UInt8], mode: mode_t) throws {
        let temporary = path + ".arbor-tmp"
        _ = unlink(temporary)
        let fd = open(temporary, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOCTTY | O_NOFOLLOW, mode)
        guard fd >= 0 else { throw PrepareRootError.systemCall(what: "cannot create", path: temporary, errno: errno) }
        var failure: Int32 = 0
        var offset = 0
        while offset < bytes.count {
            let n = bytes.withUnsafeBytes { buffer -> Int in
                guard let base = buffer.baseAddress else { return 0 }
                return Glibc.write(fd, base + offset, buffer.count - offset)
            }
            if n < 0 && errno == EINTR { continue }
            guard n > 0 else { failure = n < 0 ? errno : EIO; break }
            offset += n
        }
        // The umask must not narrow the mode ostree uses.
        if failure == 0 && fchmod(fd, mode) != 0 { failure = errno }
        if close(fd) != 0 && failure == 0 { failure = errno }
        if failure == 0 && rename(temporary, path) != 0 { failure = errno }
        if failure != 0 {
            _ = unlink(temporary)
            throw PrepareRootError.systemCall(what: "cannot write", path: path, errno: failure)
        }
    }

    /// Whether the file system holding `path` is mounted read-only (statvfs ST_RDONLY).
    static func isOnReadOnlyFileSystem(_ path: String) throws -> Bool {
        var info = statvfs()
        guard statvfs(path, &info) == 0 else { throw PrepareRootError.systemCall(what: "statvfs", path: path, errno: errno) }
        return (info.f_flag & UInt(ST_RDONLY)) != 0
    }
}

/// Calls `body` with a C string for `text`, or nil.
func withOptionalCString<R>(_ text: String?, _ body: (UnsafePointer<CChar>?) -> R) -> R {
    guard let text = text else { return body(nil) }
    return text.withCString { body($0) }
}
