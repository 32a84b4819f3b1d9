#ifndef ARBOR_SYSTEM_H
#define ARBOR_SYSTEM_H
#include <sys/types.h>
#include <sys/xattr.h>

/// Takes an open-file-description lock on the whole file (as OSTree's repository lock does),
/// falling back to flock(2) where OFD locks are unsupported. `exclusive` selects a write lock,
/// `wait` blocks. Returns 0, or -1 with errno set (EWOULDBLOCK/EAGAIN when held elsewhere).
int arbor_lock_fd(int fd, int exclusive, int wait);
/// Releases a lock taken with arbor_lock_fd.
int arbor_unlock_fd(int fd);
/// renameat2(2) with flags (RENAME_NOREPLACE = 1, RENAME_EXCHANGE = 2).
int arbor_renameat2(int olddirfd, const char *oldpath, int newdirfd, const char *newpath, unsigned int flags);
/// syncfs(2) on the filesystem holding fd.
int arbor_syncfs(int fd);
/// Reads the inode flags (FS_IOC_GETFLAGS); returns -1 with errno when unsupported.
int arbor_get_inode_flags(int fd, unsigned int *flags);
/// Writes the inode flags (FS_IOC_SETFLAGS).
int arbor_set_inode_flags(int fd, unsigned int flags);
/// The immutable inode flag (FS_IMMUTABLE_FL).
unsigned int arbor_immutable_flag(void);
/// Copies up to len bytes between descriptors in the kernel; returns bytes copied or -1.
long arbor_copy_file_range(int fd_in, int fd_out, size_t len);
/// Makes large allocations come from (and return to) the system directly, and trims the heap
/// eagerly, so that peak memory follows what is in use.
void arbor_tune_malloc(long mmap_threshold, long trim_threshold);
/// reboot(2) with RB_AUTOBOOT (after the caller synced); returns only on failure (-1, errno).
int arbor_reboot(void);
/// Moves this process into a private mount namespace (mounts slave to the parent's) and
/// remounts the bind mount at `path` read-write there, as ostree does for a read-only /sysroot.
int arbor_remount_rw_private(const char *path);
/// Makes this process the reaper of its orphaned descendants (PR_SET_CHILD_SUBREAPER), so that
/// a child that double-forks or calls setsid stays reachable.
int arbor_set_child_subreaper(void);
#endif
