// The mounts of ostree-prepare-root 2022.7 (src/switchroot/ostree-prepare-root.c), in its
// order, with R the canonical sysroot and D the deployment directory:
//
//   1. make `/` recursively private (shared mounts cannot be moved);
//   2. bind D on itself and chdir into it (relative paths below are in D);
//   3. readonly: R must be writable now; create /run/ostree-sysroot-ro.stamp;
//   4. /boot: when R/boot/loader is a symlink and D/boot a directory, bind R/boot on boot;
//      R/boot itself must be a real directory (ostree would follow a link to it anywhere,
//      the initramfs included, and bind that on the new /boot);
//   5. readonly: bind etc on itself, remount it (writable);
//   6. /usr: an overlay when .usr-ovl-work exists (`unlock --hotfix`), else bind usr on
//      itself and remount it read-only. The overlay needs .usr-ovl-work and .usr-ovl-upper
//      to be real directories (links would put the writable layers anywhere), and a writable
//      file system: ostree remounts it writable (MS_REMOUNT, which changes the superblock,
//      so it outlives the unmount of D); here D's mount is made writable first and the
//      superblock only when still needed, which the undo log records, to be made read-only
//      again should this or a later step fail;
//   7. readonly: bind ../../var (the stateroot's) on itself, remount it (writable);
//   8. bind ../../var on var: Arbor does it unless --no-var; Debian's systemd build only when
//      /run/ostree/initramfs-mount-var exists, which --no-var honours the same way;
//   9. write /run/ostree-booted;
//  10. R is not `/`: mkdir /sysroot.tmp (an existing one is an error, as ostree's mkdir
//      makes it; checked before step 1), move D there, move R to its sysroot, move it
//      (cwd) to R, rmdir /sysroot.tmp, and with readonly remount sysroot read-only;
//      R is `/` (PID 1): pivot_root(".", "sysroot");
//  11. make sysroot private.
//
// Arbor's PID 1 mode adds a tmpfs on the deployment's /run (there is no initramfs /run to
// carry the marker over), moves the kernel's /dev into the deployment, and also remounts
// sysroot read-only when configured (no ostree-remount runs after a busybox init).
// A failure before the end undoes every step done (UndoLog).
#if canImport(Glibc)
import Glibc
import CArborPrepareRoot
#endif

/// One run of the mount sequence.
struct MountSequence {
    /// The canonical sysroot path R.
    let sysroot: String
    /// The deployment D.
    let deployment: ResolvedDeployment
    /// Whether the sysroot is to be read-only.
    let readOnly: Bool
    /// Whether to bind the stateroot's var on /var.
    let mountVar: Bool
    /// PID 1 mode (then `sysroot` is `/`).
    let pid1: Bool

    /// The temporary mount point of the deployment during the three moves.
    static let temporarySysroot = "/sysroot.tmp"
    /// ostree's signal to its systemd build that the initramfs should mount /var after all.
    static let initramfsMountVar = "/run/ostree/initramfs-mount-var"

    /// Runs the sequence. On failure every step done is undone before the error is thrown.
    func run() throws {
        var undo = UndoLog()
        do {
            try mountAll(&undo)
            undo.commit()
        } catch {
            undo.rollBack()
            throw error
        }
    }

    /// The deployment path joined with a relative path (`usr`, `boot`...).
    private func inDeployment(_ relative: String) -> String {
        return deployment.path + "/" + relative
    }

