// The program's arguments, captured before main. The static Swift runtime builds
// CommandLine.arguments from /proc/self/cmdline, which is empty when /proc is not mounted
// (PID 1 on a fresh root, an initramfs that mounted nothing yet). glibc calls .init_array
// functions with (argc, argv, envp), static executables included, so keep those here.
#include "CArborPrepareRoot.h"

static int saved_count;
static char **saved_arguments;

static void arbor_capture_arguments(int argc, char **argv, char **envp) {
    (void)envp;
    saved_count = argc;
    saved_arguments = argv;
}

__attribute__((section(".init_array"), used))
static void (*const arbor_capture_arguments_entry)(int, char **, char **) = arbor_capture_arguments;

int arbor_argument_count(void) {
    return saved_arguments != 0 ? saved_count : 0;
}

const char *arbor_argument(int index) {
    if (saved_arguments == 0 || index < 0 || index >= saved_count) return 0;
    return saved_arguments[index];
}
