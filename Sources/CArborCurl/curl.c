#include "CArborCurl.h"

CURLcode arbor_curl_set_long(CURL *h, CURLoption opt, long v) { return curl_easy_setopt(h, opt, v); }
CURLcode arbor_curl_set_ptr(CURL *h, CURLoption opt, void *p) { return curl_easy_setopt(h, opt, p); }
CURLcode arbor_curl_set_str(CURL *h, CURLoption opt, const char *s) { return curl_easy_setopt(h, opt, s); }
CURLcode arbor_curl_set_write_cb(CURL *h, size_t (*cb)(char *, size_t, size_t, void *), void *userdata) {
    CURLcode r = curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, cb);
    if (r != CURLE_OK) return r;
    return curl_easy_setopt(h, CURLOPT_WRITEDATA, userdata);
}
CURLMcode arbor_curlm_set_long(CURLM *m, CURLMoption opt, long v) { return curl_multi_setopt(m, opt, v); }
long arbor_curl_status(CURL *h) { long code = 0; curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &code); return code; }
long long arbor_curl_content_length(CURL *h) {
    curl_off_t len = -1;
    if (curl_easy_getinfo(h, CURLINFO_CONTENT_LENGTH_DOWNLOAD_T, &len) != CURLE_OK) return -1;
    return (long long)len;
}
long arbor_curl_http_version(CURL *h) { long v = 0; curl_easy_getinfo(h, CURLINFO_HTTP_VERSION, &v); return v; }
void *arbor_curl_private(CURL *h) { char *p = NULL; curl_easy_getinfo(h, CURLINFO_PRIVATE, &p); return p; }
int arbor_curl_msg_done(CURLMsg *msg, CURL **easy, CURLcode *result) {
    if (msg->msg != CURLMSG_DONE) return 0;
    *easy = msg->easy_handle;
    *result = msg->data.result;
    return 1;
}
