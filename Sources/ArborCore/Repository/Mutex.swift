// A small pthread mutex: the commit and checkout workers share a few counters and sets.
#if canImport(Glibc)
import Glibc
#endif

/// A mutual-exclusion lock for short critical sections.
public final class Mutex: @unchecked Sendable {
    private var m = pthread_mutex_t()
    /// Creates an unlocked mutex.
    public init() { pthread_mutex_init(&m, nil) }
    deinit { pthread_mutex_destroy(&m) }
    /// Runs `body` with the lock held.
    @inline(__always)
    public func withLock<T>(_ body: () throws -> T) rethrows -> T {
        pthread_mutex_lock(&m)
        defer { pthread_mutex_unlock(&m) }
        return try body()
    }
}
