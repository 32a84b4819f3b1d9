// Rebooting after a failed health check: a bad boot must end, or boot counting never gets to
// the next attempt (a node that sits on a broken version until someone power-cycles it).
#if canImport(Glibc)
import Glibc
#endif
import ArborCore
import CArborSystem

/// Restarts the machine.
public enum Reboot {
    /// Reboots through systemd when it runs the system (an orderly shutdown), else with
    /// reboot(2) after a sync. Returns only on failure, with the error.
    public static func now() -> ArborError {
        sync()
        if access("/run/systemd/system", F_OK) == 0 {
            for path in ["/usr/bin/systemctl", "/bin/systemctl"] where access(path, X_OK) == 0 {
                let argv: [UnsafeMutablePointer<CChar>?] = [strdup("systemctl"), strdup("reboot"), nil]
                execv(path, argv)
            }
        }
        _ = arbor_reboot()
        return ArborError.errno("reboot")
    }
}
