// The commits that failed to boot, remembered per stateroot so that an updater does not deploy
// the same broken commit again (the update loop Fedora CoreOS users reported after rollbacks).
// `ostree/deploy/STATEROOT/arbor-failed-boots`, one line per commit: `CHECKSUM SECONDS`, the
// time it was recorded as seconds since the epoch. ostree ignores the file. A deployment whose
// entry is bad (`+0-N`) counts as failed too, before anything recorded it.
#if canImport(Glibc)
import Glibc
#endif
import ArborCore

/// A commit that failed to boot.
public struct BootFailure: Sendable, Equatable {
    /// The commit.
    public var checksum: Checksum
    /// When it was recorded (seconds since the epoch).
    public var time: Int64
}

extension Sysroot {
    /// The file name of the record, in the stateroot directory.
    static let bootFailuresFile = "arbor-failed-boots"
    /// The most commits remembered (oldest dropped first), so that the file stays small.
    static let bootFailuresLimit = 64

    /// The commits recorded as failed to boot in `stateroot`, oldest first.
    public func bootFailures(stateroot: String) throws -> [BootFailure] {
        guard Deployment.isValidStateroot(stateroot),
              let os = try dir.openDirectoryPathIfExists("ostree/deploy/\(stateroot)"),
              let bytes = try os.readRegularFile(Self.bootFailuresFile, limit: 1 << 16) else { return [] }
        var out: [BootFailure] = []
        for line in bytes.split(separator: UInt8(ascii: "\n")) {
            let parts = line.split(separator: UInt8(ascii: " "))
            guard parts.count == 2, let c = Checksum(hex: String(decoding: parts[0], as: UTF8.self)),
                  let t = Int64(String(decoding: parts[1], as: UTF8.self)) else { continue }
            out.append(BootFailure(checksum: c, time: t))
        }
        return out
    }

    /// Records `commits` as failed to boot (once each); the caller holds the sysroot lock.
    func recordBootFailures(_ commits: [Checksum], stateroot: String) throws {
        var list = try bootFailures(stateroot: stateroot)
        let now = Int64(time(nil))
        var changed = false
        for c in commits where !list.contains(where: { $0.checksum == c }) {
            list.append(BootFailure(checksum: c, time: now))
            changed = true
        }
        guard changed else { return }
        if list.count > Self.bootFailuresLimit { list.removeFirst(list.count - Self.bootFailuresLimit) }
        try writeBootFailures(list, stateroot: stateroot)
    }

    /// Forgets `commit` (it booted well since); the caller holds the sysroot lock.
    func forgetBootFailure(_ commit: Checksum, stateroot: String) throws {
        let list = try bootFailures(stateroot: stateroot)
        guard list.contains(where: { $0.checksum == commit }) else { return }
        try writeBootFailures(list.filter { $0.checksum != commit }, stateroot: stateroot)
    }

    /// Replaces the record atomically, one `CHECKSUM SECONDS` line per commit.
    private func writeBootFailures(_ list: [BootFailure], stateroot: String) throws {
        let os = try dir.openDirectoryPath("ostree/deploy/\(stateroot)")
        let text = list.map { "\($0.checksum.hex) \($0.time)\n" }.joined()
        try writeFileAtomically(os, Self.bootFailuresFile, Array(text.utf8))
    }

    /// Whether `commit` failed to boot: recorded, or deployed with a bad entry now.
    public func hasFailedToBoot(_ commit: Checksum, stateroot: String, state: SysrootState) throws -> Bool {
        if state.deployments.contains(where: { $0.checksum == commit && $0.bootAssessment == .bad }) { return true }
        return try bootFailures(stateroot: stateroot).contains { $0.checksum == commit }
    }
}
