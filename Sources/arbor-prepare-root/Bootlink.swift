// Resolving `ostree=` inside the sysroot. ostree-prepare-root calls realpath(3) on
// SYSROOT/ostree=, which follows any link anywhere; here the chain
//
//     ostree/boot.N -> boot.N.M
//     ostree/boot.N.M/OS/BOOTCSUM/SERIAL -> ../../../deploy/OS/deploy/CSUM.SERIAL
//
// is walked one component at a time with lstat/readlink, as if SYSROOT were `/` for it alone:
// `..` may never climb above SYSROOT, absolute link targets are refused (bootlinks are always
// relative), and at most 40 links are followed (the kernel's limit), so a loop ends at once.
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
    /// The most symbolic links followed for one resolution (Linux's MAXSYMLINKS).
    static let maxLinks = 40

    /// `sysroot` joined with the components `parts` (sysroot `/` gives `/a/b`).
    static func join(_ sysroot: String, _ parts: [String]) -> String {
        let tail = parts.joined(separator: "/")
        if sysroot == "/" { return "/" + tail }
        return tail.isEmpty ? sysroot : sysroot + "/" + tail
    }

    /// Resolves `target` (the ostree= value) inside the canonical directory `sysroot`.
    static func resolve(sysroot: String, target: String) throws -> ResolvedDeployment {
        // As ostree: the named path itself must be a symbolic link.
        let named = join(sysroot, split(target))
        guard let first = FileSystem.lstatIfPresent(named) else {
            throw PrepareRootError.targetMissing(path: named, errno: errno)
        }
        guard FileSystem.isSymlink(first) else { throw PrepareRootError.targetNotSymlink(path: named) }

        // `pending` is a stack: the next component to look at is last.
        var pending = Array(split(target).reversed())
        var resolved: [String] = []
        var links = 0
        // The last link read, named in the error when a `..` climbs out.
        var lastLink = (path: named, target: target)
        while let component = pending.popLast() {
            if component == "." { continue }
            if component == ".." {
                guard !resolved.isEmpty else {
                    throw PrepareRootError.bootlinkEscapes(path: lastLink.path, target: lastLink.target)
                }
                resolved.removeLast()
                continue
            }
            let path = join(sysroot, resolved + [component])
            guard let info = FileSystem.lstatIfPresent(path) else {
                throw PrepareRootError.bootlinkBroken(path: path, errno: errno)
            }
            if FileSystem.isSymlink(info) {
                links += 1
                guard links <= maxLinks else { throw PrepareRootError.tooManySymlinks(path: named) }
                let linkTarget = try FileSystem.readlink(path)
                guard !linkTarget.isEmpty else { throw PrepareRootError.bootlinkBroken(path: path, errno: ENOENT) }
                guard !linkTarget.hasPrefix("/") else {
                    throw PrepareRootError.bootlinkEscapes(path: path, target: linkTarget)
                }
                // A `..` that climbs above the sysroot is caught when it is reached.
                lastLink = (path, linkTarget)
                pending.append(contentsOf: split(linkTarget).reversed())
                continue
            }
            if !FileSystem.isDirectory(info) && !pending.isEmpty {
                throw PrepareRootError.bootlinkBroken(path: path, errno: ENOTDIR)
            }
            resolved.append(component)
        }
        return try deployment(sysroot: sysroot, components: resolved)
    }

    /// Checks that a resolved path is a deployment, `ostree/deploy/OS/deploy/NAME` holding `usr/`.
    static func deployment(sysroot: String, components: [String]) throws -> ResolvedDeployment {
        let path = join(sysroot, components)
        let relative = components.joined(separator: "/")
        guard components.count == 5, components[0] == "ostree", components[1] == "deploy", components[3] == "deploy" else {
            throw PrepareRootError.notADeployment(path: path, reason: "expected ostree/deploy/OS/deploy/CHECKSUM.SERIAL, found '\(relative)'")
        }
        guard let info = FileSystem.lstatIfPresent(path), FileSystem.isDirectory(info) else {
            throw PrepareRootError.notADeployment(path: path, reason: "not a directory")
        }
        guard FileSystem.isRealDirectory(path + "/usr") else {
            throw PrepareRootError.notADeployment(path: path, reason: "no usr/ directory")
        }
        return ResolvedDeployment(relativePath: relative, path: path, stateroot: join(sysroot, Array(components[0..<3])),
                                  device: UInt64(info.st_dev), inode: UInt64(info.st_ino))
    }

    /// The non-empty components of a path (`a//b/` gives `a`, `b`).
    static func split(_ path: String) -> [String] {
        return path.split(separator: "/", omittingEmptySubsequences: true).map(String.init)
    }
}
