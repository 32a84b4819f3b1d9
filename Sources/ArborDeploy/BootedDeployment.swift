// Which deployment the running system booted. Like ostree, by identity, never by name: the
// deployment directory whose device and inode are those of `/` (a bind mount keeps both). The
// `ostree=` argument of the kernel command line names `ostree/boot.N/...` as it was at boot, and
// any deploy since then flipped N, so it may name another deployment today.
// `/run/ostree-booted` is an `a{sv}` (empty from ostree 2022.7); when it carries
// `backing-root-device-inode` `(tt)`, as ostree 2024.2+ and arbor-prepare-root write it, that
// identity is used (with composefs, `/` is an overlay whose inode is not the directory's).
#if canImport(Glibc)
import Glibc
#endif
import ArborCore

extension Sysroot {
    /// The marker prepare-root leaves in a booted system.
    static let bootedMarker = "/run/ostree-booted"

    /// The deployment the running system booted; nil in a sandbox sysroot or when none matches.
    public func bootedDeployment(_ state: SysrootState) -> Deployment? {
        guard let (dev, ino) = bootedIdentity() else { return nil }
        for d in state.deployments {
            guard let deployDir = try? deployDirectory(d.stateroot, create: false),
                  let st = try? deployDir.statIfExists(d.name), fileType(st) == S_IFDIR else { continue }
            if UInt64(st.st_dev) == dev && UInt64(st.st_ino) == ino { return d }
        }
        return nil
    }

    /// Device and inode of the booted deployment directory, when this sysroot is the running system's.
    private func bootedIdentity() -> (UInt64, UInt64)? {
        #if DEBUG
        // Tests of a sandbox sysroot name a directory that stands in for `/` (debug builds only:
        // a release binary's idea of what is booted cannot be steered from the environment).
        if let env = getenv("ARBOR_TEST_ROOT") {
            var st = Glibc.stat()
            guard stat(env, &st) == 0 else { return nil }
            return (UInt64(st.st_dev), UInt64(st.st_ino))
        }
        #endif
        guard isRunningSystem || path == "/" || path == "/sysroot" else { return nil }
        if let marker = Self.readBootedMarker(), let v = marker.lookup("backing-root-device-inode"),
           case let .tuple(t) = v, t.count == 2, let dev = t[0].uint64Value, let ino = t[1].uint64Value {
            return (dev, ino)
        }
        guard let root = statOfRoot() else { return nil }
        return (UInt64(root.st_dev), UInt64(root.st_ino))
    }

    /// `/run/ostree-booted` parsed as `a{sv}`; nil when absent, empty or malformed.
    static func readBootedMarker() -> GVariant? {
        guard let run = try? openDirectory(path: "/run"), let bytes = try? run.readRegularFile("ostree-booted", limit: 1 << 16),
              !bytes.isEmpty else { return nil }
        return try? GVariant.parse(bytes, as: try GVariantType("a{sv}"))
    }
}
