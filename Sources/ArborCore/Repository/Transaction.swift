// Writing objects (spec §4, "Transactions / staging"): new objects are written into a private
// staging directory under tmp/, made durable with one syncfs, renamed into objects/ children
// before parents (content, dirmeta, dirtree, commit), and only then may a ref name them.
// A process killed at any point leaves no partial object in objects/: at worst a staging
// directory that the next transaction removes.
#if canImport(Glibc)
import Glibc
#endif
import CArborSystem

/// A set of objects being added to a repository. Thread-safe: commit workers write in parallel.
public final class Transaction: @unchecked Sendable {
    /// The repository written to.
    public let repo: Repository
    let staging: FileDescriptor
    let stagingName: String
    private let stagingLock: FileDescriptor
    private let repoLock: RepoLock?
    private let mutex = Mutex()
    private var staged: [ObjectName] = []
    private var stagedSet: Set<ObjectName> = []
    private var subdirs: [String: FileDescriptor] = [:]
    private var finished = false
    private let presence: ObjectPresence
    /// Whether to fsync (config `core.fsync`, default true).
    let sync: Bool
    /// Compresses archive-mode content (level `archive.zlib-level`, default 6).
    let deflater: FastDeflater
    /// The compression level for archive-mode content.
    let compressionLevel: Int32
    /// Number of objects written by this transaction.
    public var objectsWritten: Int { mutex.withLock { staged.count } }
    /// Bytes of content staged (uncompressed).
    public private(set) var contentBytesWritten: UInt64 = 0

    /// Starts a transaction: takes the shared repository lock and creates a staging directory.
    public init(_ repo: Repository) throws {
        self.repo = repo
        repoLock = try repo.lock(.shared)
        sync = repo.config.bool("core", "fsync", default: true)
        compressionLevel = Int32(repo.config.value("archive", "zlib-level") ?? "") ?? 6
        deflater = FastDeflater(level: compressionLevel)
        presence = ObjectPresence(repo)
        let tmp = try repo.dir.openDirectory("tmp")
        Transaction.cleanStaleStaging(tmp)
        // A prefix OSTree never reuses: its staging directories are trusted as complete.
        let name = "arbor-staging-\(bootID())-\(randomSuffix())"
        // The lock file is locked under a private name and only then renamed into view, so another
        // writer sweeping stale staging directories can never take it for abandoned.
        let hidden = "arbor-new-\(randomSuffix(10))"
        stagingLock = try tmp.openat(hidden, O_RDWR | O_CREAT | O_EXCL | O_NOFOLLOW, mode: 0o600)
        if arbor_lock_fd(stagingLock.raw, 1, 0) != 0 {
            try? tmp.unlink(hidden)
            throw ArborError.errno("lock", stagingLock.path)
        }
        try tmp.rename(hidden, to: tmp, "\(name)-lock")
        try tmp.mkdir(name, mode: 0o700)
        staging = try tmp.openDirectory(name)
        stagingName = name
    }

    deinit { if !finished { abort() } }

    /// Removes staging directories left by killed writers (their lock is no longer held).
    static func cleanStaleStaging(_ tmp: FileDescriptor) {
        guard let names = try? tmp.entries() else { return }
        for n in names where n.hasPrefix("arbor-new-") || n.hasPrefix(".tmp-") {
            // A lock file a killed writer never renamed into view, or a ref a killed writer was
            // writing; fresh ones belong to live writers.
            if let st = try? tmp.stat(n), st.st_mode & S_IFMT == S_IFREG, time(nil) - st.st_mtim.tv_sec > 3600 { try? tmp.unlink(n) }
        }
        for n in names where n.hasPrefix("arbor-staging-") && n.hasSuffix("-lock") {
            guard let fd = try? tmp.openat(n, O_RDWR | O_NOFOLLOW) else { continue }
            if arbor_lock_fd(fd.raw, 1, 0) == 0 {
                try? removeTree(tmp, String(n.dropLast(5)))
                try? tmp.unlink(n)
            }
        }
    }

    /// Whether the object is in the repository or already staged here.
    public func has(_ checksum: Checksum, _ type: ObjectType) -> Bool {
        if presence.contains(checksum, type) { return true }
        return mutex.withLock { stagedSet.contains(ObjectName(checksum, type)) }
    }

    /// Whether the object is in the repository's objects/ (staged objects are not).
    public func isStored(_ checksum: Checksum, _ type: ObjectType) -> Bool {
        presence.contains(checksum, type)
    }

    /// Claims an object for writing; false when it exists or another worker already claimed it.
    func claim(_ name: ObjectName) -> Bool {
        if presence.contains(name.checksum, name.type) { return false }
        return mutex.withLock { stagedSet.insert(name).inserted }
    }

    /// Records a fully written object in rename order.
    func record(_ name: ObjectName, bytes: UInt64 = 0) {
        mutex.withLock {
            staged.append(name)
            contentBytesWritten += bytes
        }
    }

    /// Forgets a claimed object whose write failed.
    func unclaim(_ name: ObjectName) { _ = mutex.withLock { stagedSet.remove(name) } }

