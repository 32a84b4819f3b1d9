// Running as PID 1. The kernel panics when PID 1 exits, and a panic with no `panic=` hangs the
// machine, which boot counting cannot recover from; so a failure prints its one line, waits
// five seconds for the console to be read, and reboots (the boot loader then counts the
// attempt). In a child PID namespace reboot(2) ends the namespace instead, which the tests use.
// Should reboot(2) fail (no CAP_SYS_BOOT), it powers off; should that fail too, it says so on
// one more line and sleeps forever: exiting would panic the kernel with no word after ours.
#if canImport(Glibc)
import Glibc
import CArborPrepareRoot
#endif

/// What only PID 1 does.
enum Pid1 {
    /// Seconds between the error line and the reboot.
    static let rebootDelay: UInt32 = 5

    /// After a failure as PID 1: wait, sync, reboot; else power off; else sleep forever.
    static func rebootAfterFailure() -> Never {
        sleep(rebootDelay)
        sync()
        _ = arbor_reboot_autoboot()
        let rebootError = errno
        _ = arbor_reboot_power_off()
        let powerOffError = errno
        Console.log("cannot reboot (\(PrepareRootError.describe(rebootError))) or power off (\(PrepareRootError.describe(powerOffError))); halted")
        while true { sleep(3600) }
    }
}
