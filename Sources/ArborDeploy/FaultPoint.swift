// Fault injection for atomicity tests: `ARBOR_DEPLOY_FAULT=STEP` makes the process exit at once
// (as if killed) when a deploy, upgrade, rollback or undeploy reaches STEP.
#if canImport(Glibc)
import Glibc
#endif

/// The named steps of a deployment transaction, in order.
public enum FaultPoint: String, CaseIterable, Sendable {
    /// The commit is checked out.
    case checkout
    /// /etc is merged.
    case etc
    /// The origin file is written.
    case origin
    /// The kernel and initramfs are in /boot.
    case kernel
    /// The new `loader.N/entries` are written.
    case entries
    /// The new `ostree/boot.N.M` bootlinks are written.
    case bootlinks
    /// The per-deployment refs are written.
    case refs
    /// `ostree/boot.N` points at the new bootlinks.
    case bootlinkSwap = "bootlink-swap"
    /// The filesystems are synced; `loader.tmp` is ready.
    case sync
    /// `boot/loader` points at the new entries (the switch).
    case switched = "switch"
    /// Leftovers are cleaned up.
    case cleanup
    /// `bless-boot`: the booted entry is renamed, the directory not yet synced.
    case blessRename = "bless-rename"
    /// `bless-boot`: the rename is durable; the fallback's new order is not written yet.
    case blessed

    /// Exits with status 99 when `$ARBOR_DEPLOY_FAULT` names this step.
    func check() {
        guard let env = getenv("ARBOR_DEPLOY_FAULT"), String(cString: env) == rawValue else { return }
        fputs("arbor: fault injected after step '\(rawValue)'\n", stderr)
        _exit(99)
    }
}
