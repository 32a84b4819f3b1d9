// An OSTree repository on disk (spec §4): open, init, config, loose object paths and metadata reads.
#if canImport(Glibc)
import Glibc
#endif

/// An open repository. Reads are safe from several threads; writes go through a `Transaction`.
public final class Repository: @unchecked Sendable {
    /// The path the repository was opened with.
    public let path: String
    /// The repository directory.
    public let dir: FileDescriptor
    /// `objects/`.
    public let objectsDir: FileDescriptor
    /// The storage mode.
    public let mode: RepoMode
    /// The parsed `config` file.
    public private(set) var config: RepoConfig

    private init(path: String, dir: FileDescriptor) throws {
        self.path = path
        self.dir = dir
        guard let cfgFile = try dir.openIfExists("config", O_RDONLY | O_NOFOLLOW) else {
            throw ArborError.invalidRepository("\(path) is not a repository (no config file)")
        }
        config = RepoConfig(text: String(decoding: try cfgFile.readAll(limit: 1 << 20), as: UTF8.self))
        guard config.value("core", "repo_version") == "1" else {
            throw ArborError.invalidRepository("\(path)/config: unsupported repo_version \(config.value("core", "repo_version") ?? "(none)")")
        }
        if config.value("core", "archive") != nil {
            throw ArborError.invalidRepository("\(path)/config: the old 'archive' key is not supported")
        }
        let modeName = config.value("core", "mode") ?? "bare"
        guard let m = RepoMode(name: modeName) else {
            throw ArborError.invalidRepository("\(path)/config: unsupported mode \(modeName)")
        }
        mode = m
        do { objectsDir = try dir.openDirectory("objects") } catch {
            throw ArborError.invalidRepository("\(path) is not a repository (no objects/)")
        }
    }

    /// Opens an existing repository.
    public static func open(path: String) throws -> Repository {
        let dir: FileDescriptor
        do { dir = try openDirectory(path: path) } catch let e as ArborError {
            if case let .system(_, _, err) = e, err == ENOENT { throw ArborError.notFound("repository \(path) does not exist") }
            throw e
        }
        return try Repository(path: path, dir: dir)
    }

    /// Creates a repository (like `ostree init`), or opens it when one with the same mode exists.
    @discardableResult
    public static func create(path: String, mode: RepoMode) throws -> Repository {
        if mkdir(path, 0o755) != 0 && errno != EEXIST { throw ArborError.errno("mkdir", path) }
        let dir = try openDirectory(path: path)
        if dir.exists("config") {
            let repo = try Repository(path: path, dir: dir)
            guard repo.mode == mode else {
                throw ArborError.invalidArgument("\(path) is already a repository in mode \(repo.mode.rawValue)")
            }
            return repo
        }
        for d in ["objects", "tmp", "extensions", "state", "refs", "refs/heads", "refs/mirrors", "refs/remotes"] {
            try dir.mkdir(d, mode: 0o775)
        }
        try writeFileAtomically(dir, "config", Array("[core]\nrepo_version=1\nmode=\(mode.configName)\n".utf8))
        return try Repository(path: path, dir: dir)
    }

    /// Rewrites `config` atomically after `change` edits it.
    public func updateConfig(_ change: (inout RepoConfig) throws -> Void) throws {
        var c = config
        try change(&c)
        try writeFileAtomically(dir, "config", Array(c.text.utf8))
        config = c
    }

    // MARK: Locking

    /// Takes the repository lock (shared or exclusive), waiting up to `core.lock-timeout-secs`.
    public func lock(_ kind: LockKind) throws -> RepoLock? {
        guard config.bool("core", "locking", default: true) else { return nil }
        let timeout = Double(config.value("core", "lock-timeout-secs") ?? "") ?? 30
        return try RepoLock.acquire(dir: dir, kind: kind, timeout: timeout)
    }

    // MARK: Loose objects

    /// The subdirectory (`XX`) and file name (`rest.suffix`) of a loose object.
    public func looseName(_ checksum: Checksum, _ type: ObjectType) -> (String, String) {
        // Built from bytes: this runs once per file in every checkout, commit and fsck.
        let suffix = type == .file ? mode.contentSuffix : type.name
        var hex = checksum.hexBytes
        let dir = String(decoding: hex[0..<2], as: UTF8.self)
        hex.removeFirst(2)
        hex.append(UInt8(ascii: "."))
        hex.append(contentsOf: suffix.utf8)
        return (dir, String(decoding: hex, as: UTF8.self))
    }

