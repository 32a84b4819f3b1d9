// `checkout`: materialise a tree under a destination directory. Every path is created relative
// to an open directory descriptor with O_NOFOLLOW, and names come from validated dirtrees (one
// component, never `.` or `..`), so nothing is ever written outside the destination, whatever
// symlinks the tree or an existing destination (--union) contains.
#if canImport(Glibc)
import Glibc
#endif

/// Options of `checkout`.
public struct CheckoutOptions: Sendable {
    /// Do not apply ownership (and drop setuid/setgid bits), as a non-root user would.
    public var userMode = false
    /// Check out only this path of the tree.
    public var subpath: String?
    /// Write into an existing destination, replacing files that are in the way.
    public var union = false
    /// Fail instead of copying when a hardlink is impossible.
    public var requireHardlinks = false
    /// Always copy, never hardlink.
    public var forceCopy = false
    /// Creates default options.
    public init() {}
}

/// What a checkout did.
public struct CheckoutStats: Sendable {
    /// Files hardlinked from the repository.
    public var linked = 0
    /// Files copied (and verified).
    public var copied = 0
    /// Directories created.
    public var directories = 0
}

extension Repository {
    /// Whether this checkout can hardlink objects: only when the object's inode carries exactly
    /// what the checkout must show (as `ostree`).
    func canHardlink(_ options: CheckoutOptions) -> Bool {
        if options.forceCopy { return false }
        switch mode {
        case .bare: return !options.userMode
        case .bareUser: return options.userMode
        case .bareUserOnly: return true
        case .archive: return false
        }
    }

    /// Checks out `rev` (optionally only `options.subpath`) into `destination`.
    public func checkout(_ rev: String, destination: String, options: CheckoutOptions) throws -> CheckoutStats {
        let lock = try lock(.shared)
        defer { lock?.release() }
        let commitSum = try resolveRev(rev)
        let commit = try loadCommit(commitSum)
        if options.requireHardlinks && !canHardlink(options) && !options.forceCopy {
            throw ArborError.invalidArgument("hardlinks are impossible from a \(mode.rawValue) repository\(options.userMode ? " in user mode" : " without --user-mode")")
        }
        let (tree, meta, fileLeaf) = try resolveSubpath(commit, options.subpath, rev: rev)
        // The destination's parent is the user's choice; the destination itself and everything below is ours.
        let (parentPath, leaf) = splitPath(destination)
        let parent = try openDirectory(path: parentPath)
        let ctx = CheckoutContext(repo: self, options: options, hardlink: canHardlink(options))
        if let (name, checksum) = fileLeaf {
            if !options.union || !parent.exists(leaf) { try parent.mkdir(leaf, mode: 0o700) }
            let dir = try ctx.openExistingDir(parent, leaf)
            try ctx.checkoutFile(name: name, checksum: checksum, in: dir)
            return ctx.stats
        }
        let dirMeta = try loadDirMeta(meta)
        if parent.exists(leaf) && !options.union {
            throw ArborError.invalidArgument("destination \(destination) already exists (use --union to write into it)")
        }
        try ctx.checkoutDir(tree: tree, meta: dirMeta, name: leaf, in: parent)
        return ctx.stats
    }
}

extension Repository {
    /// Walks `subpath` (nil: the root) down a commit's tree: the directory it names (its dirtree
    /// and dirmeta), or, when its last component is a file, that file's name and checksum.
    func resolveSubpath(_ commit: CommitObject, _ subpath: String?, rev: String) throws
        -> (tree: Checksum, meta: Checksum, file: (String, Checksum)?) {
        var tree = commit.rootTree, meta = commit.rootMeta
        guard let sub = subpath else { return (tree, meta, nil) }
        let comps = sub.split(separator: "/").map(String.init).filter { !$0.isEmpty && $0 != "." }
        for (i, c) in comps.enumerated() {
            if c == ".." { throw ArborError.invalidArgument("invalid subpath \(sub)") }
            let t = try loadDirTree(tree)
            if let d = t.dirs.first(where: { sameName($0.name, c) }) {
                tree = d.tree; meta = d.meta
            } else if i == comps.count - 1, let f = t.files.first(where: { sameName($0.name, c) }) {
                return (tree, meta, (c, f.checksum))
            } else {
                throw ArborError.notFound("no such path in \(rev): \(sub)")
            }
        }
        return (tree, meta, nil)
    }
}

