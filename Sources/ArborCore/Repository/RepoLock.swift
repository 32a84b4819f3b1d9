// The repository lock (spec §4): an open-file-description lock on `.lock`, shared for readers
// and for writers of new objects, exclusive for destructive work (prune). `ostree` takes the same
// kind of lock on the same file, so the two exclude each other.
#if canImport(Glibc)
import Glibc
#endif
import CArborSystem

/// The kind of repository lock.
public enum LockKind: Sendable {
    /// Readers and writers of new objects.
    case shared
    /// Destructive operations: prune, object deletion.
    case exclusive
}

/// A held repository lock; released by `release()` or when deallocated.
public final class RepoLock {
    private let fd: FileDescriptor
    private var held = true

    init(fd: FileDescriptor) { self.fd = fd }

    /// Takes a lock on `dir/.lock`, polling until `timeout` seconds pass.
    static func acquire(dir: FileDescriptor, kind: LockKind, timeout: Double) throws -> RepoLock? {
        let fd: FileDescriptor
        do { fd = try dir.openat(".lock", O_RDWR | O_CREAT | O_NOFOLLOW, mode: 0o640) } catch let e as ArborError {
            // A read-only repository cannot be written by anyone: readers need no lock there.
            if kind == .shared, case let .system(_, _, err) = e, err == EROFS || err == EACCES { return nil }
            throw e
        }
        let deadline = monotonicSeconds() + timeout
        while true {
            if arbor_lock_fd(fd.raw, kind == .exclusive ? 1 : 0, 0) == 0 { return RepoLock(fd: fd) }
            let err = Glibc.errno
            guard err == EAGAIN || err == EWOULDBLOCK || err == EACCES || err == EINTR else {
                throw ArborError.system(op: "lock", path: fd.path, errno: err)
            }
            if monotonicSeconds() >= deadline {
                throw ArborError.locked("repository \(dir.path) is locked by another process (waited \(Int(timeout)) s)")
            }
            usleep(50_000)
        }
    }

    /// Releases the lock early.
    public func release() {
        if held { _ = arbor_unlock_fd(fd.raw); held = false }
    }

    deinit { release() }
}

/// Seconds on the monotonic clock (for timeouts and durations; not wall time).
public func monotonicSeconds() -> Double {
    var ts = timespec()
    clock_gettime(CLOCK_MONOTONIC, &ts)
    return Double(ts.tv_sec) + Double(ts.tv_nsec) / 1e9
}