    /// Opens (creating) the staging subdirectory for a checksum.
    func stagingSubdir(_ d: String) throws -> FileDescriptor {
        if let fd = mutex.withLock({ subdirs[d] }) { return fd }
        try staging.mkdir(d, mode: 0o755)
        let fd = try staging.openDirectory(d)
        mutex.withLock { subdirs[d] = fd }
        return fd
    }

    /// Writes a metadata object and returns its checksum.
    @discardableResult
    public func writeMetadata(_ type: ObjectType, _ bytes: [UInt8]) throws -> Checksum {
        let checksum = SHA256Hasher.hash(bytes)
        try writeMetadata(type, bytes, named: checksum)
        return checksum
    }

    /// Writes a metadata object under a given name (commitmeta is named after its commit).
    /// Detached metadata replaces any existing object; other types are written once.
    public func writeMetadata(_ type: ObjectType, _ bytes: [UInt8], named checksum: Checksum) throws {
        let name = ObjectName(checksum, type)
        if type == .commitMeta {
            if !mutex.withLock({ stagedSet.insert(name).inserted }) { return }
        } else if !claim(name) {
            return
        }
        do {
            let (d, n) = repo.looseName(checksum, type)
            let sub = try stagingSubdir(d)
            let fd = try sub.openat(n, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW, mode: 0o644)
            try fd.writeAll(bytes)
            if fchmod(fd.raw, 0o644) != 0 { throw ArborError.errno("chmod", fd.path) }
        } catch {
            unclaim(name)
            throw error
        }
        record(name)
    }

    /// Publishes every staged object: syncfs, renames (children first), syncfs; then moves
    /// `refs`, still under the repository lock so that no prune can slip in between.
    public func commit(refs: [(String, Checksum)] = []) throws {
        if sync { try staging.syncfs() }
        let order: [ObjectType] = [.file, .dirMeta, .dirTree, .commit, .commitMeta, .tombstoneCommit]
        let names = mutex.withLock { staged }
        var byType: [ObjectType: [ObjectName]] = [:]
        for n in names { byType[n.type, default: []].append(n) }
        var subdirs: [String: FileDescriptor] = [:]
        var sources: [String: FileDescriptor] = [:]
        for t in order {
            for name in byType[t] ?? [] {
                let (d, n) = repo.looseName(name.checksum, name.type)
                let dest: FileDescriptor
                if let s = subdirs[d] { dest = s } else {
                    try repo.objectsDir.mkdir(d, mode: 0o755)
                    dest = try repo.objectsDir.openDirectory(d)
                    subdirs[d] = dest
                }
                let src: FileDescriptor
                if let s = sources[d] { src = s } else {
                    src = try staging.openDirectory(d)
                    sources[d] = src
                }
                if t == .commitMeta {
                    try src.rename(n, to: dest, n)
                } else if try !src.renameNoReplace(n, to: dest, n) {
                    try src.unlink(n)
                }
            }
        }
        if sync { try repo.objectsDir.syncfs() }
        for (name, checksum) in refs { try repo.setRef(name, to: checksum) }
        finished = true
        cleanup()
    }

    /// Drops everything staged.
    public func abort() {
        finished = true
        cleanup()
    }

    private func cleanup() {
        if let tmp = try? repo.dir.openDirectory("tmp") {
            try? removeTree(tmp, stagingName)
            try? tmp.unlink("\(stagingName)-lock")
        }
        repoLock?.release()
    }
}

extension Transaction {
    /// The on-disk size of an object, staged here or already in the repository.
    func storedSize(_ c: Checksum, _ type: ObjectType) -> UInt64 {
        let (d, n) = repo.looseName(c, type)
        if let st = try? staging.statIfExists("\(d)/\(n)") { return UInt64(st.st_size) }
        return repo.objectSize(ObjectName(c, type))
    }

    /// Reads a dirtree staged here or already in the repository.
    func loadDirTree(_ c: Checksum) throws -> DirTree {
        let (d, n) = repo.looseName(c, .dirTree)
        if let fd = try staging.openIfExists("\(d)/\(n)", O_RDONLY | O_NOFOLLOW) {
            return try DirTree.parse(try fd.readAll(limit: Repository.maxMetadataSize), name: ObjectName(c, .dirTree).description)
        }
        return try repo.loadDirTree(c)
    }

    /// The uncompressed size of a content object staged here or already in the repository.
    func contentSize(_ c: Checksum) throws -> UInt64 {
        let (d, n) = repo.looseName(c, .file)
        if repo.mode == .archive, let fd = try staging.openIfExists("\(d)/\(n)", O_RDONLY | O_NOFOLLOW) {
            return try repo.readArchiveHeader(fd: fd, name: ObjectName(c, .file).description).1
        }
        if repo.mode != .archive, let st = try staging.statIfExists("\(d)/\(n)") {
            return st.st_mode & S_IFMT == S_IFLNK ? 0 : UInt64(st.st_size)
        }
        return try repo.contentInfo(c).size
    }
}
