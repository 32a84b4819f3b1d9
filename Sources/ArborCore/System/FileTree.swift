// Recursive removal and small whole-file helpers, all relative to directory descriptors.
#if canImport(Glibc)
import Glibc
#endif

/// Removes `name` in `dir` and everything below it, never following symlinks.
public func removeTree(_ dir: FileDescriptor, _ name: String) throws {
    guard let st = try dir.statIfExists(name) else { return }
    if st.st_mode & S_IFMT == S_IFDIR {
        let sub: FileDescriptor
        do { sub = try dir.openDirectory(name) } catch {
            // A directory without read permission: make it readable for removal.
            _ = fchmodat(dir.raw, name, 0o700, 0)
            sub = try dir.openDirectory(name)
        }
        _ = fchmod(sub.raw, 0o700)
        for e in try sub.entries() { try removeTree(sub, e) }
        try dir.rmdir(name)
    } else {
        try dir.unlink(name)
    }
}

/// Writes `bytes` to `name` in `dir` atomically: a temporary file, fsync, rename, fsync of the directory.
/// The temporary file is made in `staging` (same filesystem) when given, else beside `name`: a
/// process killed in between leaves it there, where readers of `dir` (refs) must never see it.
public func writeFileAtomically(_ dir: FileDescriptor, _ name: String, _ bytes: [UInt8], mode: mode_t = 0o644, sync: Bool = true,
                                staging: FileDescriptor? = nil) throws {
    let tmpDir = staging ?? dir
    let leaf = name.split(separator: "/").last.map(String.init) ?? name
    let tmp = ".tmp-\(leaf)-\(randomSuffix())"
    let fd = try tmpDir.openat(tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW, mode: mode)
    do {
        try fd.writeAll(bytes)
        if fchmod(fd.raw, mode) != 0 { throw ArborError.errno("chmod", fd.path) }
        if sync { try fd.fsync() }
        try tmpDir.rename(tmp, to: dir, name)
    } catch {
        try? tmpDir.unlink(tmp)
        throw error
    }
    if sync { try dir.fsync() }
}

/// Six random alphanumeric characters, for temporary names.
public func randomSuffix(_ n: Int = 6) -> String {
    let chars = Array("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789")
    var g = SystemRandomNumberGenerator()
    return String((0..<n).map { _ in chars[Int(g.next() % UInt64(chars.count))] })
}

/// The kernel's boot id (staging directories are named after it, as OSTree's are).
func bootID() -> String {
    guard let fd = try? openDirectory(path: "/proc/sys/kernel/random"),
          let f = try? fd.openRead("boot_id"), let bytes = try? f.readAll(limit: 4096) else { return "noboot" }
    return String(decoding: bytes, as: UTF8.self).trimmingSpaces.replacingNewlines()
}

extension String {
    func replacingNewlines() -> String { String(self.map { $0 == "\n" ? "-" : $0 }) }
}
