// See include/CArborPrepareRoot.h.
#define _GNU_SOURCE
#include <sys/reboot.h>
#include <sys/syscall.h>
#include <unistd.h>
#include "CArborPrepareRoot.h"

int arbor_pivot_root(const char *new_root, const char *put_old) {
    return (int)syscall(SYS_pivot_root, new_root, put_old);
}

int arbor_reboot_autoboot(void) {
    return reboot(RB_AUTOBOOT);
}

int arbor_reboot_power_off(void) {
    return reboot(RB_POWER_OFF);
}
