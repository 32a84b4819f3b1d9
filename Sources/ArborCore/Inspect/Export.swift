// `export`: a commit's tree (or a part of it) as a tarball. The bytes depend only on the commit:
// entries in name order (a directory before its contents), every mtime the commit's timestamp,
// numeric owners only, no atime or ctime. Files that are one content object are identical
// files, so every one after the first is written as a hardlink to it; committing the tarball
// again gives the same tree. Content is verified against its checksum as it is read.
#if canImport(Glibc)
import Glibc
#endif

/// How `export` compresses, chosen from the output's name.
public enum ExportCompression: String, Sendable {
    /// Plain tar.
    case none
    /// gzip (`.tar.gz`, `.tgz`).
    case gzip
    /// xz (`.tar.xz`, `.txz`).
    case xz
    /// zstd (`.tar.zst`, `.tzst`).
    case zstd
    /// bzip2 (`.tar.bz2`, `.tbz2`).
    case bzip2

    /// The compression a file name asks for; nil when the name is not a tarball's.
    public init?(fileName: String) {
        let n = fileName.lowercased()
        let table: [(String, ExportCompression)] = [
            (".tar", .none), (".tar.gz", .gzip), (".tgz", .gzip), (".tar.xz", .xz), (".txz", .xz),
            (".tar.zst", .zstd), (".tar.zstd", .zstd), (".tzst", .zstd), (".tar.bz2", .bzip2), (".tbz2", .bzip2), (".tbz", .bzip2),
        ]
        guard let match = table.first(where: { n.hasSuffix($0.0) }) else { return nil }
        self = match.1
    }
}

/// Options of `export`.
public struct ExportOptions: Sendable {
    /// Export only this path of the tree: a directory becomes the tarball's root, a file its only entry.
    public var subpath: String?
    /// Creates default options.
    public init() {}
}

/// What an export wrote.
public struct ExportStats: Sendable {
    /// Entries written (directories, files, symlinks, hardlinks).
    public var entries = 0
    /// Content bytes written (hardlinks count once).
    public var bytes: UInt64 = 0
}

extension Repository {
    /// Writes the tree of `rev` as a tarball to `output` (`-`: standard output, plain tar).
    /// A file is written under a temporary name and renamed once complete.
    public func exportTarball(_ rev: String, output: String, options: ExportOptions) throws -> ExportStats {
        let lock = try lock(.shared)
        defer { lock?.release() }
        let commit = try loadCommit(try resolveRev(rev))
        let (tree, meta, fileLeaf) = try resolveSubpath(commit, options.subpath, rev: rev)

        let compression: ExportCompression
        let fd: FileDescriptor
        var temporary: (dir: FileDescriptor, name: String, final: String)?
        if output == "-" {
            if isatty(1) == 1 { throw ArborError.invalidArgument("refusing to write a tarball to a terminal") }
            compression = .none
            let raw = dup(1)
            if raw < 0 { throw ArborError.errno("dup", "standard output") }
            fd = FileDescriptor(raw: raw, path: "standard output")
        } else {
            guard let c = ExportCompression(fileName: output) else {
                throw ArborError.invalidArgument("cannot tell the compression from \(output) (name it .tar, .tar.gz, .tgz, .tar.xz, .tar.zst or .tar.bz2)")
            }
            compression = c
            let (parentPath, leaf) = splitPath(output)
            let dir = try openDirectory(path: parentPath)
            let tmp = ".\(leaf).tmp-\(randomSuffix())"
            fd = try dir.openat(tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW, mode: 0o644)
            temporary = (dir, tmp, leaf)
        }
        do {
            let encoded = try fileLeaf.map { try !xattrNamesSurviveSchily(checksum: $0.1) } ?? !xattrNamesSurviveSchily(tree: tree, meta: meta)
            let writer = try ArchiveWriter(fd: fd, compression: compression, display: output == "-" ? "standard output" : output,
                                           libarchiveXattrs: encoded)
            let ctx = ExportContext(repo: self, writer: writer, mtime: Int(clamping: commit.timestamp))
            if let (name, checksum) = fileLeaf {
                try ctx.writeFile(path: "./" + name, checksum: checksum)
            } else {
                try ctx.writeDirectory(path: ".", tree: tree, meta: meta)
            }
            try writer.close()
            if let t = temporary {
                if fsync(fd.raw) != 0 { throw ArborError.errno("fsync", output) }
                try t.dir.rename(t.name, to: t.dir, t.final)
            }
            return ctx.stats
        } catch {
            if let t = temporary { try? t.dir.unlink(t.name) }
            throw error
        }
    }
}

