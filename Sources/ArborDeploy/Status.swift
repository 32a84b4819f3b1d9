// `admin status` (spec §9): the deployments in boot order with what `ostree admin status` shows
// (stateroot, CHECKSUM.SERIAL, version, pinned, origin refspec) and which is default, rollback
// and booted. Booted is only meaningful when the sysroot is the running system's.
#if canImport(Glibc)
import Glibc
#endif
import ArborCore

/// One deployment as `status` shows it.
public struct DeploymentStatus: Sendable {
    /// The deployment.
    public var deployment: Deployment
    /// Its position in the boot order.
    public var index: Int
    /// The commit's `version` metadata, else os-release VERSION_ID.
    public var version: String?
    /// Whether it boots by default (index 0).
    public var isDefault: Bool
    /// Whether it is the rollback target (index 1).
    public var isRollback: Bool
    /// Whether the running system booted it.
    public var isBooted: Bool
    /// Staged deployments (finalized at shutdown) are not supported; always false.
    public var isStaged: Bool
}

extension Sysroot {
    /// The status of every deployment, in boot order.
    public func status() throws -> [DeploymentStatus] {
        let state = try load()
        let repo = try? repository()
        let booted = bootedDeployment(state)
        return state.deployments.enumerated().map { i, d in
            var version: String?
            if let r = repo {
                version = BootSwap.commitVersion(r, d.checksum)
                    ?? OSRelease.versionID(repo: r, commit: d.checksum)
            }
            return DeploymentStatus(deployment: d, index: i, version: version, isDefault: i == 0, isRollback: i == 1,
                                    isBooted: booted.map { $0.sameCheckout(d) } ?? false, isStaged: false)
        }
    }

    /// The deployment the running system booted: its directory is `/`; nil in a sandbox sysroot.
    func bootedDeployment(_ state: SysrootState) -> Deployment? {
        // Tests of a sandbox sysroot stand in a kernel command line (nothing is booted there).
        let testCmdline = getenv("ARBOR_TEST_KERNEL_CMDLINE").map { String(cString: $0) }
        guard testCmdline != nil || isRunningSystem || path == "/" || path == "/sysroot" else { return nil }
        if testCmdline == nil {
            guard let root = statOfRoot() else { return nil }
            for d in state.deployments {
                guard let deployDir = try? deployDirectory(d.stateroot, create: false),
                      let st = try? deployDir.statIfExists(d.name) else { continue }
                if st.st_dev == root.st_dev && st.st_ino == root.st_ino { return d }
            }
        }
        // Fall back to the kernel command line's ostree= bootlink, resolved in this sysroot.
        let text: String
        if let t = testCmdline { text = t } else {
            guard let cmdline = try? openDirectory(path: "/proc").openRead("cmdline").readAll(limit: 1 << 16) else { return nil }
            text = String(decoding: cmdline, as: UTF8.self)
        }
        let args = KernelArgs.split(text.trimmingSpaces)
        guard let arg = args.first(where: { KernelArgs.key($0) == "ostree" }) else { return nil }
        let link = String(arg.dropFirst("ostree=".count))
        let comps = pathComponents(link)
        guard comps.count == 5, comps[0] == "ostree", let ostree = try? dir.openDirectory("ostree"),
              let sub = try? ostree.readlink(comps[1]), let parent = try? ostree.openDirectoryPath("\(sub)/\(comps[2])/\(comps[3])"),
              let target = try? parent.readlink(comps[4]) else { return nil }
        return state.deployments.first { $0.bootlinkTarget == target }
    }
}
