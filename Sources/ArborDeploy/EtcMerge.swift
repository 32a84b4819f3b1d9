// The /etc three-way merge (spec §9): the new deployment's `etc` is a copy of its `usr/etc`, with
// every change the administrator made in the merge deployment (its `etc` against its `usr/etc`)
// applied on top: removals first, then modified and added entries, copied. The administrator's
// version wins when the new defaults changed the same path; each such conflict is reported.
#if canImport(Glibc)
import Glibc
#endif
import ArborCore

/// What the merge did.
public struct EtcMergeResult: Sendable {
    /// The administrator's changes carried over.
    public var changes: EtcChanges
    /// Paths changed both locally and in the new defaults (the local version was kept), with why.
    public var conflicts: [String]

    /// The line `ostree` prints.
    public var summary: String {
        "Copying /etc changes: \(changes.modified.count) modified, \(changes.removed.count) removed, \(changes.added.count) added"
    }
}

/// Builds a new deployment's /etc.
public enum EtcMerge {
    /// Applies the changes from `oldDefaults` to `oldEtc` onto `newEtc` (already a copy of `newDefaults`).
    public static func merge(oldDefaults: FileDescriptor, oldEtc: FileDescriptor,
                             newDefaults: FileDescriptor, newEtc: FileDescriptor) throws -> EtcMergeResult {
        let changes = try EtcDiff.diff(pristine: oldDefaults, current: oldEtc)
        var conflicts: [String] = []

        for path in changes.removed {
            if try defaultsChanged(path, oldDefaults, newDefaults) {
                conflicts.append("/etc/\(path): deleted locally and changed in the new defaults; keeping it deleted")
            }
            if let (parent, leaf) = try? newEtc.parentAndLeaf(path) { try removeTree(parent, leaf) }
        }

        // Entries under a directory copied whole are already there.
        var copiedTrees: [String] = []
        for (path, isAdded) in changes.modified.map({ ($0, false) }) + changes.added.map({ ($0, true) }) {
            if copiedTrees.contains(where: { path.hasPrefix($0 + "/") }) { continue }
            let (srcParent, leaf) = try oldEtc.parentAndLeaf(path)
            let st = try srcParent.stat(leaf)
            let dstParent = try ensureParents(path, from: oldEtc, in: newEtc, conflicts: &conflicts)
            let existing = try dstParent.statIfExists(leaf)
            if fileType(st) != S_IFDIR {
                if try isAdded ? addedDiffersFromNewDefault(path, srcParent, leaf, st, newDefaults) : defaultsChanged(path, oldDefaults, newDefaults) {
                    conflicts.append("/etc/\(path): changed locally and in the new defaults; keeping the local version")
                }
            }
            if fileType(st) == S_IFDIR, let e = existing, fileType(e) == S_IFDIR {
                // Both directories: only the directory's own owner and mode change; its entries follow.
                try FileCopy.applyMetadata(st, to: try dstParent.openDirectory(leaf))
                continue
            }
            if existing != nil {
                if let e = existing, fileType(e) == S_IFDIR, fileType(st) != S_IFDIR {
                    conflicts.append("/etc/\(path): the new defaults have a directory here; replacing it with the local file")
                }
                try removeTree(dstParent, leaf)
            }
            try FileCopy.copy(from: srcParent, leaf, to: dstParent, leaf)
            if fileType(st) == S_IFDIR { copiedTrees.append(path) }
        }
        return EtcMergeResult(changes: changes, conflicts: conflicts)
    }

    /// Opens the parent of `path` in `etc`, creating missing directories like those in `source`.
    private static func ensureParents(_ path: String, from source: FileDescriptor, in etc: FileDescriptor,
                                      conflicts: inout [String]) throws -> FileDescriptor {
        var dst = try etc.openDirectory(".")
        var src = try source.openDirectory(".")
        var sofar = ""
        for comp in pathComponents(path).dropLast() {
            sofar += (sofar.isEmpty ? "" : "/") + comp
            let sst = try src.stat(comp)
            src = try src.openDirectory(comp)
            if let dst0 = try dst.statIfExists(comp), fileType(dst0) == S_IFDIR {
                dst = try dst.openDirectory(comp)
                continue
            }
            if try dst.statIfExists(comp) != nil {
                conflicts.append("/etc/\(sofar): the new defaults have a file here; replacing it with the local directory")
                try removeTree(dst, comp)
            } else {
                conflicts.append("/etc/\(sofar): removed in the new defaults; recreated for local changes below it")
            }
            try dst.mkdir(comp, mode: 0o700)
            let made = try dst.openDirectory(comp)
            try FileCopy.applyMetadata(sst, to: made)
            dst = made
        }
        return dst
    }

    /// Whether the defaults at `path` differ between the old and the new tree (added, removed or changed).
    private static func defaultsChanged(_ path: String, _ oldDefaults: FileDescriptor, _ newDefaults: FileDescriptor) throws -> Bool {
        let a = try? oldDefaults.parentAndLeaf(path), b = try? newDefaults.parentAndLeaf(path)
        let sa = try a.flatMap { try $0.0.statIfExists($0.1) }, sb = try b.flatMap { try $0.0.statIfExists($0.1) }
        switch (sa, sb) {
        case (nil, nil): return false
        case let (x?, y?):
            guard let (pa, la) = a, let (pb, lb) = b else { return false }
            return try FileCopy.differ(pa, la, x, pb, lb, y)
        default: return true
        }
    }

    /// Whether the new defaults also added `path`, differently from the administrator.
    private static func addedDiffersFromNewDefault(_ path: String, _ srcParent: FileDescriptor, _ leaf: String, _ st: stat,
                                                   _ newDefaults: FileDescriptor) throws -> Bool {
        guard let (p, l) = try? newDefaults.parentAndLeaf(path), let nst = try p.statIfExists(l) else { return false }
        return try FileCopy.differ(srcParent, leaf, st, p, l, nst)
    }
}
