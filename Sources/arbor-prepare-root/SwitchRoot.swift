// Handing over to the deployment's init.
//
// `--switch-root` (initramfs mode): after the mounts the new root is at SYSROOT. As busybox's
// switch_root: chdir there, MS_MOVE it onto `/`, chroot("."), exec /sbin/init. Moving onto `/`
// works where pivot_root does not, when `/` is the initramfs rootfs. Like systemd's switch-root,
// the initramfs's /dev, /proc, /sys and /run move into the new root when they are mounts (so
// /run/ostree-booted and the kernel's devtmpfs come along). The initramfs contents are left
// in place (unreachable, their memory not freed).
//
// PID 1 mode: pivot_root has already made the deployment `/`; only the exec remains.
#if canImport(Glibc)
import Glibc
#endif

/// The switch into the prepared root and the exec of its init.
enum SwitchRoot {
    /// The init run in the new root.
    static let initPath = "/sbin/init"
    /// The initramfs mounts carried into the new root.
    static let apiFileSystems = ["/dev", "/proc", "/sys", "/run"]

    /// Makes `newRoot` the root (initramfs mode) and execs its init. Returns only by throwing.
    static func switchAndExec(newRoot: String, arguments: [String]) throws -> Never {
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
        try exec(arguments: arguments)
    }

    /// Execs /sbin/init of the current root with `arguments`. Returns only by throwing.
    static func exec(arguments: [String]) throws -> Never {
        guard access(initPath, X_OK) == 0 else {
            throw PrepareRootError.systemCall(what: "no executable init at", path: initPath, errno: errno)
        }
        let argv = [initPath] + arguments
        var cArguments: [UnsafeMutablePointer<CChar>?] = argv.map { strdup($0) }
        cArguments.append(nil)
        execv(initPath, &cArguments)
        let code = errno
        for pointer in cArguments { free(pointer) }
        throw PrepareRootError.systemCall(what: "cannot exec", path: initPath, errno: code)
    }
}