/// Splits a path into its parent directory and last component.
func splitPath(_ path: String) -> (String, String) {
    var p = Substring(path)
    while p.count > 1 && p.hasSuffix("/") { p = p.dropLast() }
    guard let slash = p.lastIndex(of: "/") else { return (".", String(p)) }
    let parent = p[..<slash]
    return (parent.isEmpty ? "/" : String(parent), String(p[p.index(after: slash)...]))
}

final class CheckoutContext: @unchecked Sendable {
    let repo: Repository
    let options: CheckoutOptions
    var hardlink: Bool
    private let mutex = Mutex()
    private var _stats = CheckoutStats()
    var stats: CheckoutStats { mutex.withLock { _stats } }

    init(repo: Repository, options: CheckoutOptions, hardlink: Bool) {
        self.repo = repo
        self.options = options
        self.hardlink = hardlink
    }

    private var metas: [Checksum: DirMeta] = [:]

    /// Directory metadata, read once per checkout (a tree has few distinct ones).
    func dirMeta(_ c: Checksum) throws -> DirMeta {
        if let m = mutex.withLock({ metas[c] }) { return m }
        let m = try repo.loadDirMeta(c)
        mutex.withLock { metas[c] = m }
        return m
    }

    /// A worker's state for this repository's object names.
    func makeWorker() -> CheckoutWorker { CheckoutWorker(suffix: repo.mode.contentSuffix) }

    /// Adds a worker's counts to the totals.
    func add(_ s: CheckoutStats) {
        mutex.withLock {
            _stats.linked += s.linked
            _stats.copied += s.copied
            _stats.directories += s.directories
        }
    }

    func openExistingDir(_ parent: FileDescriptor, _ name: String) throws -> FileDescriptor {
        do { return try parent.openDirectory(name) } catch let e as ArborError {
            if case let .system(_, _, err) = e, err == ENOTDIR || err == ELOOP {
                throw ArborError.invalidArgument("\(parent.join(name)) exists and is not a directory")
            }
            throw e
        }
    }

    /// Checks a whole tree out as `name` in `parent`, on every core.
    func checkoutDir(tree: Checksum, meta: DirMeta, name: String, in parent: FileDescriptor) throws {
        try CheckoutWalk(self).run(tree: tree, meta: meta, name: name, in: parent)
    }

    /// Creates (or, in a union, reuses) directory `name` in `parent` and opens it, owner-only
    /// until its metadata is applied; `created` is false for a directory that was there.
    func makeDirectory(_ name: String, in parent: FileDescriptor) throws -> (fd: FileDescriptor, created: Bool) {
        let created = try parent.mkdir(name, mode: 0o700)
        if !created && !options.union { throw ArborError.system(op: "mkdir", path: parent.join(name), errno: EEXIST) }
        return (try openExistingDir(parent, name), created)
    }

    /// Applies a directory's owner, xattrs and mode, once its contents are in place. A directory
    /// this checkout created also gets modification time 0, as `ostree` does, so that every
    /// checkout of a commit is the same tree down to its timestamps (file objects already have
    /// mtime 0); copies (`--force-copy`, used for /etc) and directories that were there keep theirs.
    func applyDirMeta(_ meta: DirMeta, to dir: FileDescriptor, created: Bool) throws {
        if !options.userMode {
            if fchown(dir.raw, meta.uid, meta.gid) != 0 { throw ArborError.errno("chown", dir.path) }
            if !meta.xattrs.isEmpty { try XattrIO.write(fd: dir.raw, path: dir.path, meta.xattrs) }
        }
        let mode = options.userMode ? meta.mode & 0o3777 : meta.mode & 0o7777
        if fchmod(dir.raw, mode_t(mode)) != 0 { throw ArborError.errno("chmod", dir.path) }
        if created && !options.forceCopy {
            // Access time left alone: UTIME_OMIT, ((1 << 30) - 2), a macro Swift does not import.
            var times = [timespec(tv_sec: 0, tv_nsec: (1 << 30) - 2), timespec(tv_sec: 0, tv_nsec: 0)]
            if futimens(dir.raw, &times) != 0 { throw ArborError.errno("futimens", dir.path) }
        }
    }

