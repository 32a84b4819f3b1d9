#ifndef ARBOR_CURL_H
#define ARBOR_CURL_H
#include <curl/curl.h>

/// Loads libcurl on first use. Returns NULL when loaded, or a message saying what could not be
/// loaded. Call it before the first curl_* function; those end the process if libcurl is missing.
const char *arbor_curl_load(void);

/// curl_easy_setopt for a long value (curl_easy_setopt is variadic and cannot be called from Swift).
CURLcode arbor_curl_set_long(CURL *h, CURLoption opt, long v);
/// curl_easy_setopt for a pointer value.
CURLcode arbor_curl_set_ptr(CURL *h, CURLoption opt, void *p);
/// curl_easy_setopt for a string value (copied by libcurl).
CURLcode arbor_curl_set_str(CURL *h, CURLoption opt, const char *s);
/// curl_easy_setopt for the write callback.
CURLcode arbor_curl_set_write_cb(CURL *h, size_t (*cb)(char *, size_t, size_t, void *), void *userdata);
/// curl_multi_setopt for a long value.
CURLMcode arbor_curlm_set_long(CURLM *m, CURLMoption opt, long v);
/// The HTTP status of a finished transfer (0 for non-HTTP).
long arbor_curl_status(CURL *h);
/// The Content-Length of a finished transfer, or -1.
long long arbor_curl_content_length(CURL *h);
/// The HTTP version used by a finished transfer (CURL_HTTP_VERSION_*).
long arbor_curl_http_version(CURL *h);
/// The private pointer set with CURLOPT_PRIVATE.
void *arbor_curl_private(CURL *h);
/// The easy handle and result of a CURLMSG_DONE message.
int arbor_curl_msg_done(CURLMsg *msg, CURL **easy, CURLcode *result);
#endif
