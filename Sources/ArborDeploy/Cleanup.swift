// `admin cleanup` (spec §9): what the current boot version does not reference goes: the other
// `loader.N` and `ostree/boot.N[.M]`, the unused `boot.B.M`, `ostree/B/S/I` refs of other
// versions, deployment directories and origins not in the boot order, unused kernels in
// `boot/ostree/`, and temporary files of interrupted runs.
#if canImport(Glibc)
import Glibc
#endif
import ArborCore

/// What a cleanup removed.
public struct CleanupResult: Sendable {
    /// Deployment directories removed.
    public var deployments = 0
    /// Kernel directories removed from `boot/ostree`.
    public var bootDirectories = 0
    /// Boot entries, bootlinks, refs and temporary files removed.
    public var other = 0
}

extension Sysroot {
    /// Removes everything the current boot entries do not need, under the sysroot lock.
    public func cleanup(log: (String) -> Void = { _ in }) throws -> CleanupResult {
        let lock = try self.lock(waiting: { log("Waiting for sysroot lock...") })
        defer { lock.release() }
        return try cleanupLocked(repo: try repository(), log: log)
    }

    /// Cleanup; the caller holds the sysroot lock.
    func cleanupLocked(repo: Repository, log: (String) -> Void) throws -> CleanupResult {
        let state = try load()
        var result = CleanupResult()
        let b = state.bootVersion, s = state.subbootVersion
        let ostree = try dir.openDirectory("ostree")
        if let boot = try bootParent.openDirectoryPathIfExists("boot") {
            for name in ["loader.\(1 - b)", "loader.tmp"] where try boot.statIfExists(name) != nil {
                try removeTree(boot, name)
                result.other += 1
            }
            // Staged entry rewrites (kargs) of interrupted runs.
            for name in try boot.entries() where name.hasPrefix(".tmp-") {
                try removeTree(boot, name)
                result.other += 1
            }
        }
        for name in ["boot.\(1 - b)", "boot.\(1 - b).0", "boot.\(1 - b).1", "boot.\(b).\(1 - s)"] where try ostree.statIfExists(name) != nil {
            try removeTree(ostree, name)
            result.other += 1
        }
        for name in try ostree.entries() where name.hasPrefix(".tmp-") {
            try removeTree(ostree, name)
            result.other += 1
        }

        // Refs: exactly ostree/B/S/INDEX for the current list.
        let keep = Set(state.deployments.indices.map { "ostree/\(b)/\(s)/\($0)" })
        for ref in try repo.listRefs() where ref.name.hasPrefix("ostree/") && !keep.contains(ref.name) {
            try repo.deleteRef(ref.name)
            result.other += 1
        }
        for (i, d) in state.deployments.enumerated() where try repo.resolveRef("ostree/\(b)/\(s)/\(i)") != d.checksum {
            try repo.setRef("ostree/\(b)/\(s)/\(i)", to: d.checksum)
        }

        // Deployment directories and origins.
        let live = Set(state.deployments.map { "\($0.stateroot)/\($0.name)" })
        for os in try stateroots() {
            guard let deployDir = try deployDirectory(os, create: false) else { continue }
            for e in try deployDir.entries() {
                if Deployment.parseName(e) != nil, !live.contains("\(os)/\(e)") {
                    log("Removing deployment \(os) \(e)")
                    try removeDeploymentDirectory(deployDir, e)
                    result.deployments += 1
                } else if e.hasSuffix(".origin"), Deployment.parseName(String(e.dropLast(7))) != nil,
                          !live.contains("\(os)/\(e.dropLast(7))") {
                    try deployDir.unlink(e)
                    result.other += 1
                } else if e.hasPrefix(".tmp-") {
                    try removeTree(deployDir, e)
                    result.other += 1
                }
            }
        }

        // Kernels no deployment boots.
        if let kernels = try bootParent.openDirectoryPathIfExists("boot/ostree") {
            let used = Set(state.deployments.map { "\($0.stateroot)-\($0.bootChecksum)" })
            for e in try kernels.entries() where !used.contains(e) && (e.hasPrefix(".tmp-") || isBootDirectoryName(e)) {
                try removeTree(kernels, e)
                result.bootDirectories += 1
            }
        }
        try dir.syncfs()
        return result
    }

    /// Whether `name` looks like `STATEROOT-BOOTCSUM` (64 hex characters after the last dash).
    private func isBootDirectoryName(_ name: String) -> Bool {
        guard let dash = name.lastIndex(of: "-") else { return false }
        return isChecksumString(name[name.index(after: dash)...])
    }
}
