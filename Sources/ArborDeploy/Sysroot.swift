// A sysroot (spec §9): `boot/`, `ostree/repo` (bare), `ostree/deploy/STATEROOT/{deploy,var}` and
// the top-level directories `ostree admin init-fs` creates. Every path below the sysroot is
// opened relative to its directory descriptor, one component at a time, without following symlinks.
#if canImport(Glibc)
import Glibc
#endif
import ArborCore
import CArborSystem

/// An OSTree-layout system root.
public final class Sysroot: @unchecked Sendable {
    /// The path it was opened with.
    public let path: String
    /// The sysroot directory.
    public let dir: FileDescriptor
    /// The directory holding `boot/`: the sysroot, except in a booted system, where `/boot` is
    /// what the boot loader reads (a partition of its own, or the sysroot's bound there) while
    /// `/sysroot/boot` may be an empty mount point.
    let bootParent: FileDescriptor

    /// The directories `init-fs` creates, with their modes (as `ostree admin init-fs`).
    static let topLevelDirectories: [(String, mode_t)] = [
        ("boot", 0o755), ("dev", 0o755), ("home", 0o755), ("proc", 0o755), ("run", 0o755),
        ("sys", 0o755), ("root", 0o700), ("tmp", 0o1777), ("ostree", 0o755),
    ]

    /// Opens an existing sysroot (it must hold `ostree/`).
    public init(path: String) throws {
        self.path = path
        // On a booted system `/` is a deployment whose `/ostree` links to the physical root, /sysroot.
        var p = path
        if path == "/", let st = try? FileDescriptor.cwd.statIfExists("/ostree"), fileType(st) == S_IFLNK {
            p = "/sysroot"
            // `[sysroot] readonly`: prepare-root mounted /sysroot read-only. Like ostree, write
            // through a private mount namespace where it is read-write (root only; elsewhere
            // writes fail with a clear read-only error).
            var vfs = statvfs()
            if statvfs(p, &vfs) == 0, vfs.f_flag & UInt(ST_RDONLY) != 0, geteuid() == 0 {
                _ = arbor_remount_rw_private(p)
            }
        }
        do { dir = try openDirectory(path: p) } catch {
            throw ArborError.notFound("sysroot \(path) cannot be opened: \(error)")
        }
        if p == "/sysroot", let root = try? openDirectory(path: "/"), (try? root.statIfExists("boot/loader")) ?? nil != nil {
            bootParent = root
        } else {
            bootParent = dir
        }
        guard let st = try dir.statIfExists("ostree"), fileType(st) == S_IFDIR else {
            throw ArborError.invalidArgument("\(path) is not a sysroot (no ostree/ directory; see 'arbor admin init-fs')")
        }
    }

    /// Creates the layout of an empty sysroot at `path` (like `ostree admin init-fs`) and opens it.
    @discardableResult
    public static func initFilesystem(path: String) throws -> Sysroot {
        if mkdir(path, 0o755) != 0 && errno != EEXIST { throw ArborError.errno("mkdir", path) }
        let root = try openDirectory(path: path)
        for (name, mode) in topLevelDirectories {
            if try root.mkdir(name, mode: mode) {
                // mkdir applies the umask; the layout wants exact modes (tmp is 1777).
                if fchmodat(root.raw, name, mode, 0) != 0 { throw ArborError.errno("chmod", root.join(name)) }
            }
        }
        let ostree = try root.openDirectory("ostree")
        try ostree.mkdir("deploy", mode: 0o755)
        if let st = try ostree.statIfExists("repo"), fileType(st) != S_IFDIR {
            throw ArborError.invalidArgument("\(ostree.join("repo")) exists and is not a directory")
        }
        let repo = try Repository.create(path: ostree.join("repo"), mode: .bare)
        try repo.dir.mkdirs("tmp/cache", mode: 0o755)
        return try Sysroot(path: path)
    }

