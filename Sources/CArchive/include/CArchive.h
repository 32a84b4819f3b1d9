#ifndef ARBOR_CARCHIVE_H
#define ARBOR_CARCHIVE_H
#include <archive.h>
#include <archive_entry.h>

/// Loads libarchive (and its compression libraries) on first use: most commands never read or
/// write a tarball, and mapping these libraries at every start costs memory and time.
/// Returns NULL when loaded, or a message saying what could not be loaded. Call it before the
/// first archive_* function; those functions end the process if the library cannot be loaded.
const char *arbor_archive_load(void);
#endif
