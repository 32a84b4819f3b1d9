// Resolving `ostree=` inside the sysroot. ostree-prepare-root calls realpath(3) on
// SYSROOT/ostree=, which follows any link anywhere; here the chain
//
//     ostree/boot.N -> boot.N.M
//     ostree/boot.N.M/OS/BOOTCSUM/SERIAL -> ../../../deploy/OS/deploy/CSUM.SERIAL
//
// is walked by PathWalk, one component at a time on raw bytes, as if SYSROOT were `/` for it
// alone: `..` may never climb above SYSROOT, absolute link targets are refused (bootlinks are
// always relative), and at most 40 links are followed. Link targets may hold any bytes; only
// the deployment the walk ends at must be valid UTF-8 (ostree's names are ASCII), because it is
// mounted and reported as text from then on.
#if canImport(Glibc)
import Glibc
#endif

/// The deployment directory a bootlink resolves to.
struct ResolvedDeployment {
    /// Its path inside the sysroot, e.g. `ostree/deploy/OS/deploy/CSUM.0`.
    var relativePath: String
    /// Its absolute path (SYSROOT joined with `relativePath`).
    var path: String
    /// The stateroot directory, `ostree/deploy/OS`, absolute.
    var stateroot: String
    /// st_dev of the directory (what ostree matches `/` against to find the booted deployment).
    var device: UInt64
    /// st_ino of the directory.
    var inode: UInt64
}

/// Resolution of `ostree=` bootlinks within a sysroot.
enum Bootlink {
    /// `sysroot` joined with the components `parts` (sysroot `/` gives `/a/b`), for fixed
    /// ASCII names.
    static func join(_ sysroot: String, _ parts: [String]) -> String {
        let tail = parts.joined(separator: "/")
        if sysroot == "/" { return "/" + tail }
        return tail.isEmpty ? sysroot : sysroot + "/" + tail
    }

    /// Resolves `target` (the ostree= value) inside the canonical directory `sysroot`.
    static func resolve(sysroot: String, target: String) throws -> ResolvedDeployment {
        let root = Array(sysroot.utf8)
        let value = Array(target.utf8)
        // As ostree: the named path itself must be a symbolic link.
        let named = BytePath.join(root, BytePath.split(value))
        guard let first = BytePath.lstat(named) else {
            throw PrepareRootError.targetMissing(path: Shown.bytes(named), errno: errno)
        }
        guard FileSystem.isSymlink(first) else { throw PrepareRootError.targetNotSymlink(path: Shown.bytes(named)) }

        let resolved: PathWalk.Resolved
        do {
            resolved = try PathWalk.resolve(root: root, path: value, escapes: .refuse)
        } catch {
            switch error {
            case .missing(let path, let code):
                throw PrepareRootError.bootlinkBroken(path: Shown.bytes(path), errno: code)
            case .notDirectory(let path):
                throw PrepareRootError.bootlinkBroken(path: Shown.bytes(path), errno: ENOTDIR)
            case .escapes(let link, let linkTarget):
                throw PrepareRootError.bootlinkEscapes(path: Shown.bytes(link), target: Shown.bytes(linkTarget))
            case .tooManyLinks:
                throw PrepareRootError.tooManySymlinks(path: Shown.bytes(named))
            }
        }
        return try deployment(sysroot: sysroot, resolved: resolved)
    }

    /// Checks that a resolved path is a deployment, `ostree/deploy/OS/deploy/NAME` holding `usr/`.
    static func deployment(sysroot: String, resolved: PathWalk.Resolved) throws -> ResolvedDeployment {
        let components = resolved.components
        let relativeBytes = BytePath.join([], components)
        let shownPath = Shown.bytes(resolved.path)
        let ostree = Array("ostree".utf8), deploy = Array("deploy".utf8)
        guard components.count == 5, components[0] == ostree, components[1] == deploy, components[3] == deploy else {
            throw PrepareRootError.notADeployment(path: shownPath, reason: "expected ostree/deploy/OS/deploy/CHECKSUM.SERIAL, found '\(Shown.bytes(relativeBytes))'")
        }
        guard let relative = BytePath.text(relativeBytes) else {
            throw PrepareRootError.notADeployment(path: shownPath, reason: "its path is not valid UTF-8")
        }
        let path = join(sysroot, [relative])
        let info = resolved.info
        guard FileSystem.isDirectory(info) else {
            throw PrepareRootError.notADeployment(path: path, reason: "not a directory")
        }
        guard FileSystem.isRealDirectory(path + "/usr") else {
            throw PrepareRootError.notADeployment(path: path, reason: "no usr/ directory")
        }
        // A prefix of `relative`, cut at a `/`, so valid UTF-8 as well.
        guard let stateroot = BytePath.text(BytePath.join(Array(sysroot.utf8), Array(components[0..<3]))) else {
            throw PrepareRootError.notADeployment(path: path, reason: "its stateroot path is not valid UTF-8")
        }
        return ResolvedDeployment(relativePath: relative, path: path, stateroot: stateroot,
                                  device: UInt64(info.st_dev), inode: UInt64(info.st_ino))
    }
}
