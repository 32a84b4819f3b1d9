// libarchive, loaded with dlopen on first use instead of at every start. Each archive_* function
// ArborCore calls is defined here with the library's own prototype (from <archive.h>) and jumps
// to the library's definition, found once with dlsym. The definitions are hidden so that the
// library, once loaded, still binds its internal calls to its own functions.
#include "CArchive.h"
#include <dlfcn.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#define ARBOR_ARCHIVE_SONAME "libarchive.so.13"

static void *library;
static char failure[512];
static pthread_once_t once = PTHREAD_ONCE_INIT;

static void load(void) {
    library = dlopen(ARBOR_ARCHIVE_SONAME, RTLD_LAZY | RTLD_LOCAL);
    if (!library) {
        const char *why = dlerror();
        snprintf(failure, sizeof failure, "cannot load %s (install libarchive13): %s", ARBOR_ARCHIVE_SONAME,
                 why ? why : "unknown error");
    }
}

const char *arbor_archive_load(void) {
    pthread_once(&once, load);
    return library ? NULL : failure;
}

static void *symbol(const char *name) {
    const char *err = arbor_archive_load();
    void *p = err ? NULL : dlsym(library, name);
    if (!p) {
        // Reached only when a caller skipped arbor_archive_load or the library lacks a function.
        fprintf(stderr, "arbor: error: %s\n", err ? err : "libarchive lacks a function arbor needs");
        _exit(70);
    }
    return p;
}

#define LAZY(ret, name, params, args)                                                   \
    __attribute__((visibility("hidden"))) ret name params {                             \
        static ret(*fn) params;                                                         \
        ret(*f) params = __atomic_load_n(&fn, __ATOMIC_ACQUIRE);                        \
        if (!f) {                                                                       \
            f = (ret(*) params)symbol(#name);                                           \
            __atomic_store_n(&fn, f, __ATOMIC_RELEASE);                                 \
        }                                                                               \
        return f args;                                                                  \
    }
#define LAZY_VOID(name, params, args)                                                   \
    __attribute__((visibility("hidden"))) void name params {                            \
        static void(*fn) params;                                                        \
        void(*f) params = __atomic_load_n(&fn, __ATOMIC_ACQUIRE);                       \
        if (!f) {                                                                       \
            f = (void(*) params)symbol(#name);                                          \
            __atomic_store_n(&fn, f, __ATOMIC_RELEASE);                                 \
        }                                                                               \
        f args;                                                                         \
    }

typedef struct archive archive_t;
typedef struct archive_entry entry_t;

// Reading.
LAZY(archive_t *, archive_read_new, (void), ())
LAZY(int, archive_read_support_filter_all, (archive_t *a), (a))
LAZY(int, archive_read_support_format_all, (archive_t *a), (a))
LAZY(int, archive_read_open, (archive_t *a, void *data, archive_open_callback *o, archive_read_callback *r,
                              archive_close_callback *c), (a, data, o, r, c))
LAZY(int, archive_read_next_header, (archive_t *a, entry_t **e), (a, e))
LAZY(la_ssize_t, archive_read_data, (archive_t *a, void *buf, size_t n), (a, buf, n))
LAZY(int, archive_read_free, (archive_t *a), (a))
LAZY(const char *, archive_error_string, (archive_t *a), (a))

// Writing.
LAZY(archive_t *, archive_write_new, (void), ())
LAZY(int, archive_write_add_filter_bzip2, (archive_t *a), (a))
LAZY(int, archive_write_add_filter_gzip, (archive_t *a), (a))
LAZY(int, archive_write_add_filter_xz, (archive_t *a), (a))
LAZY(int, archive_write_add_filter_zstd, (archive_t *a), (a))
LAZY(int, archive_write_set_filter_option, (archive_t *a, const char *m, const char *k, const char *v), (a, m, k, v))
LAZY(int, archive_write_set_format_option, (archive_t *a, const char *m, const char *k, const char *v), (a, m, k, v))
LAZY(int, archive_write_set_format_pax_restricted, (archive_t *a), (a))
LAZY(int, archive_write_set_bytes_in_last_block, (archive_t *a, int n), (a, n))
LAZY(int, archive_write_open_fd, (archive_t *a, int fd), (a, fd))
LAZY(int, archive_write_header, (archive_t *a, entry_t *e), (a, e))
LAZY(la_ssize_t, archive_write_data, (archive_t *a, const void *buf, size_t n), (a, buf, n))
LAZY(int, archive_write_close, (archive_t *a), (a))
LAZY(int, archive_write_free, (archive_t *a), (a))

// Entries.
LAZY(entry_t *, archive_entry_new, (void), ())
LAZY(entry_t *, archive_entry_clear, (entry_t *e), (e))
LAZY_VOID(archive_entry_free, (entry_t *e), (e))
LAZY(const char *, archive_entry_pathname, (entry_t *e), (e))
LAZY(const char *, archive_entry_pathname_utf8, (entry_t *e), (e))
LAZY(const char *, archive_entry_hardlink, (entry_t *e), (e))
LAZY(const char *, archive_entry_symlink, (entry_t *e), (e))
LAZY(__LA_MODE_T, archive_entry_filetype, (entry_t *e), (e))
LAZY(__LA_MODE_T, archive_entry_perm, (entry_t *e), (e))
LAZY(la_int64_t, archive_entry_uid, (entry_t *e), (e))
LAZY(la_int64_t, archive_entry_gid, (entry_t *e), (e))
LAZY(la_int64_t, archive_entry_size, (entry_t *e), (e))
LAZY(int, archive_entry_size_is_set, (entry_t *e), (e))
LAZY_VOID(archive_entry_copy_pathname, (entry_t *e, const char *s), (e, s))
LAZY_VOID(archive_entry_copy_hardlink, (entry_t *e, const char *s), (e, s))
LAZY_VOID(archive_entry_copy_symlink, (entry_t *e, const char *s), (e, s))
LAZY_VOID(archive_entry_set_mode, (entry_t *e, __LA_MODE_T m), (e, m))
LAZY_VOID(archive_entry_set_uid, (entry_t *e, la_int64_t v), (e, v))
LAZY_VOID(archive_entry_set_gid, (entry_t *e, la_int64_t v), (e, v))
LAZY_VOID(archive_entry_set_size, (entry_t *e, la_int64_t v), (e, v))
LAZY_VOID(archive_entry_set_mtime, (entry_t *e, time_t t, long ns), (e, t, ns))
LAZY_VOID(archive_entry_xattr_add_entry, (entry_t *e, const char *name, const void *value, size_t size),
          (e, name, value, size))
LAZY(int, archive_entry_xattr_reset, (entry_t *e), (e))
LAZY(int, archive_entry_xattr_next, (entry_t *e, const char **name, const void **value, size_t *size),
     (e, name, value, size))
