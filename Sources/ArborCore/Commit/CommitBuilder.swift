// Builds the objects of a commit from layered sources. The directory walker runs on the
// calling thread and hands each regular file to a worker pool (hash, then copy or compress
// only when the repository lacks it), so reading directories overlaps hashing on both cores.
#if canImport(Glibc)
import Glibc
#endif
import Dispatch

/// Counters a progress display can read while a commit runs.
public final class CommitProgress: @unchecked Sendable {
    private let mutex = Mutex()
    private var _files = 0, _bytes: UInt64 = 0
    /// Creates zeroed counters.
    public init() {}
    func add(files: Int, bytes: UInt64) { mutex.withLock { _files += files; _bytes += bytes } }
    /// Files processed so far and their bytes.
    public var snapshot: (files: Int, bytes: UInt64) { mutex.withLock { (_files, _bytes) } }
}

/// Assembles a tree from sources and writes its objects through a transaction.
public final class CommitBuilder {
    let txn: Transaction
    var repo: Repository { txn.repo }
    let options: TreeOptions
    let root = MutableTree()
    /// Live counters for a progress display.
    public let progress = CommitProgress()

    // One thread per core plus one, so that a thread waiting on the disk leaves the cores busy.
    private let queue = WorkQueue(threads: WorkQueue.defaultThreads + 1, capacity: 256)
    private let errorMutex = Mutex()
    private var firstError: Error?
    private let pool = BufferPool(size: Transaction.chunkSize)

    /// Starts a builder; `options` are adjusted for the repository mode.
    public init(transaction: Transaction, options: TreeOptions) {
        txn = transaction
        var o = options
        if transaction.repo.mode.forcesCanonicalPermissions { o.canonicalPermissions = true }
        self.options = o
    }

    deinit {
        queue.close()
        pool.drain()
    }

    // MARK: Sources

    /// Layers the tree of an existing commit (unchanged parts are never expanded).
    public func addCommit(_ rev: String) throws {
        let c = try repo.resolveRev(rev)
        let commit = try repo.loadCommit(c)
        try layerTree(into: root, tree: commit.rootTree, meta: commit.rootMeta)
    }

    func layerTree(into node: MutableTree, tree: Checksum, meta: Checksum) throws {
        if node.files.isEmpty && node.dirs.isEmpty && node.unchangedTree == nil {
            // An empty node takes the subtree as is.
            let lazy = MutableTree(repo: repo, tree: tree, meta: meta)
            try lazy.materialize()
            node.files = lazy.files
            node.dirs = lazy.dirs
            node.setMeta(meta)
            return
        }
        let t = try repo.loadDirTree(tree)
        node.setMeta(meta)
        for f in t.files { try node.setFile(f.name, .done(f.checksum)) }
        for d in t.dirs { try layerTree(into: try node.subdir(d.name), tree: d.tree, meta: d.meta) }
    }

    /// Layers a directory from the filesystem.
    public func addDirectory(path: String) throws {
        let dir = try openDirectory(path: path)
        try addDirectory(dir, into: root, display: path)
        try checkError()
    }

    private func addDirectory(_ dir: FileDescriptor, into node: MutableTree, display: String) throws {
        try node.materialize()
        let st = try dir.stat()
        node.setMeta(try writeDirMeta(dir: dir, st: st))
        for name in try dir.entries().sorted(by: nameLess) {
            try checkError()
            let est = try dir.stat(name)
            let path = display.hasSuffix("/") ? display + name : display + "/" + name
            switch est.st_mode & S_IFMT {
            case S_IFDIR:
                let sub = try dir.openDirectory(name)
                try addDirectory(sub, into: try node.subdir(name), display: path)
            case S_IFREG:
                let job = FileJob()
                try node.setFile(name, .pending(job))
                schedule(dir: dir, name: name, st: est, job: job, display: path)
            case S_IFLNK:
                let targetBytes = try dir.readlinkBytes(name)
                guard let target = String(validating: targetBytes, as: UTF8.self) else {
                    throw ArborError.unsupported("\(path): symlink target is not valid UTF-8")
                }
                let xattrs = options.wantsXattrs ? try XattrIO.read(dir: dir, name: name) : []
                let meta = options.apply(FileMeta(uid: est.st_uid, gid: est.st_gid, mode: UInt32(est.st_mode),
                                                  symlinkTarget: target, xattrs: xattrs))
                try node.setFile(name, .done(try txn.writeSymlink(meta: meta)))
                progress.add(files: 1, bytes: 0)
            default:
                throw ArborError.unsupported("cannot commit \(path): \(fileKind(est.st_mode)) (only files, directories and symlinks can be committed)")
            }
        }
    }