    /// Steps 1 to 11.
    private func mountAll(_ undo: inout UndoLog) throws {
        let d = deployment.path
        let writable = try !FileSystem.isOnReadOnlyFileSystem(sysroot)
        if readOnly && !writable { throw PrepareRootError.sysrootNotWritable(path: sysroot) }
        let stateVar = deployment.stateroot + "/var"
        let bindVar = mountVar || FileSystem.lstatIfPresent(Self.initramfsMountVar) != nil
        // Checked before anything is mounted, so that a bad tree fails with nothing to undo.
        if (bindVar || readOnly) && !FileSystem.isRealDirectory(stateVar) {
            throw PrepareRootError.notADeployment(path: d, reason: "its stateroot has no var/ directory")
        }
        if bindVar && !FileSystem.isRealDirectory(inDeployment("var")) {
            throw PrepareRootError.notADeployment(path: d, reason: "no var/ directory")
        }
        if readOnly && !FileSystem.isRealDirectory(inDeployment("etc")) {
            throw PrepareRootError.notADeployment(path: d, reason: "no etc/ directory")
        }
        if !FileSystem.isRealDirectory(inDeployment("sysroot")) {
            throw PrepareRootError.notADeployment(path: d, reason: "no sysroot/ directory")
        }
        if pid1 && !FileSystem.isRealDirectory(inDeployment("run")) {
            throw PrepareRootError.notADeployment(path: d, reason: "no run/ directory")
        }
        let overlay = FileSystem.lstatIfPresent(inDeployment(".usr-ovl-work")) != nil
        if overlay {
            for name in [".usr-ovl-work", ".usr-ovl-upper"] where !FileSystem.isRealDirectory(inDeployment(name)) {
                throw PrepareRootError.unsafeLayout(path: inDeployment(name), reason: "the /usr overlay needs a real directory here")
            }
        }
        let physicalBoot = Bootlink.join(sysroot, ["boot"])
        if let boot = FileSystem.lstatIfPresent(physicalBoot), FileSystem.isSymlink(boot) {
            throw PrepareRootError.unsafeLayout(path: physicalBoot, reason: "a symbolic link, where /boot must be a directory")
        }
        if sysroot != "/" && FileSystem.lstatIfPresent(Self.temporarySysroot) != nil {
            throw PrepareRootError.systemCall(what: "cannot create the temporary mount point", path: Self.temporarySysroot, errno: EEXIST)
        }

        // 1. and 2.
        try FileSystem.mount(nil, "/", flags: UInt(MS_REC | MS_PRIVATE), what: "cannot make private")
        try FileSystem.mount(d, d, flags: UInt(MS_BIND), what: "cannot bind the deployment on")
        undo.record(.unmount(d))
        try FileSystem.changeDirectory(d)

        // Where the markers go: the initramfs's /run, or (PID 1) a new tmpfs on the deployment's.
        let runDirectory: String
        if pid1 {
            try FileSystem.mount("tmpfs", "run", type: "tmpfs", flags: UInt(MS_NOSUID | MS_NODEV), data: "mode=0755", what: "cannot mount a tmpfs on")
            undo.record(.unmount(inDeployment("run")))
            runDirectory = inDeployment("run")
            if FileSystem.isMountPoint("/dev") && FileSystem.isRealDirectory(inDeployment("dev")) {
                try FileSystem.mount("/dev", "dev", flags: UInt(MS_MOVE), what: "cannot move /dev to")
                undo.record(.move(from: inDeployment("dev"), to: "/dev"))
            }
        } else {
            runDirectory = "/run"
            try FileSystem.makeDirectory(runDirectory, mode: 0o755)
        }

        // 3.
        if readOnly {
            let stamp = runDirectory + "/ostree-sysroot-ro.stamp"
            let existed = FileSystem.lstatIfPresent(stamp) != nil
            try FileSystem.touch(stamp, mode: 0o644)
            if !existed { undo.record(.removeFile(stamp)) }
        }

        // 4. (R/boot is not a link: checked above.)
        if FileSystem.isRealDirectory(physicalBoot),
           let loader = FileSystem.lstatIfPresent(Bootlink.join(sysroot, ["boot", "loader"])), FileSystem.isSymlink(loader),
           FileSystem.isRealDirectory("boot") {
            try FileSystem.mount(physicalBoot, "boot", flags: UInt(MS_BIND), what: "cannot bind /boot on")
            undo.record(.unmount(inDeployment("boot")))
        }

        // 5.
        if readOnly {
            try FileSystem.mount("etc", "etc", flags: UInt(MS_BIND), what: "cannot bind")
            undo.record(.unmount(inDeployment("etc")))
            try FileSystem.mount("etc", "etc", flags: UInt(MS_BIND | MS_REMOUNT), what: "cannot make writable")
        }

        // 6.
        if overlay {
            // overlayfs refuses a read-only upper layer; ostree remounts the root writable.
            if try FileSystem.isOnReadOnlyFileSystem(".") {
                // D's own mount first (it goes with D on failure)...
                try FileSystem.mount(".", ".", flags: UInt(MS_BIND | MS_REMOUNT), what: "cannot remount writable (for the /usr overlay)")
            }
            if try FileSystem.isOnReadOnlyFileSystem(".") {
                // ...then the file system itself, which stays writable after D is gone.
                try FileSystem.mount(".", ".", flags: UInt(MS_REMOUNT), what: "cannot remount writable (for the /usr overlay)")
                undo.record(.remountReadOnly(d))
            }
            try FileSystem.mount("overlay", "usr", type: "overlay", flags: 0,
                                 data: "lowerdir=usr,upperdir=.usr-ovl-upper,workdir=.usr-ovl-work", what: "cannot mount the /usr overlay on")
            undo.record(.unmount(inDeployment("usr")))
        } else {
            try FileSystem.mount("usr", "usr", flags: UInt(MS_BIND), what: "cannot bind")
            undo.record(.unmount(inDeployment("usr")))
            try FileSystem.mount("usr", "usr", flags: UInt(MS_BIND | MS_REMOUNT | MS_RDONLY), what: "cannot make read-only")
        }

        // 7.
        if readOnly {
            try FileSystem.mount("../../var", "../../var", flags: UInt(MS_BIND), what: "cannot bind")
            undo.record(.unmount(stateVar))
            try FileSystem.mount("../../var", "../../var", flags: UInt(MS_BIND | MS_REMOUNT), what: "cannot make writable")
        }

        // 8.
        if bindVar {
            try FileSystem.mount("../../var", "var", flags: UInt(MS_BIND), what: "cannot bind the stateroot's var on")
            undo.record(.unmount(inDeployment("var")))
        }

        // 9.
        let marker = runDirectory + "/ostree-booted"
        let markerExisted = FileSystem.lstatIfPresent(marker) != nil
        try BootedMarker.write(runDirectory: runDirectory, deployment: deployment, sysrootReadOnly: readOnly)
        if !markerExisted { undo.record(.removeFile(marker)) }

        // 10.
        if sysroot == "/" {
            guard arbor_pivot_root(".", "sysroot") == 0 else {
                throw PrepareRootError.systemCall(what: "cannot pivot_root to", path: d, errno: errno)
            }
            // Nothing above can be undone once the roots have turned.
            undo.commit()
        } else {
            let temporary = Self.temporarySysroot
            guard mkdir(temporary, 0o755) == 0 else {
                throw PrepareRootError.systemCall(what: "cannot create the temporary mount point", path: temporary, errno: errno)
            }
            undo.record(.removeDirectory(temporary))
            try FileSystem.mount(d, temporary, flags: UInt(MS_MOVE), what: "cannot move the deployment to")
            undo.record(.move(from: temporary, to: d))
            try FileSystem.mount(sysroot, "sysroot", flags: UInt(MS_MOVE), what: "cannot move \(sysroot) to")
            undo.record(.move(from: temporary + "/sysroot", to: sysroot))
            try FileSystem.mount(".", sysroot, flags: UInt(MS_MOVE), what: "cannot move the deployment to")
            undo.record(.move(from: sysroot, to: temporary))
            guard rmdir(temporary) == 0 || errno == ENOENT else {
                throw PrepareRootError.systemCall(what: "cannot remove", path: temporary, errno: errno)
            }
            undo.commit()
        }
        if readOnly && (sysroot != "/" || pid1) {
            try FileSystem.mount("sysroot", "sysroot", flags: UInt(MS_BIND | MS_REMOUNT | MS_RDONLY), what: "cannot make read-only")
        }

        // 11.
        try FileSystem.mount("none", "sysroot", flags: UInt(MS_PRIVATE), what: "cannot make private")
    }
}
