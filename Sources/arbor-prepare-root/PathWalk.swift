// Resolving a path inside a directory taken as `/` for it alone, one component at a time with
// lstat and readlink, on raw bytes (BytePath). Nothing here lets the kernel follow a link: each
// link's target is read and walked by this loop, so where a path leads is decided here, not by
// whatever the kernel would find on the way. Two rules for links that would leave the root:
//
// * `.refuse` (bootlinks, the repository config): an absolute target, or a `..` above the
//   root, is an error. Bootlinks are always relative, and so is anything ostree writes.
// * `.clamp` (the new root's /sbin/init): as after chroot(2), or openat2's RESOLVE_IN_ROOT, an
//   absolute target starts again at the root and `..` at the root stays there, so
//   `/sbin/init -> /lib/systemd/systemd` is found in the new root, never in the initramfs.
//
// At most 40 links are followed (Linux's MAXSYMLINKS), so a loop ends at once. The walk is a
// loop over a stack of pending components, never a recursion.
#if canImport(Glibc)
import Glibc
#endif

/// Confined resolution of a path inside a root directory.
enum PathWalk {
    /// What to do with a link that leads above the root.
    enum Escapes {
        /// Fail with `.escapes`.
        case refuse
        /// Stay at the root, as chroot(2) does.
        case clamp
    }

    /// Why a walk stopped.
    enum Failure: Error {
        /// `path` is missing or could not be read (errno).
        case missing(path: [UInt8], errno: Int32)
        /// `path` is not a directory but more components follow it.
        case notDirectory(path: [UInt8])
        /// The link at `link` (or the walked path itself) leads above the root with `target`.
        case escapes(link: [UInt8], target: [UInt8])
        /// More than `maxLinks` links.
        case tooManyLinks
    }

    /// Where a walk ended.
    struct Resolved {
        /// The components below the root, none of them `.`, `..` or a link.
        var components: [[UInt8]]
        /// The root joined with `components`.
        var path: [UInt8]
        /// lstat of `path` (never a symbolic link).
        var info: stat
    }

    /// The most symbolic links followed for one resolution (Linux's MAXSYMLINKS).
    static let maxLinks = 40

    /// Resolves `path` (absolute or not, it is taken relative to `root`) inside `root`,
    /// following every link, the last component's included.
    static func resolve(root: [UInt8], path: [UInt8], escapes: Escapes) throws(Failure) -> Resolved {
        // `pending` is a stack: the next component to look at is last.
        var pending = Array(BytePath.split(path).reversed())
        var resolved: [[UInt8]] = []
        var links = 0
        // The last link read, named in the error when a `..` climbs out.
        var lastLink = (path: BytePath.join(root, BytePath.split(path)), target: path)
        while let component = pending.popLast() {
            if component == BytePath.dot { continue }
            if component == BytePath.dotDot {
                if resolved.isEmpty {
                    if escapes == .refuse { throw .escapes(link: lastLink.path, target: lastLink.target) }
                } else {
                    resolved.removeLast()
                }
                continue
            }
            let current = BytePath.join(root, resolved + [component])
            guard let info = BytePath.lstat(current) else { throw .missing(path: current, errno: errno) }
            if FileSystem.isSymlink(info) {
                links += 1
                guard links <= maxLinks else { throw .tooManyLinks }
                guard let target = BytePath.readlink(current) else { throw .missing(path: current, errno: errno) }
                guard !target.isEmpty else { throw .missing(path: current, errno: ENOENT) }
                if BytePath.isAbsolute(target) {
                    if escapes == .refuse { throw .escapes(link: current, target: target) }
                    resolved.removeAll()
                }
                // A `..` that climbs above the root is caught when it is reached.
                lastLink = (current, target)
                pending.append(contentsOf: BytePath.split(target).reversed())
                continue
            }
            if !pending.isEmpty && !FileSystem.isDirectory(info) { throw .notDirectory(path: current) }
            resolved.append(component)
        }
        let final = BytePath.join(root, resolved)
        guard let info = BytePath.lstat(final) else { throw .missing(path: final, errno: errno) }
        return Resolved(components: resolved, path: final, info: info)
    }
}
