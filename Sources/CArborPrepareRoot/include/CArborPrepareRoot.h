#ifndef ARBOR_PREPARE_ROOT_H
#define ARBOR_PREPARE_ROOT_H
// The few kernel interfaces arbor-prepare-root needs that Swift cannot call directly: glibc has
// no pivot_root wrapper (only the variadic syscall(2)), and RB_AUTOBOOT and RB_POWER_OFF are
// macros Swift does not import from <sys/reboot.h>. Also the program's own arguments, which the
// static Swift runtime reads from /proc (see arguments.c), and a dladdr that needs no /proc
// (runtime_path.c).

/// pivot_root(2): makes new_root the root mount and puts the old root at put_old.
/// Returns 0, or -1 with errno set.
int arbor_pivot_root(const char *new_root, const char *put_old);
/// reboot(RB_AUTOBOOT): restarts the machine at once (in a child PID namespace it ends the
/// namespace's init instead). Returns only on failure, -1 with errno set.
int arbor_reboot_autoboot(void);
/// reboot(RB_POWER_OFF): powers the machine off at once (in a child PID namespace it ends the
/// namespace's init). Returns only on failure, -1 with errno set.
int arbor_reboot_power_off(void);
/// The number of arguments the program was started with (argc), 0 if unknown.
int arbor_argument_count(void);
/// Argument `index` (argv[index]), NULL when out of range.
const char *arbor_argument(int index);
#endif
