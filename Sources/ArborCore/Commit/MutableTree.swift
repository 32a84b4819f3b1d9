// The tree being committed: directories built from sources layered in order (later wins),
// with subtrees that came unchanged from an existing commit kept as checksums, not expanded.

/// A directory under construction.
final class MutableTree {
    /// The directory's metadata checksum (set by every source that provides this directory).
    var metaChecksum: Checksum?
    /// Files: name → content checksum, or a job still computing it.
    var files: [EntryName: FileSlot] = [:]
    /// Subdirectories.
    var dirs: [EntryName: MutableTree] = [:]
    /// When the directory came unchanged from a commit: its dirtree checksum. Cleared on change.
    private var lazyTree: Checksum?
    private weak var lazyRepo: Repository?

    init() {}

    /// A directory taken from an existing commit, expanded only if something changes inside it.
    init(repo: Repository, tree: Checksum, meta: Checksum) {
        metaChecksum = meta
        lazyTree = tree
        lazyRepo = repo
    }

    /// The checksum of this directory when it is still exactly as loaded.
    var unchangedTree: Checksum? { lazyTree }

    /// Expands a lazily loaded directory before a change.
    func materialize() throws {
        guard let t = lazyTree, let repo = lazyRepo else { return }
        let tree = try repo.loadDirTree(t)
        for f in tree.files { files[EntryName(f.name)] = .done(f.checksum) }
        for d in tree.dirs { dirs[EntryName(d.name)] = MutableTree(repo: repo, tree: d.tree, meta: d.meta) }
        lazyTree = nil
    }

    /// Returns the subdirectory `name`, creating it (and replacing a file of that name).
    func subdir(_ name: String) throws -> MutableTree {
        try materialize()
        let key = EntryName(name)
        if let d = dirs[key] { return d }
        files[key] = nil
        let d = MutableTree()
        dirs[key] = d
        return d
    }

    /// Sets a file, replacing any directory of that name.
    func setFile(_ name: String, _ slot: FileSlot) throws {
        try materialize()
        dirs[EntryName(name)] = nil
        files[EntryName(name)] = slot
    }

    /// Removes an entry of either kind; returns whether it existed.
    @discardableResult
    func remove(_ name: String) throws -> Bool {
        try materialize()
        return files.removeValue(forKey: EntryName(name)) != nil || dirs.removeValue(forKey: EntryName(name)) != nil
    }

    /// Sets the directory's metadata.
    func setMeta(_ checksum: Checksum) {
        metaChecksum = checksum
    }
}

/// A file's checksum, known or being computed by a worker.
enum FileSlot {
    case done(Checksum)
    case pending(FileJob)
}

/// A file hashed (and written) by a worker thread; `result` is set when done.
final class FileJob: @unchecked Sendable {
    var result: Checksum?
}