extension Repository {
    /// Whether every xattr name in the tree can be written in GNU tar's form (a metadata-only walk).
    fileprivate func xattrNamesSurviveSchily(tree: Checksum, meta: Checksum, seen: inout Set<Checksum>) throws -> Bool {
        guard try loadDirMeta(meta).xattrs.allSatisfy({ ArchiveWriter.schilyKeepsName($0.name) }) else { return false }
        let t = try loadDirTree(tree)
        for f in t.files where seen.insert(f.checksum).inserted {
            guard try xattrNamesSurviveSchily(checksum: f.checksum) else { return false }
        }
        for d in t.dirs {
            guard try xattrNamesSurviveSchily(tree: d.tree, meta: d.meta, seen: &seen) else { return false }
        }
        return true
    }

    fileprivate func xattrNamesSurviveSchily(tree: Checksum, meta: Checksum) throws -> Bool {
        var seen = Set<Checksum>()
        return try xattrNamesSurviveSchily(tree: tree, meta: meta, seen: &seen)
    }

    fileprivate func xattrNamesSurviveSchily(checksum: Checksum) throws -> Bool {
        try contentInfo(checksum).meta.xattrs.allSatisfy { ArchiveWriter.schilyKeepsName($0.name) }
    }
}

/// The state of one export: the writer and the first path written for each content object.
private final class ExportContext {
    let repo: Repository
    let writer: ArchiveWriter
    let mtime: Int
    var firstPath: [Checksum: String] = [:]
    var stats = ExportStats()

    init(repo: Repository, writer: ArchiveWriter, mtime: Int) {
        self.repo = repo
        self.writer = writer
        self.mtime = mtime
    }

    /// The directory, then its files and subdirectories together in name order.
    func writeDirectory(path: String, tree: Checksum, meta: Checksum) throws {
        let m = try repo.loadDirMeta(meta)
        try writer.header(path: path == "." ? "./" : path, mode: m.mode, uid: m.uid, gid: m.gid, mtime: mtime, xattrs: m.xattrs)
        stats.entries += 1
        let t = try repo.loadDirTree(tree)
        var fi = 0, di = 0
        while fi < t.files.count || di < t.dirs.count {
            if di == t.dirs.count || (fi < t.files.count && nameLess(t.files[fi].name, t.dirs[di].name)) {
                try writeFile(path: path + "/" + t.files[fi].name, checksum: t.files[fi].checksum)
                fi += 1
            } else {
                try writeDirectory(path: path + "/" + t.dirs[di].name, tree: t.dirs[di].tree, meta: t.dirs[di].meta)
                di += 1
            }
        }
    }

    func writeFile(path: String, checksum: Checksum) throws {
        let info = try repo.contentInfo(checksum)
        let m = info.meta
        stats.entries += 1
        if m.isSymlink {
            try writer.header(path: path, mode: m.mode, uid: m.uid, gid: m.gid, mtime: mtime, symlink: m.symlinkTarget, xattrs: m.xattrs)
            return
        }
        if let first = firstPath[checksum] {
            try writer.header(path: path, mode: m.mode, uid: m.uid, gid: m.gid, mtime: mtime, hardlink: first)
            return
        }
        firstPath[checksum] = path
        try writer.header(path: path, mode: m.mode, uid: m.uid, gid: m.gid, mtime: mtime, size: info.size, xattrs: m.xattrs)
        try repo.readContent(checksum, verify: true) { try writer.data($0, path: path) }
        stats.bytes += info.size
    }
}
