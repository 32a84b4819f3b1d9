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
    /// Whether the boot loader starts it next (the first deployment whose entry is not bad).
    public var bootsNext: Bool
    /// Whether its commit failed to boot on this node (recorded, or its entry is bad).
    public var failedToBoot: Bool
}

/// The whole picture `admin status` shows: deployments, and what the boot loader will do.
public struct SysrootStatus: Sendable {
    /// Every deployment, in boot order.
    public var deployments: [DeploymentStatus]
    /// The booted deployment (nil in a sandbox sysroot).
    public var booted: Deployment?
    /// The deployment the boot loader starts next.
    public var nextBoot: Deployment?
    /// Whether the running system is a fallback: the default failed to boot and an older deployment booted.
    public var fallback: Bool
    /// Whether the default's entry is bad, so that the boot loader starts an older deployment instead.
    public var defaultFailed: Bool
    /// Commits recorded as failed to boot, per stateroot, oldest first.
    public var failedCommits: [(stateroot: String, failure: BootFailure)]
}

extension Sysroot {
    /// The status of every deployment, in boot order, and of the boot loader's next choice.
    public func status() throws -> SysrootStatus {
        let state = try load()
        let repo = try? repository()
        let booted = bootedDeployment(state)
        let next = state.nextBoot
        var failures: [(String, BootFailure)] = []
        // A damaged record must not hide the deployments; upgrade still reads it strictly.
        for os in try stateroots() { failures += ((try? bootFailures(stateroot: os)) ?? []).map { (os, $0) } }
        let list = state.deployments.enumerated().map { i, d in
            var version: String?
            if let r = repo {
                version = BootSwap.commitVersion(r, d.checksum)
                    ?? OSRelease.versionID(repo: r, commit: d.checksum)
            }
            let failed = d.bootAssessment == .bad || failures.contains { $0.0 == d.stateroot && $0.1.checksum == d.checksum }
            return DeploymentStatus(deployment: d, index: i, version: version, isDefault: i == 0, isRollback: i == 1,
                                    isBooted: booted.map { $0.sameCheckout(d) } ?? false, isStaged: false,
                                    bootsNext: next.map { $0.sameCheckout(d) } ?? false, failedToBoot: failed)
        }
        return SysrootStatus(deployments: list, booted: booted, nextBoot: next, fallback: state.isFallback(booted: booted),
                             defaultFailed: state.deployments.first?.bootAssessment == .bad, failedCommits: failures)
    }
}
