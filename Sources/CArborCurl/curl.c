// libcurl, loaded with dlopen on first use: only pull needs HTTP, and libcurl brings about
// twenty libraries (TLS, Kerberos, LDAP, SSH...) that every other command would map at start.
// Each curl_* function the Swift code calls is defined here with libcurl's prototype and jumps
// to libcurl's definition, found once with dlsym; the definitions are hidden so that libcurl
// keeps binding its internal calls to its own functions.
#define CURL_DISABLE_TYPECHECK 1
#include "CArborCurl.h"
#include <dlfcn.h>
#include <pthread.h>
#include <stdio.h>
#include <unistd.h>

// The GnuTLS build first: libcurl's OpenSSL build initialises libssl and its providers at
// curl_global_init (about 1.5 MB of libcrypto touched, HTTPS or not), and both builds link
// GnuTLS anyway (through librtmp), whose initialisation runs when the library loads.
#define ARBOR_CURL_SONAME "libcurl-gnutls.so.4"
#define ARBOR_CURL_SONAME_FALLBACK "libcurl.so.4"

static void *library;
static char failure[512];
static pthread_once_t once = PTHREAD_ONCE_INIT;

static void load(void) {
    library = dlopen(ARBOR_CURL_SONAME, RTLD_LAZY | RTLD_LOCAL);
    if (!library) library = dlopen(ARBOR_CURL_SONAME_FALLBACK, RTLD_LAZY | RTLD_LOCAL);
    if (!library) {
        const char *why = dlerror();
        snprintf(failure, sizeof failure, "cannot load %s or %s (install libcurl3-gnutls or libcurl4): %s",
                 ARBOR_CURL_SONAME, ARBOR_CURL_SONAME_FALLBACK, why ? why : "unknown error");
    }
}

const char *arbor_curl_load(void) {
    pthread_once(&once, load);
    return library ? NULL : failure;
}

static void *symbol(const char *name) {
    const char *err = arbor_curl_load();
    void *p = err ? NULL : dlsym(library, name);
    if (!p) {
        // Reached only when a caller skipped arbor_curl_load or libcurl lacks a function.
        fprintf(stderr, "arbor: error: %s\n", err ? err : "libcurl lacks a function arbor needs");
        _exit(70);
    }
    return p;
}

#define RESOLVE(type, name)                                                             \
    static type fn;                                                                     \
    type f = __atomic_load_n(&fn, __ATOMIC_ACQUIRE);                                    \
    if (!f) {                                                                           \
        f = (type)symbol(name);                                                         \
        __atomic_store_n(&fn, f, __ATOMIC_RELEASE);                                     \
    }

#define LAZY(ret, name, params, args)                                                   \
    __attribute__((visibility("hidden"))) ret name params {                             \
        typedef ret (*fn_t) params;                                                     \
        RESOLVE(fn_t, #name)                                                            \
        return f args;                                                                  \
    }
#define LAZY_VOID(name, params, args)                                                   \
    __attribute__((visibility("hidden"))) void name params {                            \
        typedef void (*fn_t) params;                                                    \
        RESOLVE(fn_t, #name)                                                            \
        f args;                                                                         \
    }

LAZY(CURLcode, curl_global_init, (long flags), (flags))
LAZY(CURL *, curl_easy_init, (void), ())
LAZY_VOID(curl_easy_reset, (CURL *h), (h))
LAZY_VOID(curl_easy_cleanup, (CURL *h), (h))
LAZY(const char *, curl_easy_strerror, (CURLcode c), (c))
LAZY(CURLM *, curl_multi_init, (void), ())
LAZY(CURLMcode, curl_multi_add_handle, (CURLM *m, CURL *h), (m, h))
LAZY(CURLMcode, curl_multi_remove_handle, (CURLM *m, CURL *h), (m, h))
LAZY(CURLMcode, curl_multi_perform, (CURLM *m, int *running), (m, running))
LAZY(CURLMcode, curl_multi_poll, (CURLM *m, struct curl_waitfd fds[], unsigned int n, int ms, int *ret),
     (m, fds, n, ms, ret))
LAZY(CURLMcode, curl_multi_wakeup, (CURLM *m), (m))
LAZY(CURLMsg *, curl_multi_info_read, (CURLM *m, int *left), (m, left))
LAZY(CURLMcode, curl_multi_cleanup, (CURLM *m), (m))
LAZY(const char *, curl_multi_strerror, (CURLMcode c), (c))

// The variadic setters and getters, called with one argument of the type the option expects.
static CURLcode easy_setopt(CURL *h, CURLoption opt, long v, void *p, const char *s, int kind) {
    typedef CURLcode (*fn_t)(CURL *, CURLoption, ...);
    RESOLVE(fn_t, "curl_easy_setopt")
    switch (kind) {
    case 0: return f(h, opt, v);
    case 1: return f(h, opt, p);
    default: return f(h, opt, s);
    }
}

CURLcode arbor_curl_set_long(CURL *h, CURLoption opt, long v) { return easy_setopt(h, opt, v, NULL, NULL, 0); }
CURLcode arbor_curl_set_ptr(CURL *h, CURLoption opt, void *p) { return easy_setopt(h, opt, 0, p, NULL, 1); }
CURLcode arbor_curl_set_str(CURL *h, CURLoption opt, const char *s) { return easy_setopt(h, opt, 0, NULL, s, 2); }
CURLcode arbor_curl_set_write_cb(CURL *h, size_t (*cb)(char *, size_t, size_t, void *), void *userdata) {
    typedef CURLcode (*fn_t)(CURL *, CURLoption, ...);
    RESOLVE(fn_t, "curl_easy_setopt")
    CURLcode r = f(h, CURLOPT_WRITEFUNCTION, cb);
    if (r != CURLE_OK) return r;
    return f(h, CURLOPT_WRITEDATA, userdata);
}
CURLMcode arbor_curlm_set_long(CURLM *m, CURLMoption opt, long v) {
    typedef CURLMcode (*fn_t)(CURLM *, CURLMoption, ...);
    RESOLVE(fn_t, "curl_multi_setopt")
    return f(m, opt, v);
}

static CURLcode getinfo(CURL *h, CURLINFO info, void *out) {
    typedef CURLcode (*fn_t)(CURL *, CURLINFO, ...);
    RESOLVE(fn_t, "curl_easy_getinfo")
    return f(h, info, out);
}
long arbor_curl_status(CURL *h) { long code = 0; getinfo(h, CURLINFO_RESPONSE_CODE, &code); return code; }
long long arbor_curl_content_length(CURL *h) {
    curl_off_t len = -1;
    if (getinfo(h, CURLINFO_CONTENT_LENGTH_DOWNLOAD_T, &len) != CURLE_OK) return -1;
    return (long long)len;
}
long arbor_curl_http_version(CURL *h) { long v = 0; getinfo(h, CURLINFO_HTTP_VERSION, &v); return v; }
void *arbor_curl_private(CURL *h) { char *p = NULL; getinfo(h, CURLINFO_PRIVATE, &p); return p; }
int arbor_curl_msg_done(CURLMsg *msg, CURL **easy, CURLcode *result) {
    if (msg->msg != CURLMSG_DONE) return 0;
    *easy = msg->easy_handle;
    *result = msg->data.result;
    return 1;
}
