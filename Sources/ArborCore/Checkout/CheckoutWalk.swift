// The checkout walk on every core. Directories, and runs of files of large directories, are
// tasks that a small fixed pool of threads shares by work stealing: each thread keeps a stack of
// the tasks it found and takes the newest, so it goes depth first and only the directories
// along a few paths are open at once; an idle thread takes another's oldest task, a large
// subtree away from where that thread works (threads in the same directory would queue on its
// lock: every mkdir and link holds its parent's). A directory's owner, xattrs and mode are
// applied once everything inside it is done, as `ostree` does (a read-only directory must still
// be filled).
#if canImport(Glibc)
import Glibc
#endif

/// A directory being checked out, kept open until its contents are done.
final class CheckoutNode {
    let fd: FileDescriptor
    let meta: DirMeta
    let parent: CheckoutNode?
    /// False for a directory a union checkout found in place.
    let created: Bool
    /// Unfinished tasks inside, plus one while the directory's own task runs (guarded by the walk's lock).
    var pending = 1

    init(fd: FileDescriptor, created: Bool, meta: DirMeta, parent: CheckoutNode?) {
        self.fd = fd
        self.created = created
        self.meta = meta
        self.parent = parent
    }
}

/// One piece of a checkout.
enum CheckoutTask {
    /// Create and fill the subdirectory `entry` of `parent`.
    case dir(CheckoutNode, DirTree.Dir)
    /// Link or copy `files[range]` into the directory.
    case files(CheckoutNode, [DirTree.File], Range<Int>)
}

/// What one thread keeps to itself: counters, open object directories and the object names it
/// builds, so that the per-file path takes no lock and allocates nothing.
final class CheckoutWorker {
    var stats = CheckoutStats()
    /// Which of the walk's stacks is this thread's.
    var index = 0
    /// Dirtrees, read through the same object directories.
    let trees = DirTreeReader()
    /// `objects/XX` directories by first checksum byte.
    private var subdirs = [FileDescriptor?](repeating: nil, count: 256)
    /// "<62 hex digits>.<suffix>\0": the loose name of the object last passed to `objectDir`.
    let name: UnsafeMutablePointer<CChar>

    init(suffix: String) {
        let size = 62 + 1 + suffix.utf8.count + 1
        name = .allocate(capacity: size)
        name[62] = CChar(UInt8(ascii: "."))
        for (i, b) in suffix.utf8.enumerated() { name[63 + i] = CChar(bitPattern: b) }
        name[size - 1] = 0
    }

    deinit { name.deallocate() }

    /// The loose name in `name`, for messages.
    var nameString: String { String(cString: name) }

    /// The open `objects/XX` directory of checksum `c` (looked up once per thread), or nil when
    /// it does not exist.
    func subdir(_ c: Checksum, _ repo: Repository) -> FileDescriptor? {
        let first = c.firstByte
        if let d = subdirs[first] { return d }
        guard let d = repo.objectSubdir(Repository.objectDirName(first)) else { return nil }
        subdirs[first] = d
        return d
    }

    /// The directory of content object `c`, its name written into `name`; nil when the
    /// directory does not exist.
    func objectDir(_ c: Checksum, _ repo: Repository) -> FileDescriptor? {
        writeHexTail(c, into: name)
        return subdir(c, repo)
    }
}

/// Runs one checkout's tasks on a small pool of threads.
final class CheckoutWalk: @unchecked Sendable {
    /// Files per task in large directories: enough to outweigh the hand-over.
    static let chunk = 128
    /// A small fixed pool: the work is mostly the filesystem's, which gains little from many threads.
    static let maxThreads = 4

    private let ctx: CheckoutContext
    private let lock = UnsafeMutablePointer<pthread_mutex_t>.allocate(capacity: 1)
    private let wake = UnsafeMutablePointer<pthread_cond_t>.allocate(capacity: 1)
    /// Each thread's tasks, newest last.
    private var stacks: [[CheckoutTask]] = []
    /// Tasks in all stacks.
    private var queued = 0
    /// Tasks being run.
    private var busy = 0
    /// Threads waiting for a task.
    private var sleeping = 0
    private var failure: Error?

    init(_ ctx: CheckoutContext) {
        self.ctx = ctx
        pthread_mutex_init(lock, nil)
        pthread_cond_init(wake, nil)
    }

    deinit {
        pthread_mutex_destroy(lock)
        pthread_cond_destroy(wake)
        lock.deallocate()
        wake.deallocate()
    }