    private var subdirCache: [String: FileDescriptor] = [:]
    private let subdirMutex = Mutex()

    /// The name of the `objects/XX` directory of checksums whose first byte is `firstByte`.
    static func objectDirName(_ firstByte: Int) -> String {
        let digits = Array("0123456789abcdef".utf8)
        return String(decoding: [digits[firstByte >> 4], digits[firstByte & 15]], as: UTF8.self)
    }

    /// The open `objects/XX` directory (cached), or nil when it does not exist.
    func objectSubdir(_ d: String) -> FileDescriptor? {
        if let fd = subdirMutex.withLock({ subdirCache[d] }) { return fd }
        guard let fd = try? objectsDir.openDirectory(d) else { return nil }
        subdirMutex.withLock { subdirCache[d] = fd }
        return fd
    }

    /// The path of a loose object relative to the repository, e.g. `objects/92/43...54.commit`.
    public func loosePath(_ checksum: Checksum, _ type: ObjectType) -> String {
        let (d, n) = looseName(checksum, type)
        return "objects/\(d)/\(n)"
    }

    /// Whether a loose object exists.
    public func hasObject(_ checksum: Checksum, _ type: ObjectType) -> Bool {
        let (d, n) = looseName(checksum, type)
        guard let sub = objectSubdir(d) else { return false }
        var st = Glibc.stat()
        return fstatat(sub.raw, n, &st, AT_SYMLINK_NOFOLLOW) == 0
    }

    /// Opens a loose object for reading; nil when absent. Symlink objects cannot be opened: use `statObject`.
    func openObject(_ checksum: Checksum, _ type: ObjectType) throws -> FileDescriptor? {
        let (d, n) = looseName(checksum, type)
        return try objectsDir.openIfExists("\(d)/\(n)", O_RDONLY | O_NOFOLLOW)
    }

    /// The largest metadata object Arbor reads (as OSTree's limit); anything bigger is corrupt.
    public static let maxMetadataSize = 128 << 20

    /// Reads a metadata object and checks that its bytes hash to its name (commitmeta and
    /// tombstones are named after their commit and are not checked here).
    public func readMetadata(_ checksum: Checksum, _ type: ObjectType) throws -> [UInt8] {
        let name = ObjectName(checksum, type).description
        guard let fd = try openObject(checksum, type) else { throw ArborError.missingObject(name: name) }
        let bytes: [UInt8]
        do { bytes = try fd.readAll(limit: Self.maxMetadataSize) } catch let e as ArborError {
            if case .invalidArgument = e { throw ArborError.corruptObject(name: name, reason: "too large") }
            throw e
        }
        if type == .commit || type == .dirTree || type == .dirMeta {
            guard SHA256Hasher.hash(bytes) == checksum else {
                throw ArborError.corruptObject(name: name, reason: "checksum mismatch")
            }
        }
        return bytes
    }

    /// Reads detached metadata if present.
    public func readCommitMeta(_ commit: Checksum) throws -> GVariant? {
        guard hasObject(commit, .commitMeta) else { return nil }
        let bytes = try readMetadata(commit, .commitMeta)
        return try parseNormal(bytes, as: CommitObject.metadataType, name: ObjectName(commit, .commitMeta).description)
    }

    /// Loads and validates a commit.
    public func loadCommit(_ checksum: Checksum) throws -> CommitObject {
        try CommitObject.parse(readMetadata(checksum, .commit), name: ObjectName(checksum, .commit).description)
    }

    /// Loads and validates a dirtree.
    public func loadDirTree(_ checksum: Checksum) throws -> DirTree {
        try DirTree.parse(readMetadata(checksum, .dirTree), name: ObjectName(checksum, .dirTree).description)
    }

    /// Loads and validates a dirmeta.
    public func loadDirMeta(_ checksum: Checksum) throws -> DirMeta {
        try DirMeta.parse(readMetadata(checksum, .dirMeta), name: ObjectName(checksum, .dirMeta).description)
    }

    /// Whether a commit is marked partial (some of its objects may be missing).
    public func isPartial(_ commit: Checksum) -> Bool {
        dir.exists("state/\(commit.hex).commitpartial")
    }
}
