// The administrator's changes to /etc: a deployment's `etc` against its pristine `usr/etc`, as
// `ostree admin config-diff` reports them (extended attributes ignored, as OSTree's merge ignores them).
#if canImport(Glibc)
import Glibc
#endif
import ArborCore

/// Paths (relative to /etc) that differ between the defaults and the live configuration.
public struct EtcChanges: Sendable, Equatable {
    /// Present in both and different (content, mode, owner, type or symlink target).
    public var modified: [String] = []
    /// In the defaults, deleted from /etc (a deleted directory appears alone).
    public var removed: [String] = []
    /// Only in /etc (an added directory is followed by everything under it).
    public var added: [String] = []

    /// Whether nothing changed.
    public var isEmpty: Bool { modified.isEmpty && removed.isEmpty && added.isEmpty }
}

/// Compares a pristine `usr/etc` with an `etc`, never following symlinks.
public enum EtcDiff {
    /// The changes that turn `pristine` into `current`.
    public static func diff(pristine: FileDescriptor, current: FileDescriptor) throws -> EtcChanges {
        var out = EtcChanges()
        try walk(pristine, current, prefix: "", into: &out)
        return out
    }

    private static func walk(_ a: FileDescriptor, _ b: FileDescriptor, prefix: String, into out: inout EtcChanges) throws {
        let namesA = try a.entries().sorted(), namesB = Set(try b.entries())
        for n in namesA {
            let path = prefix + n
            let sa = try a.stat(n)
            guard let sb = try b.statIfExists(n) else { out.removed.append(path); continue }
            if try FileCopy.differ(a, n, sa, b, n, sb) { out.modified.append(path) }
            if fileType(sa) == S_IFDIR && fileType(sb) == S_IFDIR {
                try walk(try a.openDirectory(n), try b.openDirectory(n), prefix: path + "/", into: &out)
            }
        }
        let setA = Set(namesA)
        for n in namesB.sorted() where !setA.contains(n) {
            out.added.append(prefix + n)
            if fileType(try b.stat(n)) == S_IFDIR { try addAll(try b.openDirectory(n), prefix: prefix + n + "/", into: &out) }
        }
    }

    private static func addAll(_ d: FileDescriptor, prefix: String, into out: inout EtcChanges) throws {
        for n in try d.entries().sorted() {
            out.added.append(prefix + n)
            if fileType(try d.stat(n)) == S_IFDIR { try addAll(try d.openDirectory(n), prefix: prefix + n + "/", into: &out) }
        }
    }
}
