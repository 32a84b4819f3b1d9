// Copies (never hardlinks) of files, symlinks and directories between directory descriptors,
// keeping mode and ownership. Used for /etc, whose files an administrator edits in place: a
// hardlink would let an edit change a repository object.
#if canImport(Glibc)
import Glibc
#endif
import ArborCore
import CArborSystem

enum FileCopy {
    /// Copies `name` in `from` to `newName` in `to` (which must not exist), recursively for directories.
    static func copy(from: FileDescriptor, _ name: String, to: FileDescriptor, _ newName: String) throws {
        let st = try from.stat(name)
        switch fileType(st) {
        case S_IFDIR:
            try to.mkdir(newName, mode: 0o700)
            let src = try from.openDirectory(name), dst = try to.openDirectory(newName)
            for e in try src.entries().sorted() { try copy(from: src, e, to: dst, e) }
            try applyMetadata(st, to: dst)
        case S_IFREG:
            let src = try from.openRead(name)
            let dst = try to.openat(newName, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW, mode: 0o600)
            try copyBytes(src, dst, size: Int(st.st_size))
            try applyMetadata(st, to: dst)
        case S_IFLNK:
            try to.symlink(try from.readlink(name), newName)
            if fchownat(to.raw, newName, st.st_uid, st.st_gid, AT_SYMLINK_NOFOLLOW) != 0 { throw ArborError.errno("chown", to.join(newName)) }
        default:
            throw ArborError.unsupported("\(from.join(name)): cannot copy a special file")
        }
    }

    /// Sets owner and permission bits from `st` on an open file or directory.
    static func applyMetadata(_ st: Glibc.stat, to fd: FileDescriptor) throws {
        if fchown(fd.raw, st.st_uid, st.st_gid) != 0 { throw ArborError.errno("chown", fd.path) }
        if fchmod(fd.raw, st.st_mode & 0o7777) != 0 { throw ArborError.errno("chmod", fd.path) }
    }

    /// Copies the whole content, in the kernel where possible.
    private static func copyBytes(_ src: FileDescriptor, _ dst: FileDescriptor, size: Int) throws {
        var left = size
        while left > 0 {
            let n = arbor_copy_file_range(src.raw, dst.raw, left)
            if n > 0 { left -= n; continue }
            if n == 0 { break }
            if errno == EINTR { continue }
            break  // unsupported here: fall back to read/write from the current offsets
        }
        var buf = [UInt8](repeating: 0, count: 65536)
        while true {
            let n = try buf.withUnsafeMutableBytes { try src.read(into: $0) }
            if n == 0 { break }
            try buf.withUnsafeBytes { try dst.writeAll(UnsafeRawBufferPointer(rebasing: $0[0..<n])) }
        }
    }

    /// Whether two entries differ in type, owner, mode, content (files) or target (symlinks).
    static func differ(_ a: FileDescriptor, _ an: String, _ sa: Glibc.stat, _ b: FileDescriptor, _ bn: String, _ sb: Glibc.stat) throws -> Bool {
        if fileType(sa) != fileType(sb) || sa.st_uid != sb.st_uid || sa.st_gid != sb.st_gid { return true }
        switch fileType(sa) {
        case S_IFLNK: return try a.readlinkBytes(an) != b.readlinkBytes(bn)
        case S_IFDIR: return sa.st_mode & 0o7777 != sb.st_mode & 0o7777
        case S_IFREG:
            if sa.st_mode & 0o7777 != sb.st_mode & 0o7777 || sa.st_size != sb.st_size { return true }
            if sa.st_dev == sb.st_dev && sa.st_ino == sb.st_ino { return false }
            let fa = try a.openRead(an), fb = try b.openRead(bn)
            var ba = [UInt8](repeating: 0, count: 65536), bb = [UInt8](repeating: 0, count: 65536)
            while true {
                let na = try ba.withUnsafeMutableBytes { try fa.read(into: $0) }
                var nb = 0
                while nb < na {
                    let r = try bb.withUnsafeMutableBytes { try fb.read(into: UnsafeMutableRawBufferPointer(rebasing: $0[nb..<na])) }
                    if r == 0 { break }
                    nb += r
                }
                if na != nb || ba[0..<na] != bb[0..<nb] { return true }
                if na == 0 { return false }
            }
        default:
            return sa.st_rdev != sb.st_rdev || sa.st_mode != sb.st_mode
        }
    }
}
