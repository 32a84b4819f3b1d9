// SHA-256 goes through OpenSSL's direct SHA256_* interface: the EVP route fetches an
// implementation from a provider first, which costs ~2 MB of resident code and data at the
// first digest and a lookup per init, for the same assembly underneath.
#define OPENSSL_SUPPRESS_DEPRECATED 1
#include <openssl/sha.h>
#include <openssl/evp.h>
#include <openssl/err.h>