    private func writeDirMeta(dir: FileDescriptor, st: stat) throws -> Checksum {
        let xattrs = options.wantsXattrs ? try XattrIO.read(fd: dir.raw, path: dir.path) : []
        let meta = options.apply(DirMeta(uid: st.st_uid, gid: st.st_gid, mode: UInt32(st.st_mode), xattrs: xattrs))
        return try txn.writeMetadata(.dirMeta, meta.serialize())
    }

    private func schedule(dir: FileDescriptor, name: String, st: stat, job: FileJob, display: String) {
        queue.submit { [self] in
            if errorMutex.withLock({ firstError != nil }) { return }
            do {
                let fd = try dir.openRead(name)
                let xattrs = options.wantsXattrs ? try XattrIO.read(fd: fd.raw, path: display) : []
                let meta = options.apply(FileMeta(uid: st.st_uid, gid: st.st_gid, mode: UInt32(st.st_mode), xattrs: xattrs))
                let buffer = pool.take()
                defer { pool.give(buffer) }
                job.result = try txn.writeRegularFile(fd: fd, meta: meta, buffer: buffer)
                progress.add(files: 1, bytes: UInt64(st.st_size))
            } catch {
                errorMutex.withLock { if firstError == nil { firstError = error } }
            }
        }
    }

    private func checkError() throws {
        if let e = errorMutex.withLock({ firstError }) {
            queue.wait()
            throw e
        }
    }

    /// Blocks until every scheduled worker has finished.
    public func waitForWorkers() { queue.wait() }

    // MARK: Finishing

    /// Waits for the workers and writes every dirtree; returns the root (dirtree, dirmeta).
    public func finish() throws -> (tree: Checksum, meta: Checksum) {
        queue.wait()
        try checkError()
        if root.metaChecksum == nil {
            // No source provided the root: a root-owned 0755 directory.
            root.setMeta(try txn.writeMetadata(.dirMeta, options.apply(DirMeta(uid: 0, gid: 0, mode: 0o40755)).serialize()))
        }
        return try write(root, path: "/")
    }

    private func write(_ node: MutableTree, path: String) throws -> (tree: Checksum, meta: Checksum) {
        guard let meta = node.metaChecksum else { throw ArborError.unsupported("directory \(path) has no metadata") }
        if let t = node.unchangedTree { return (t, meta) }
        var files: [DirTree.File] = []
        files.reserveCapacity(node.files.count)
        for (name, slot) in node.files {
            switch slot {
            case let .done(c): files.append(.init(name: name.string, checksum: c))
            case let .pending(job):
                guard let c = job.result else { throw ArborError.unsupported("\(path)\(name.string): not committed") }
                files.append(.init(name: name.string, checksum: c))
            }
        }
        var dirs: [DirTree.Dir] = []
        dirs.reserveCapacity(node.dirs.count)
        for (name, child) in node.dirs {
            let (t, m) = try write(child, path: path + name.string + "/")
            dirs.append(.init(name: name.string, tree: t, meta: m))
        }
        let tree = try txn.writeMetadata(.dirTree, DirTree(files: files, dirs: dirs).serialize())
        return (tree, meta)
    }
}

/// A human name for a file type, for error messages.
func fileKind(_ mode: mode_t) -> String {
    switch mode & S_IFMT {
    case S_IFCHR: return "character device"
    case S_IFBLK: return "block device"
    case S_IFIFO: return "fifo"
    case S_IFSOCK: return "socket"
    case S_IFDIR: return "directory"
    case S_IFLNK: return "symlink"
    case S_IFREG: return "regular file"
    default: return "unknown file type"
    }
}

/// Reusable scratch buffers for workers (large buffers are expensive to allocate per file).
final class BufferPool: @unchecked Sendable {
    private let mutex = Mutex()
    private var free: [UnsafeMutableRawBufferPointer] = []
    let size: Int
    init(size: Int) { self.size = size }
    func take() -> UnsafeMutableRawBufferPointer {
        if let b = mutex.withLock({ free.popLast() }) { return b }
        return UnsafeMutableRawBufferPointer.allocate(byteCount: size, alignment: 64)
    }
    func give(_ b: UnsafeMutableRawBufferPointer) { mutex.withLock { free.append(b) } }
    func drain() { mutex.withLock { for b in free { b.deallocate() }; free.removeAll() } }
}
