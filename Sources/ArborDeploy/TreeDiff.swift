// Counting what changed between two commits (for `admin upgrade`'s summary): dirtrees with equal
// checksums are skipped whole, so the walk touches only what differs.
import ArborCore

/// Files and directories changed between two commits.
public struct TreeDiffSummary: Sendable, Equatable {
    /// Entries present in both with different content or metadata.
    public var modified = 0
    /// Entries only in the new commit (everything under an added directory counts).
    public var added = 0
    /// Entries only in the old commit (everything under a removed directory counts).
    public var removed = 0

    /// `N modified, N added, N removed`.
    public var description: String { "\(modified) modified, \(added) added, \(removed) removed" }

    /// Compares the trees of two commits.
    public static func between(_ repo: Repository, _ old: Checksum, _ new: Checksum) throws -> TreeDiffSummary {
        let a = try repo.loadCommit(old), b = try repo.loadCommit(new)
        var s = TreeDiffSummary()
        if a.rootMeta != b.rootMeta { s.modified += 1 }
        try s.walk(repo, a.rootTree, b.rootTree)
        return s
    }

    private mutating func walk(_ repo: Repository, _ ta: Checksum, _ tb: Checksum) throws {
        if ta == tb { return }
        let a = try repo.loadDirTree(ta), b = try repo.loadDirTree(tb)
        var filesB: [EntryName: Checksum] = [:]
        for f in b.files { filesB[EntryName(f.name)] = f.checksum }
        var dirsB: [EntryName: DirTree.Dir] = [:]
        for d in b.dirs { dirsB[EntryName(d.name)] = d }
        for f in a.files {
            if let cb = filesB.removeValue(forKey: EntryName(f.name)) {
                if cb != f.checksum { modified += 1 }
            } else if let d = dirsB.removeValue(forKey: EntryName(f.name)) {
                removed += 1
                added += 1 + (try Self.count(repo, d.tree))
            } else {
                removed += 1
            }
        }
        for d in a.dirs {
            if let db = dirsB.removeValue(forKey: EntryName(d.name)) {
                if db.meta != d.meta { modified += 1 }
                try walk(repo, d.tree, db.tree)
            } else {
                removed += 1 + (try Self.count(repo, d.tree))
                if filesB.removeValue(forKey: EntryName(d.name)) != nil { added += 1 }
            }
        }
        added += filesB.count
        for d in dirsB.values { added += 1 + (try Self.count(repo, d.tree)) }
    }

    private static func count(_ repo: Repository, _ tree: Checksum) throws -> Int {
        let t = try repo.loadDirTree(tree)
        var n = t.files.count + t.dirs.count
        for d in t.dirs { n += try count(repo, d.tree) }
        return n
    }
}
