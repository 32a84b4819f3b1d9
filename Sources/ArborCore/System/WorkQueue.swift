// A fixed pool of worker threads fed through a bounded queue. Unlike Dispatch's global queues,
// which add threads whenever workers block on I/O, the pool keeps a known number of threads
// (and so of scratch buffers) alive: memory stays flat however large the tree.
#if canImport(Glibc)
import Glibc
#endif
import CArborSystem

/// Runs closures on `threads` worker threads; `submit` blocks while `capacity` jobs wait.
public final class WorkQueue: @unchecked Sendable {
    private var mutex = pthread_mutex_t()
    private var notEmpty = pthread_cond_t()
    private var notFull = pthread_cond_t()
    private var idle = pthread_cond_t()
    private var jobs: [() -> Void] = []
    private static let done: () -> Void = {}
    private var head = 0
    private var running = 0
    private var closed = false
    private let capacity: Int
    private var threads: [pthread_t] = []

    /// Starts the workers.
    public init(threads count: Int, capacity: Int = 256) {
        self.capacity = max(1, capacity)
        pthread_mutex_init(&mutex, nil)
        pthread_cond_init(&notEmpty, nil)
        pthread_cond_init(&notFull, nil)
        pthread_cond_init(&idle, nil)
        for _ in 0..<max(1, count) {
            var t = pthread_t()
            let box = Unmanaged.passRetained(self)
            pthread_create(&t, nil, { arg in
                guard let arg = arg else { return nil }
                let q = Unmanaged<WorkQueue>.fromOpaque(arg).takeRetainedValue()
                q.work()
                return nil
            }, box.toOpaque())
            threads.append(t)
        }
    }

    /// The number of worker threads to use for CPU-bound work: one per core.
    public static var defaultThreads: Int { max(1, Int(sysconf(Int32(_SC_NPROCESSORS_ONLN)))) }

    private func work() {
        while true {
            pthread_mutex_lock(&mutex)
            while head == jobs.count && !closed { pthread_cond_wait(&notEmpty, &mutex) }
            if head == jobs.count && closed {
                pthread_mutex_unlock(&mutex)
                return
            }
            var job: (() -> Void)? = jobs[head]
            jobs[head] = WorkQueue.done   // drop what the job captured as soon as it starts
            head += 1
            if head > 1024 && head * 2 > jobs.count {
                jobs.removeFirst(head)
                head = 0
            }
            running += 1
            pthread_cond_signal(&notFull)
            pthread_mutex_unlock(&mutex)
            job?()
            // Release the captures before reporting completion: whoever waits may then free
            // the objects they reference, and must never see a worker holding the last reference.
            job = nil
            pthread_mutex_lock(&mutex)
            running -= 1
            if running == 0 && head == jobs.count { pthread_cond_broadcast(&idle) }
            pthread_mutex_unlock(&mutex)
        }
    }

    /// Queues a job, waiting while the queue is full.
    public func submit(_ job: @escaping () -> Void) {
        pthread_mutex_lock(&mutex)
        while jobs.count - head >= capacity { pthread_cond_wait(&notFull, &mutex) }
        jobs.append(job)
        pthread_cond_signal(&notEmpty)
        pthread_mutex_unlock(&mutex)
    }

    /// Waits until every submitted job has finished.
    public func wait() {
        pthread_mutex_lock(&mutex)
        while running > 0 || head < jobs.count { pthread_cond_wait(&idle, &mutex) }
        pthread_mutex_unlock(&mutex)
    }

    /// Finishes the queued jobs and stops the threads.
    public func close() {
        pthread_mutex_lock(&mutex)
        closed = true
        pthread_cond_broadcast(&notEmpty)
        pthread_mutex_unlock(&mutex)
        for t in threads { pthread_join(t, nil) }
        threads.removeAll()
    }

    deinit {
        pthread_mutex_destroy(&mutex)
        pthread_cond_destroy(&notEmpty)
        pthread_cond_destroy(&notFull)
        pthread_cond_destroy(&idle)
    }
}

/// Large buffers (file chunks, downloaded objects) go straight back to the system when freed
/// instead of growing the heap, so peak memory stays close to what is in use.
public func tuneMemoryAllocator() {
    arbor_tune_malloc(256 << 10, 1 << 20)
}
