// `pull-local`: the same as pull, from a repository on this machine in any mode. Objects are
// read through the source's own store (verified as they are read) and written in this
// repository's mode; the commit is partial until everything is there.
import ArborCore
import Dispatch

extension Repository {
    /// Pulls refs (all local refs of `source` when `refs` is empty) from another repository.
    public func pullLocal(from source: Repository, refs: [String], depth: Int = 0, mirror: Bool = true) throws -> PullReport {
        let start = monotonicSeconds()
        var report = PullReport()
        let names = refs.isEmpty ? try source.listRefs().filter { !$0.name.contains(":") }.map(\.name) : refs
        guard !names.isEmpty else { throw ArborError.notFound("\(source.path) has no refs") }
        var wanted: [(String, Checksum)] = []
        for r in names {
            guard let c = try source.resolveRef(r) else { throw ArborError.notFound("\(source.path) has no ref \(r)") }
            wanted.append((r, c))
        }
        // Commits to copy: each ref's commit and `depth` ancestors present in the source.
        var commits: [Checksum] = []
        for (_, c) in wanted {
            var next: Checksum? = c
            var left = depth
            while let cur = next, source.hasObject(cur, .commit) {
                if !commits.contains(cur) { commits.append(cur) }
                if left == 0 { break }
                left -= 1
                next = try source.loadCommit(cur).parent
            }
        }
        let txn = try Transaction(self)
        do {
            var content: [Checksum] = []
            var seen = Set<ObjectName>()
            for c in commits where !(hasObject(c, .commit) && !isPartial(c)) {
                let bytes = try source.readMetadata(c, .commit)
                let commit = try CommitObject.parse(bytes, name: ObjectName(c, .commit).description)
                try markPartial(c)
                try txn.writeMetadata(.commit, bytes, named: c)
                if source.hasObject(c, .commitMeta) {
                    try txn.writeMetadata(.commitMeta, try source.readMetadata(c, .commitMeta), named: c)
                }
                report.objects += 1
                func copyMeta(_ m: Checksum) throws {
                    guard seen.insert(ObjectName(m, .dirMeta)).inserted, !txn.has(m, .dirMeta) else { return }
                    try txn.writeMetadata(.dirMeta, try source.readMetadata(m, .dirMeta), named: m)
                    report.objects += 1
                }
                func walk(_ t: Checksum) throws {
                    guard seen.insert(ObjectName(t, .dirTree)).inserted else { return }
                    let tree: DirTree
                    if txn.has(t, .dirTree) {
                        tree = try loadDirTreeStagedOrStored(t, source: source)
                    } else {
                        let bytes = try source.readMetadata(t, .dirTree)
                        tree = try DirTree.parse(bytes, name: ObjectName(t, .dirTree).description)
                        try txn.writeMetadata(.dirTree, bytes, named: t)
                        report.objects += 1
                    }
                    for f in tree.files where seen.insert(ObjectName(f.checksum, .file)).inserted && !txn.has(f.checksum, .file) {
                        content.append(f.checksum)
                    }
                    for d in tree.dirs {
                        try copyMeta(d.meta)
                        try walk(d.tree)
                    }
                }
                try copyMeta(commit.rootMeta)
                try walk(commit.rootTree)
            }
            // Content on every core; each object is verified as it is read from the source.
            let mutex = Mutex()
            var firstError: Error?
            let workers = 2
            DispatchQueue.concurrentPerform(iterations: workers) { w in
                var i = w
                while i < content.count {
                    if mutex.withLock({ firstError != nil }) { return }
                    let c = content[i]
                    do {
                        let info = try source.contentInfo(c)
                        let stored: Checksum
                        if info.meta.isSymlink {
                            stored = try txn.writeSymlink(meta: info.meta)
                        } else {
                            stored = try txn.writeRegularFile(meta: info.meta, size: info.size) { sink in
                                try withoutActuallyEscaping(sink) { s in _ = try source.readContent(c, verify: false, sink: s) }
                            }
                        }
                        guard stored == c else {
                            throw ArborError.corruptObject(name: ObjectName(c, .file).description, reason: "checksum mismatch in \(source.path)")
                        }
                    } catch {
                        mutex.withLock { if firstError == nil { firstError = error } }
                    }
                    i += workers
                }
            }
            report.objects += content.count
            try txn.commit()
            if let e = firstError { throw e }
        } catch {
            txn.abort()
            throw error
        }
        for c in commits { try clearPartial(c) }
        for (r, c) in wanted {
            let local = mirror ? r : r
            let old = try? resolveRef(local)
            if old != c { try setRef(local, to: c) }
            report.refs.append((local, c, old != c))
        }
        report.seconds = monotonicSeconds() - start
        return report
    }

    private func loadDirTreeStagedOrStored(_ t: Checksum, source: Repository) throws -> DirTree {
        if hasObject(t, .dirTree) { return try loadDirTree(t) }
        return try source.loadDirTree(t)
    }
}
