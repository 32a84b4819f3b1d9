// The static Swift runtime finds "its own path" at start-up (a C++ static initializer of the
// backtracer asks for it) with dladdr(3), which in a fully static glibc executable finds
// nothing; the runtime then falls back to /proc/self/exe and, without /proc, aborts before
// main: exactly the situation of PID 1 on a fresh root, or of an initramfs that has not
// mounted /proc yet. This dladdr replaces glibc's for this executable alone: there is only
// one object, the executable, so every address lies in it; its name is the path the kernel
// exec'd (AT_EXECFN), which needs no /proc. No symbol names are given (none are needed).
#define _GNU_SOURCE
#include <dlfcn.h>
#include <elf.h>
#include <link.h>
#include <stddef.h>
#include <sys/auxv.h>

// The executable's ELF header, placed by the linker at the start of the image.
extern const ElfW(Ehdr) __ehdr_start;

int dladdr(const void *address, Dl_info *info) {
    (void)address;
    const char *path = (const char *)getauxval(AT_EXECFN);
    info->dli_fname = (path != NULL && path[0] != '\0') ? path : "arbor-prepare-root";
    info->dli_fbase = (void *)&__ehdr_start;
    info->dli_sname = NULL;
    info->dli_saddr = NULL;
    return 1;
}
