// Running as PID 1. The kernel panics when PID 1 exits, and a panic with no `panic=` hangs the
// machine, which boot counting cannot recover from; so a failure prints its one line, waits
// five seconds for the console to be read, and reboots (the boot loader then counts the
// attempt). In a child PID namespace reboot(2) ends the namespace instead, which the tests use.
#if canImport(Glibc)
import Glibc
import CArborPrepareRoot
#endif

/// What only PID 1 does.
enum Pid1 {
    /// Seconds between the error line and the reboot.
    static let rebootDelay: UInt32 = 5

    /// After a failure as PID 1: wait, sync, reboot. Returns only if reboot(2) failed.
    static func rebootAfterFailure() {
        sleep(rebootDelay)
        sync()
        if arbor_reboot_autoboot() != 0 {
            Console.log("reboot failed: \(PrepareRootError.describe(errno))")
        }
    }
}
