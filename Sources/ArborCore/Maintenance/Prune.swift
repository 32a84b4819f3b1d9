// `prune`: mark what the roots reach, sweep the rest, under the exclusive repository lock so that
// no concurrent commit or pull (which hold it shared) can lose an object it just wrote.
// Roots, as `ostree prune`: every commit in the repository, or with `refsOnly` only the refs
// (local, remote, and the per-deployment refs a sysroot keeps under refs/heads/ostree/) and
// their ancestors up to `depth`. Commits younger than `keepYoungerThan` are always kept.
#if canImport(Glibc)
import Glibc
#endif

/// Options of `prune`.
public struct PruneOptions: Sendable {
    /// Only refs (and their ancestry) are roots.
    public var refsOnly = false
    /// How many parents to follow from each root; nil for all.
    public var depth: Int?
    /// Commits older than this (seconds since the epoch) are deleted, except those refs name.
    public var keepYoungerThan: UInt64?
    /// Report only; delete nothing.
    public var dryRun = false
    /// Creates default options.
    public init() {}
}

/// What `prune` found and did.
public struct PruneReport: Sendable {
    /// Objects in the repository before pruning.
    public var totalObjects = 0
    /// Objects unreachable (deleted unless a dry run).
    public var unreachable: [ObjectName] = []
    /// Bytes those objects take.
    public var bytes: UInt64 = 0
    /// Whether anything was deleted.
    public var deleted = false
}

extension Repository {
    /// Deletes every object the roots do not reach.
    public func prune(_ options: PruneOptions) throws -> PruneReport {
        let lock = try lock(.exclusive)
        defer { lock?.release() }
        let (objects, _) = try listObjects()
        var report = PruneReport()
        report.totalObjects = objects.count
        let commits = objects.filter { $0.type == .commit }.map(\.checksum)

        // --keep-younger-than: commits older than the date are deleted, except the ref tips.
        let refTips = try listRefs().map(\.checksum)
        var expired = Set<Checksum>()
        if let keep = options.keepYoungerThan {
            let tips = Set(refTips)
            for tip in tips {
                var next: Checksum? = tip
                var seen = Set<Checksum>()
                while let c = next, seen.insert(c).inserted, let commit = try? loadCommit(c) {
                    if !tips.contains(c) && commit.timestamp < keep { expired.insert(c) }
                    next = commit.parent
                }
            }
        }
        // As `ostree`: with an age limit only refs keep objects alive.
        let refRooted = options.refsOnly || options.keepYoungerThan != nil
        let roots = (refRooted ? refTips : commits).filter { !expired.contains($0) }
        var reachable = Set<ObjectName>()
        var seenCommits = Set<Checksum>()
        for root in roots {
            var next: Checksum? = root
            var level = 0
            while let c = next, hasObject(c, .commit), !expired.contains(c) {
                if !seenCommits.insert(c).inserted { break }
                try reachableObjects(commit: c, into: &reachable, tolerateMissing: isPartial(c))
                if let d = options.depth, level >= d { break }
                // Without refsOnly every commit is a root anyway; ancestry matters with refs.
                next = refRooted ? try loadCommit(c).parent : nil
                level += 1
            }
        }
        for o in objects where !reachable.contains(o) {
            // Detached metadata lives and dies with its commit.
            if o.type == .commitMeta && reachable.contains(ObjectName(o.checksum, .commit)) { continue }
            if o.type == .tombstoneCommit { continue }
            report.unreachable.append(o)
            report.bytes += objectSize(o)
        }
        if !options.dryRun && !report.unreachable.isEmpty {
            // Commits first, so that no remaining commit ever names a deleted object.
            let ordered = report.unreachable.sorted { order($0.type) < order($1.type) }
            for o in ordered {
                let (d, n) = looseName(o.checksum, o.type)
                try objectsDir.unlink("\(d)/\(n)")
                if o.type == .commit { try dir.unlink("state/\(o.checksum.hex).commitpartial") }
            }
            try objectsDir.syncfs()
            report.deleted = true
        }
        return report
    }

    private func order(_ t: ObjectType) -> Int {
        switch t {
        case .commit: return 0
        case .commitMeta: return 1
        case .dirTree: return 2
        case .dirMeta: return 3
        default: return 4
        }
    }
}
