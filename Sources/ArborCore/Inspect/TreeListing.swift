// Walking a commit's tree for `ls` and `cat`: the order is `ostree ls`'s (a directory, then its
// files, then its subdirectories, each by name).

/// One entry of a listed tree.
public struct TreeEntry: Sendable {
    /// Kinds of entry.
    public enum Kind: String, Sendable { case file, symlink, directory }
    /// Absolute path in the tree, `/` for the root.
    public var path: String
    /// The kind.
    public var kind: Kind
    /// Permission bits (without the file type).
    public var mode: UInt32
    /// Owner.
    public var uid: UInt32
    /// Group.
    public var gid: UInt32
    /// Content size (0 for directories and symlinks).
    public var size: UInt64
    /// Content checksum, or the dirtree checksum for a directory.
    public var checksum: Checksum
    /// The dirmeta checksum for a directory.
    public var metaChecksum: Checksum?
    /// The target of a symlink.
    public var symlinkTarget: String?
}

extension Repository {
    /// Finds `path` in a commit's tree; nil when absent.
    public func lookupPath(commit: CommitObject, path: String) throws -> TreeEntry? {
        let comps = path.split(separator: "/").map(String.init).filter { !$0.isEmpty && $0 != "." }
        var tree = commit.rootTree, meta = commit.rootMeta
        var current = "/"
        for (i, c) in comps.enumerated() {
            let t = try loadDirTree(tree)
            let childPath = current == "/" ? "/" + c : current + "/" + c
            if let d = t.dirs.first(where: { sameName($0.name, c) }) {
                tree = d.tree; meta = d.meta; current = childPath
                continue
            }
            if i == comps.count - 1, let f = t.files.first(where: { sameName($0.name, c) }) {
                return try fileEntry(path: childPath, checksum: f.checksum)
            }
            return nil
        }
        return try dirEntry(path: current, tree: tree, meta: meta)
    }

    func fileEntry(path: String, checksum: Checksum) throws -> TreeEntry {
        let info = try contentInfo(checksum)
        return TreeEntry(path: path, kind: info.meta.isSymlink ? .symlink : .file, mode: info.meta.mode & 0o7777,
                         uid: info.meta.uid, gid: info.meta.gid, size: info.size, checksum: checksum,
                         metaChecksum: nil, symlinkTarget: info.meta.isSymlink ? info.meta.symlinkTarget : nil)
    }

    func dirEntry(path: String, tree: Checksum, meta: Checksum) throws -> TreeEntry {
        let m = try loadDirMeta(meta)
        return TreeEntry(path: path, kind: .directory, mode: m.mode & 0o7777, uid: m.uid, gid: m.gid, size: 0,
                         checksum: tree, metaChecksum: meta, symlinkTarget: nil)
    }

    /// Lists `path` of a commit: the entry itself, then (for a directory, unless
    /// `directoryOnly`) its files and subdirectories, descending when `recursive`.
    public func listTree(commit: CommitObject, path: String, recursive: Bool, directoryOnly: Bool = false,
                         visit: (TreeEntry) throws -> Void) throws {
        guard let entry = try lookupPath(commit: commit, path: path) else {
            throw ArborError.notFound("no such path in the tree: \(path)")
        }
        try visit(entry)
        guard entry.kind == .directory, !directoryOnly else { return }
        try listChildren(tree: entry.checksum, path: entry.path, recursive: recursive, visit: visit)
    }

    private func listChildren(tree: Checksum, path: String, recursive: Bool, visit: (TreeEntry) throws -> Void) throws {
        let t = try loadDirTree(tree)
        let prefix = path == "/" ? "/" : path + "/"
        for f in t.files { try visit(try fileEntry(path: prefix + f.name, checksum: f.checksum)) }
        for d in t.dirs {
            try visit(try dirEntry(path: prefix + d.name, tree: d.tree, meta: d.meta))
            if recursive { try listChildren(tree: d.tree, path: prefix + d.name, recursive: true, visit: visit) }
        }
    }
}
