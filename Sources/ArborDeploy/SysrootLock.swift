// The sysroot lock (spec §9): an exclusive lock on `ostree/lock`, taken as `ostree` takes it
// (libglnx lock files: an open-file-description lock, falling back to flock; the holder unlinks
// the file on release, so a locker re-checks that the file it locked is still linked).
#if canImport(Glibc)
import Glibc
#endif
import ArborCore
import CArborSystem

/// A held sysroot lock; released by `release()` or when deallocated.
public final class SysrootLock {
    private let fd: FileDescriptor
    private let dir: FileDescriptor
    private var held = true

    private init(fd: FileDescriptor, dir: FileDescriptor) {
        self.fd = fd
        self.dir = dir
    }

    /// Takes the lock on `ostreeDir/lock`, waiting up to `timeout` seconds; `waiting` is called once if it must wait.
    static func acquire(ostreeDir: FileDescriptor, timeout: Double, waiting: () -> Void) throws -> SysrootLock {
        let deadline = monotonicSeconds() + timeout
        var told = false
        while true {
            let fd = try ostreeDir.openat("lock", O_RDWR | O_CREAT | O_NOFOLLOW | O_NOCTTY, mode: 0o600)
            if arbor_lock_fd(fd.raw, 1, 0) == 0 {
                // Another holder may have unlinked the file between our open and our lock.
                if let st = try? fd.stat(), st.st_nlink > 0 { return SysrootLock(fd: fd, dir: ostreeDir) }
                continue
            }
            let err = Glibc.errno
            guard err == EAGAIN || err == EWOULDBLOCK || err == EACCES || err == EINTR else {
                throw ArborError.system(op: "lock", path: fd.path, errno: err)
            }
            if monotonicSeconds() >= deadline {
                throw ArborError.locked("sysroot is locked by another process (\(fd.path); waited \(Int(timeout)) s)")
            }
            if !told { waiting(); told = true }
            usleep(50_000)
        }
    }

    /// Releases the lock, removing the lock file as libglnx does.
    public func release() {
        guard held else { return }
        held = false
        try? dir.unlink("lock")
        _ = arbor_unlock_fd(fd.raw)
    }

    deinit { release() }
}

