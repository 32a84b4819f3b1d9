// Handing over to the deployment's init.
//
// First, before anything is moved, the new root must have an executable /sbin/init, found as
// the kernel will find it after the switch: inside the new root, with absolute links such as
// `/sbin/init -> /lib/systemd/systemd` resolved against the new root, never the initramfs
// (PathWalk's `.clamp`, chroot's rules). main checks the deployment once before the mounts, so
// that a tree with no init fails with nothing mounted (except under a hotfix /usr overlay, whose
// upper layer may differ from the tree), and it is checked again on the prepared root before
// any move.
//
// `--switch-root` (initramfs mode): after the mounts the new root is at SYSROOT. As busybox's
// switch_root: chdir there, MS_MOVE it onto `/`, chroot("."), exec /sbin/init. Moving onto `/`
// works where pivot_root does not, when `/` is the initramfs rootfs. Like systemd's switch-root,
// the initramfs's /dev, /proc, /sys and /run move into the new root when they are mounts (so
// /run/ostree-booted and the kernel's devtmpfs come along). The initramfs contents are left
// in place (unreachable, their memory not freed).
//
// PID 1 mode: pivot_root has already made the deployment `/`; only the exec remains.
//
// The success line is printed just before execv, once nothing but the exec itself can fail.
#if canImport(Glibc)
import Glibc
#endif

/// The switch into the prepared root and the exec of its init.
enum SwitchRoot {
    /// The init run in the new root.
    static let initPath = "/sbin/init"
    /// The initramfs mounts carried into the new root.
    static let apiFileSystems = ["/dev", "/proc", "/sys", "/run"]

    /// Throws PrepareRootError.noInit unless `root` holds an executable regular file at
    /// /sbin/init, resolved inside `root` (S_ISREG, an execute bit, not on a noexec mount).
    static func checkInit(root: String) throws {
        let found: PathWalk.Resolved
        do {
            found = try PathWalk.resolve(root: Array(root.utf8), path: Array(initPath.utf8), escapes: .clamp)
        } catch {
            switch error {
            case .missing(let path, let code):
                throw PrepareRootError.noInit(root: root, reason: "\(Shown.bytes(path)): \(PrepareRootError.describe(code))")
            case .notDirectory(let path):
                throw PrepareRootError.noInit(root: root, reason: "\(Shown.bytes(path)): \(PrepareRootError.describe(ENOTDIR))")
            case .escapes, .tooManyLinks:
                throw PrepareRootError.noInit(root: root, reason: PrepareRootError.describe(ELOOP))
            }
        }
        let shown = Shown.bytes(found.path)
        guard FileSystem.isRegular(found.info) else {
            throw PrepareRootError.noInit(root: root, reason: "\(shown) is not a regular file")
        }
        guard found.info.st_mode & 0o111 != 0 else {
            throw PrepareRootError.noInit(root: root, reason: "\(shown) is not executable")
        }
        var volume = statvfs()
        let measured = BytePath.withCString(found.path) { statvfs($0, &volume) }
        guard measured == 0 else {
            throw PrepareRootError.noInit(root: root, reason: "\(shown): \(PrepareRootError.describe(errno))")
        }
        // ST_NOEXEC (not imported without _GNU_SOURCE) has MS_NOEXEC's value, as every ST_ flag.
        guard volume.f_flag & UInt(MS_NOEXEC) == 0 else {
            throw PrepareRootError.noInit(root: root, reason: "\(shown) is on a noexec mount")
        }
    }

    /// Makes `newRoot` the root (initramfs mode) and execs its init, logging `line` first.
    /// Returns only by throwing.
    static func switchAndExec(newRoot: String, arguments: [[UInt8]], line: String) throws -> Never {
        try checkInit(root: newRoot)
        try FileSystem.changeDirectory(newRoot)
        for path in apiFileSystems where FileSystem.isMountPoint(path) {
            let target = newRoot + path
            // A mount already there (or no directory for it) stays as the new root has it.
            guard FileSystem.isRealDirectory(target), !FileSystem.isMountPoint(target) else { continue }
            try FileSystem.mount(path, target, flags: UInt(MS_MOVE), what: "cannot move \(path) to")
        }
        try FileSystem.mount(".", "/", flags: UInt(MS_MOVE), what: "cannot move \(newRoot) to")
        guard chroot(".") == 0 else { throw PrepareRootError.systemCall(what: "cannot chroot into", path: newRoot, errno: errno) }
        try FileSystem.changeDirectory("/")
        try exec(arguments: arguments, line: line)
    }

    /// Execs /sbin/init of the current root with `arguments`, logging `line` first. Returns
    /// only by throwing.
    static func exec(arguments: [[UInt8]], line: String) throws -> Never {
        try checkInit(root: "/")
        let argv = [Array(initPath.utf8)] + arguments
        var cArguments: [UnsafeMutablePointer<CChar>?] = argv.map { word in
            let copy = UnsafeMutablePointer<CChar>.allocate(capacity: word.count + 1)
            for (index, byte) in word.enumerated() { copy[index] = CChar(bitPattern: byte) }
            copy[word.count] = 0
            return copy
        }
        cArguments.append(nil)
        Console.log(line)
        execv(initPath, &cArguments)
        let code = errno
        for pointer in cArguments { pointer?.deallocate() }
        throw PrepareRootError.systemCall(what: "cannot exec", path: initPath, errno: code)
    }
}