    /// Checks one file out as `name` in `dir`.
    func checkoutFile(name: String, checksum: Checksum, in dir: FileDescriptor) throws {
        let w = makeWorker()
        try placeFile(name, checksum, in: dir, w)
        add(w.stats)
    }

    /// Links or copies one file into `dir`, counting it in `w`.
    func placeFile(_ name: String, _ checksum: Checksum, in dir: FileDescriptor, _ w: CheckoutWorker) throws {
        if options.union, let st = try dir.statIfExists(name) {
            if st.st_mode & S_IFMT == S_IFDIR {
                throw ArborError.invalidArgument("\(dir.join(name)) is a directory; the tree has a file there")
            }
            try dir.unlink(name)
        }
        if hardlink, let sub = try linkable(checksum, w) {
            // `w.name` holds the object's name, written by `linkable`.
            if linkat(sub.raw, w.name, dir.raw, name, 0) == 0 {
                w.stats.linked += 1
                return
            }
            let err = errno
            if err == ENOENT { throw ArborError.missingObject(name: ObjectName(checksum, .file).description) }
            if options.requireHardlinks || (err != EXDEV && err != EMLINK && err != EPERM) {
                throw ArborError.system(op: "link", path: dir.join(name), errno: err)
            }
        }
        try copyFile(name: name, checksum: checksum, in: dir)
        w.stats.copied += 1
    }

    /// Whether this object may be hardlinked, as `ostree` decides: never an empty file (one inode
    /// shared by every empty file would reach the link limit), never a bare-user symlink (stored
    /// as a regular file), and in user mode never a file its owner cannot read.
    /// Returns the object's directory when it may be linked (its name is then in `w.name`).
    private func linkable(_ checksum: Checksum, _ w: CheckoutWorker) throws -> FileDescriptor? {
        guard let sub = w.objectDir(checksum, repo) else {
            throw ArborError.missingObject(name: ObjectName(checksum, .file).description)
        }
        var st = Glibc.stat()
        if fstatat(sub.raw, w.name, &st, AT_SYMLINK_NOFOLLOW) != 0 {
            if errno == ENOENT { throw ArborError.missingObject(name: ObjectName(checksum, .file).description) }
            throw ArborError.errno("stat", sub.join(w.nameString))
        }
        let isLink = st.st_mode & S_IFMT == S_IFLNK
        if !isLink && st.st_size == 0 { return nil }
        if options.userMode && !isLink && st.st_mode & 0o400 == 0 { return nil }
        if repo.mode == .bareUser {
            let meta = try repo.contentInfo(checksum).meta
            // The logical mode decides, not the object's (which bare-user forces owner-readable).
            if meta.isSymlink || (options.userMode && meta.mode & 0o400 == 0) { return nil }
        }
        return sub
    }

    private func copyFile(name: String, checksum: Checksum, in dir: FileDescriptor) throws {
        let opened = try repo.openContent(checksum)
        let meta = opened.info.meta
        if meta.isSymlink {
            try dir.symlink(meta.symlinkTarget, name)
            if !options.userMode {
                if fchownat(dir.raw, name, meta.uid, meta.gid, AT_SYMLINK_NOFOLLOW) != 0 { throw ArborError.errno("chown", dir.join(name)) }
                if !meta.xattrs.isEmpty { try XattrIO.write(dir: dir, name: name, meta.xattrs) }
            }
            return
        }
        let fd = try dir.openat(name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW, mode: 0o600)
        do {
            try repo.readContent(checksum, opened: opened, verify: true) { try fd.writeAll($0) }
            if options.userMode {
                // As `ostree`: no setuid/setgid, and the owner can always read what it checked out.
                if fchmod(fd.raw, mode_t(meta.mode & 0o777 | 0o400)) != 0 { throw ArborError.errno("chmod", fd.path) }
            } else {
                if fchown(fd.raw, meta.uid, meta.gid) != 0 { throw ArborError.errno("chown", fd.path) }
                if fchmod(fd.raw, mode_t(meta.mode & 0o7777)) != 0 { throw ArborError.errno("chmod", fd.path) }
                if !meta.xattrs.isEmpty { try XattrIO.write(fd: fd.raw, path: fd.path, meta.xattrs) }
            }
        } catch {
            try? dir.unlink(name)
            throw error
        }
    }
}
