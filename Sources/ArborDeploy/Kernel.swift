// The kernel of a tree (spec §9): `usr/lib/modules/KVER/vmlinuz`, with `initramfs.img` and
// `devicetree` beside it when present. The boot checksum is SHA-256 over their bytes in that order;
// they are installed as `boot/ostree/STATEROOT-BOOTCSUM/{vmlinuz,initramfs,devicetree}-KVER[.img]`.
#if canImport(Glibc)
import Glibc
#endif
import ArborCore

/// The kernel, initramfs and devicetree a commit boots with.
public struct KernelLayout: Sendable {
    /// The module directory name (kernel version).
    public var version: String
    /// The `vmlinuz` content object.
    public var kernel: Checksum
    /// The `initramfs.img` content object, if any.
    public var initramfs: Checksum?
    /// The `devicetree` content object, if any.
    public var devicetree: Checksum?
    /// SHA-256 (hex) over the kernel, initramfs and devicetree bytes.
    public var bootChecksum: String
    /// Total bytes the files take in /boot.
    public var size: UInt64

    /// The kernel's name in /boot.
    public var kernelName: String { "vmlinuz-\(version)" }
    /// The initramfs's name in /boot.
    public var initramfsName: String { "initramfs-\(version).img" }
    /// The devicetree's name in /boot.
    public var devicetreeName: String { "devicetree-\(version)" }

    /// The directory under `boot/ostree/` for this kernel.
    public func bootDirectoryName(stateroot: String) -> String { "\(stateroot)-\(bootChecksum)" }

    /// Finds the kernel in a commit; nil when the tree has none.
    public static func find(repo: Repository, commit: Checksum) throws -> KernelLayout? {
        let c = try repo.loadCommit(commit)
        guard let modules = try repo.lookupPath(commit: c, path: "usr/lib/modules"), modules.kind == .directory else { return nil }
        for dir in try repo.loadDirTree(modules.checksum).dirs {
            let files = try repo.loadDirTree(dir.tree).files
            func regular(_ name: String) throws -> (Checksum, UInt64)? {
                guard let f = files.first(where: { sameName($0.name, name) }) else { return nil }
                let info = try repo.contentInfo(f.checksum)
                return info.meta.isRegular ? (f.checksum, info.size) : nil
            }
            guard let (kernel, kernelSize) = try regular("vmlinuz") else { continue }
            let initramfs = try regular("initramfs.img"), devicetree = try regular("devicetree")
            let hasher = SHA256Hasher()
            var size: UInt64 = 0
            for (sum, n) in [(kernel, kernelSize), initramfs, devicetree].compactMap({ $0 }) {
                try repo.readContent(sum, verify: true) { hasher.update($0) }
                size += n
            }
            return KernelLayout(version: dir.name, kernel: kernel, initramfs: initramfs?.0, devicetree: devicetree?.0,
                                bootChecksum: hasher.finalize().hex, size: size)
        }
        return nil
    }

    /// Fails when /boot lacks room for these files (unless they are already installed).
    func checkSpace(boot: FileDescriptor, stateroot: String) throws {
        if (try? boot.openDirectoryPathIfExists("ostree/\(bootDirectoryName(stateroot: stateroot))")) != nil { return }
        var free: UInt64
        #if DEBUG
        let simulated = getenv("ARBOR_TEST_BOOT_FREE_BYTES").flatMap { UInt64(String(cString: $0)) }  // a full /boot, in tests
        #else
        let simulated: UInt64? = nil
        #endif
        if let n = simulated {
            free = n
        } else {
            var vfs = statvfs()
            guard fstatvfs(boot.raw, &vfs) == 0 else { throw ArborError.errno("statvfs", boot.path) }
            free = UInt64(vfs.f_bavail) * UInt64(vfs.f_frsize)
        }
        // A little headroom for the entries and directories written alongside.
        let needed = size + 64 * 1024
        if free < needed {
            throw ArborError.invalidArgument("not enough space in \(boot.path) for the kernel and initramfs: need \(needed) bytes, \(free) free")
        }
    }

    /// Installs the files into `boot/ostree/STATEROOT-BOOTCSUM/` (hardlinked from the repository
    /// when it shares the filesystem, as `ostree` does, else copied), unless already there.
    func install(repo: Repository, boot: FileDescriptor, stateroot: String) throws {
        let parent = try boot.mkdirs("ostree", mode: 0o755)
        let name = bootDirectoryName(stateroot: stateroot)
        if let st = try parent.statIfExists(name), fileType(st) == S_IFDIR { return }
        // Built under a temporary name and renamed, so the directory is complete or absent.
        let tmp = ".tmp-\(name)-\(randomSuffix())"
        try parent.mkdir(tmp, mode: 0o755)
        do {
            let dir = try parent.openDirectory(tmp)
            for (sum, file) in [(kernel, kernelName), initramfs.map { ($0, initramfsName) }, devicetree.map { ($0, devicetreeName) }]
                .compactMap({ $0 }) as [(Checksum, String)] {
                try installFile(repo: repo, sum, as: file, in: dir)
            }
            try dir.fsync()
            if try !parent.renameNoReplace(tmp, to: parent, name) { try removeTree(parent, tmp) }
            try parent.fsync()
        } catch {
            try? removeTree(parent, tmp)
            throw error
        }
    }

    private func installFile(repo: Repository, _ sum: Checksum, as name: String, in dir: FileDescriptor) throws {
        if repo.mode == .bare || repo.mode == .bareUserOnly {
            let (d, n) = repo.looseName(sum, .file)
            if linkat(repo.objectsDir.raw, "\(d)/\(n)", dir.raw, name, 0) == 0 { return }
        }
        let fd = try dir.openat(name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW, mode: 0o644)
        try repo.readContent(sum, verify: true) { try fd.writeAll($0) }
        if fchmod(fd.raw, 0o644) != 0 { throw ArborError.errno("chmod", fd.path) }
        try fd.fsync()
    }
}