    /// Checks the tree out as `name` in `parent`; returns once every task is done or one failed
    /// (the first error is thrown).
    func run(tree: Checksum, meta: DirMeta, name: String, in parent: FileDescriptor) throws {
        let threads = min(WorkQueue.defaultThreads, Self.maxThreads)
        stacks = Array(repeating: [], count: threads)
        busy = 1  // the root, run below
        let w = ctx.makeWorker()
        var err: Error?
        do { try dir(in: parent, parent: nil, name: name, tree: tree, meta: meta, w) } catch { err = error }
        finished(err)
        // Started once the root's entries are queued: a helper with nothing to do would sleep
        // at once, and a woken thread tends to be placed on its waker's core.
        let pool = threads > 1 && err == nil ? WorkQueue(threads: threads - 1, capacity: threads) : nil
        for i in 1..<threads {
            pool?.submit { [self] in
                let w = ctx.makeWorker()
                w.index = i
                work(w)
                ctx.add(w.stats)
            }
        }
        work(w)
        ctx.add(w.stats)
        pool?.close()
        stacks.removeAll()
        if let e = failure { throw e }
    }

    /// Takes tasks until there are none left and none running, or one failed.
    private func work(_ w: CheckoutWorker) {
        pthread_mutex_lock(lock)
        while failure == nil {
            if let task = take(w.index) {
                busy += 1
                pthread_mutex_unlock(lock)
                var err: Error?
                do { try run(task, w) } catch { err = error }
                finished(err)
                pthread_mutex_lock(lock)
            } else if busy == 0 {
                break
            } else {
                sleeping += 1
                pthread_cond_wait(wake, lock)
                sleeping -= 1
            }
        }
        pthread_mutex_unlock(lock)
    }

    /// Marks a task done; wakes everyone when the walk is over (or failed).
    private func finished(_ err: Error?) {
        pthread_mutex_lock(lock)
        busy -= 1
        if let e = err, failure == nil { failure = e }
        if (err != nil || (busy == 0 && queued == 0)) && sleeping > 0 { pthread_cond_broadcast(wake) }
        pthread_mutex_unlock(lock)
    }

    /// The newest task of thread `me`, else the oldest of the thread with most (lock held).
    private func take(_ me: Int) -> CheckoutTask? {
        if queued == 0 { return nil }
        queued -= 1
        if let t = stacks[me].popLast() { return t }
        var victim = me
        for i in stacks.indices where stacks[i].count > stacks[victim].count { victim = i }
        return stacks[victim].removeFirst()
    }

    private func push(_ tasks: [CheckoutTask], _ w: CheckoutWorker) {
        if tasks.isEmpty { return }
        pthread_mutex_lock(lock)
        stacks[w.index].append(contentsOf: tasks)
        queued += tasks.count
        if sleeping > 0 {
            if tasks.count > 1 { pthread_cond_broadcast(wake) } else { pthread_cond_signal(wake) }
        }
        pthread_mutex_unlock(lock)
    }

    private func run(_ task: CheckoutTask, _ w: CheckoutWorker) throws {
        switch task {
        case let .dir(parent, e):
            try dir(in: parent.fd, parent: parent, name: e.name, tree: e.tree, meta: try ctx.dirMeta(e.meta), w)
        case let .files(node, files, range):
            for i in range { try ctx.placeFile(files[i].name, files[i].checksum, in: node.fd, w) }
            try release(node)
        }
    }

    /// Creates directory `name`, places its files and queues its subdirectories.
    private func dir(in parentFD: FileDescriptor, parent: CheckoutNode?, name: String, tree: Checksum,
                     meta: DirMeta, _ w: CheckoutWorker) throws {
        let t = try w.trees.load(tree, in: w.subdir(tree, ctx.repo), ctx.repo)
        let (fd, created) = try ctx.makeDirectory(name, in: parentFD)
        let node = CheckoutNode(fd: fd, created: created, meta: meta, parent: parent)
        w.stats.directories += 1
        let files = t.files
        var tasks: [CheckoutTask] = []
        tasks.reserveCapacity(t.dirs.count + files.count / Self.chunk)
        // Last in, first out: reversed, so that a thread takes the subdirectories in name order.
        for d in t.dirs.reversed() { tasks.append(.dir(node, d)) }
        var start = Self.chunk
        while start < files.count {
            tasks.append(.files(node, files, start..<min(start + Self.chunk, files.count)))
            start += Self.chunk
        }
        // Not yet visible to other threads: no lock needed.
        node.pending += tasks.count
        let mine = 0..<min(files.count, Self.chunk)
        if files.count > Self.chunk {
            // Hand the other runs of files out before placing the first.
            push(tasks, w)
            for i in mine { try ctx.placeFile(files[i].name, files[i].checksum, in: node.fd, w) }
        } else {
            // Files before subdirectories, in name order, as `ostree` creates them.
            for i in mine { try ctx.placeFile(files[i].name, files[i].checksum, in: node.fd, w) }
            push(tasks, w)
        }
        try release(node)
    }

    /// Ends one task inside `node`; the last one applies the directory's metadata, and so on up.
    private func release(_ node: CheckoutNode) throws {
        var next: CheckoutNode? = node
        while let n = next {
            pthread_mutex_lock(lock)
            n.pending -= 1
            let done = n.pending == 0
            pthread_mutex_unlock(lock)
            if !done { return }
            try ctx.applyDirMeta(n.meta, to: n.fd, created: n.created)
            next = n.parent
        }
    }
}