    /// Creates a stateroot's directories (like `ostree admin os-init`): `ostree/deploy/NAME/var`
    /// with `lib`, `log`, `tmp` (1777) and the `lock` and `run` symlinks.
    public func initStateroot(_ name: String) throws {
        guard Deployment.isValidStateroot(name) else { throw ArborError.invalidArgument("invalid stateroot name '\(name)'") }
        let deploy = try dir.openDirectory("ostree").mkdirs("deploy", mode: 0o755)
        try deploy.mkdir(name, mode: 0o755)
        let os = try deploy.openDirectory(name)
        try os.mkdir("var", mode: 0o755)
        let v = try os.openDirectory("var")
        for (d, mode) in [("lib", mode_t(0o755)), ("log", 0o755), ("tmp", 0o1777)] where try v.mkdir(d, mode: mode) {
            if fchmodat(v.raw, d, mode, 0) != 0 { throw ArborError.errno("chmod", v.join(d)) }
        }
        for (link, target) in [("lock", "../run/lock"), ("run", "../run")] where !v.exists(link) {
            try v.symlink(target, link)
        }
    }

    /// The stateroots present under `ostree/deploy`.
    public func stateroots() throws -> [String] {
        guard let deploy = try dir.openDirectoryPathIfExists("ostree/deploy") else { return [] }
        return try deploy.entries().filter { n in
            Deployment.isValidStateroot(n) && (try? deploy.statIfExists(n)).flatMap { $0 }.map { fileType($0) == S_IFDIR } == true
        }.sorted()
    }

    /// Opens the system repository `ostree/repo`.
    public func repository() throws -> Repository {
        let ostree = try dir.openDirectory("ostree")
        guard let st = try ostree.statIfExists("repo"), fileType(st) == S_IFDIR else {
            throw ArborError.invalidArgument("\(ostree.join("repo")) is missing or not a directory")
        }
        return try Repository.open(path: ostree.join("repo"))
    }

    /// Takes the sysroot lock, waiting up to `$ARBOR_SYSROOT_LOCK_TIMEOUT` seconds (default 60).
    public func lock(waiting: () -> Void = {}) throws -> SysrootLock {
        var timeout = 60.0
        if let env = getenv("ARBOR_SYSROOT_LOCK_TIMEOUT"), let t = Double(String(cString: env)) { timeout = t }
        return try SysrootLock.acquire(ostreeDir: try dir.openDirectory("ostree"), timeout: timeout, waiting: waiting)
    }

    /// Reads the boot version, the subboot version and the deployments in boot order.
    public func load() throws -> SysrootState {
        try BootSwap.load(self)
    }

    /// Whether this sysroot is the running system's root (only then can a deployment be booted).
    public var isRunningSystem: Bool {
        guard let root = statOfRoot() else { return false }
        return dir.sameInode(root)
    }

    /// The directory `ostree/deploy/STATEROOT/deploy`, created when `create`.
    func deployDirectory(_ stateroot: String, create: Bool) throws -> FileDescriptor? {
        guard Deployment.isValidStateroot(stateroot) else { throw ArborError.invalidArgument("invalid stateroot name '\(stateroot)'") }
        guard let os = try dir.openDirectoryPathIfExists("ostree/deploy/\(stateroot)") else {
            if create { throw ArborError.notFound("stateroot \(stateroot) does not exist (see 'arbor admin os-init')") }
            return nil
        }
        if create { try os.mkdir("deploy", mode: 0o755) }
        return try os.openDirectoryPathIfExists("deploy")
    }

    /// Reads a deployment's origin file, if present.
    func readOrigin(stateroot: String, name: String) throws -> Origin? {
        guard let d = try deployDirectory(stateroot, create: false),
              let bytes = try d.readRegularFile(name + ".origin", limit: 1 << 20) else { return nil }
        return Origin(text: String(decoding: bytes, as: UTF8.self))
    }

    /// Writes a deployment's origin file atomically.
    func writeOrigin(_ origin: Origin, stateroot: String, name: String) throws {
        guard let d = try deployDirectory(stateroot, create: true) else { throw ArborError.notFound("stateroot \(stateroot)") }
        try writeFileAtomically(d, name + ".origin", Array(origin.text.utf8))
    }
}

/// What a sysroot holds right now.
public struct SysrootState: Sendable {
    /// Which `loader.N` is current (0 or 1).
    public var bootVersion: Int
    /// Which `ostree/boot.B.S` is current (0 or 1).
    public var subbootVersion: Int
    /// Deployments in boot order; index 0 is the default.
    public var deployments: [Deployment]
    /// Whether some deployment has two entries (rewriting the entries leaves one).
    public var hasTwinEntries = false

    /// The first deployment of `stateroot` (the one a new deployment merges /etc from).
    public func mergeDeployment(stateroot: String?) -> Deployment? {
        guard let s = stateroot else { return deployments.first }
        return deployments.first { $0.stateroot == s }
    }
}
