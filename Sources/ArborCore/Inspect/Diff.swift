// `diff`: the lines `ostree diff` prints, in its order. Each directory's entries are visited
// files first, then subdirectories, each by name; identical subtrees (same dirtree checksum)
// are skipped without being read.
//   modified  same name and type in both, different content (files) or metadata (directories);
//             a name whose type changed is also "modified"
//   removed   only in A (a directory appears alone)
//   added     only in B (a directory is followed by everything under it)

/// The differences between two trees, each list in `ostree diff` order.
public struct TreeDiff: Sendable {
    /// Paths modified.
    public var modified: [String] = []
    /// Paths removed.
    public var removed: [String] = []
    /// Paths added.
    public var added: [String] = []
}

extension Repository {
    /// Compares the trees of two commits.
    public func diff(_ a: Checksum, _ b: Checksum) throws -> TreeDiff {
        let ca = try loadCommit(a), cb = try loadCommit(b)
        var d = TreeDiff()
        try diffTrees(ca.rootTree, cb.rootTree, path: "/", into: &d)
        return d
    }

    private enum Node { case file(Checksum), dir(tree: Checksum, meta: Checksum) }

    private func entries(_ t: DirTree) -> [(String, Node)] {
        t.files.map { ($0.name, Node.file($0.checksum)) } + t.dirs.map { ($0.name, Node.dir(tree: $0.tree, meta: $0.meta)) }
    }

    private func diffTrees(_ a: Checksum, _ b: Checksum, path: String, into d: inout TreeDiff) throws {
        if a == b { return }
        let ta = try loadDirTree(a), tb = try loadDirTree(b)
        let ea = entries(ta), eb = entries(tb)
        var inB: [EntryName: Node] = [:]
        for (n, node) in eb { inB[EntryName(n)] = node }
        var inA = Set<EntryName>()
        let prefix = path == "/" ? "/" : path + "/"
        for (name, na) in ea {
            inA.insert(EntryName(name))
            let p = prefix + name
            guard let nb = inB[EntryName(name)] else { d.removed.append(p); continue }
            switch (na, nb) {
            case let (.file(x), .file(y)):
                if x != y { d.modified.append(p) }
            case let (.dir(xt, xm), .dir(yt, ym)):
                if xm != ym { d.modified.append(p) }
                try diffTrees(xt, yt, path: p, into: &d)
            default:
                d.modified.append(p)
            }
        }
        for (name, nb) in eb where !inA.contains(EntryName(name)) {
            let p = prefix + name
            d.added.append(p)
            if case let .dir(t, _) = nb { try addAll(t, path: p, into: &d.added) }
        }
    }

    private func addAll(_ tree: Checksum, path: String, into out: inout [String]) throws {
        let t = try loadDirTree(tree)
        for f in t.files { out.append(path + "/" + f.name) }
        for dir in t.dirs {
            out.append(path + "/" + dir.name)
            try addAll(dir.tree, path: path + "/" + dir.name, into: &out)
        }
    }

    /// Object statistics of two commits (`diff --stats`): objects each reaches, and those in both.
    public func diffStats(_ a: Checksum, _ b: Checksum) throws -> (a: Int, b: Int, common: Int, commonSize: UInt64) {
        var sa = Set<ObjectName>(), sb = Set<ObjectName>()
        try reachableObjects(commit: a, into: &sa, tolerateMissing: true)
        try reachableObjects(commit: b, into: &sb, tolerateMissing: true)
        sa = sa.filter { $0.type != .commitMeta }
        sb = sb.filter { $0.type != .commitMeta }
        let common = sa.intersection(sb)
        return (sa.count, sb.count, common.count, common.reduce(0) { $0 + objectSize($1) })
    }
}
