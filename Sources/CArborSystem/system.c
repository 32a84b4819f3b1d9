#define _GNU_SOURCE
#include "CArborSystem.h"
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <sys/file.h>
#include <sys/ioctl.h>
#include <linux/fs.h>
#include <malloc.h>
#include <unistd.h>
#include <sys/reboot.h>
#include <sys/mount.h>
#include <sched.h>
#include <sys/prctl.h>

int arbor_lock_fd(int fd, int exclusive, int wait) {
    struct flock fl = {0};
    fl.l_type = exclusive ? F_WRLCK : F_RDLCK;
    fl.l_whence = SEEK_SET;
    int r = fcntl(fd, wait ? F_OFD_SETLKW : F_OFD_SETLK, &fl);
    if (r == 0) return 0;
    if (errno != EINVAL) return -1;
    return flock(fd, (exclusive ? LOCK_EX : LOCK_SH) | (wait ? 0 : LOCK_NB));
}

int arbor_unlock_fd(int fd) {
    struct flock fl = {0};
    fl.l_type = F_UNLCK;
    fl.l_whence = SEEK_SET;
    if (fcntl(fd, F_OFD_SETLK, &fl) == 0) return 0;
    return flock(fd, LOCK_UN);
}

int arbor_renameat2(int olddirfd, const char *oldpath, int newdirfd, const char *newpath, unsigned int flags) {
    return renameat2(olddirfd, oldpath, newdirfd, newpath, flags);
}

int arbor_syncfs(int fd) { return syncfs(fd); }

int arbor_get_inode_flags(int fd, unsigned int *flags) {
    int f = 0;
    int r = ioctl(fd, FS_IOC_GETFLAGS, &f);
    if (r == 0) *flags = (unsigned int)f;
    return r;
}

int arbor_set_inode_flags(int fd, unsigned int flags) {
    int f = (int)flags;
    return ioctl(fd, FS_IOC_SETFLAGS, &f);
}

unsigned int arbor_immutable_flag(void) { return FS_IMMUTABLE_FL; }

long arbor_copy_file_range(int fd_in, int fd_out, size_t len) {
    return (long)copy_file_range(fd_in, NULL, fd_out, NULL, len, 0);
}

void arbor_tune_malloc(long mmap_threshold, long trim_threshold) {
    mallopt(M_MMAP_THRESHOLD, (int)mmap_threshold);
    mallopt(M_TRIM_THRESHOLD, (int)trim_threshold);
}

int arbor_reboot(void) {
    return reboot(RB_AUTOBOOT);
}

int arbor_remount_rw_private(const char *path) {
    if (unshare(CLONE_NEWNS) != 0) return -1;
    if (mount(NULL, "/", NULL, MS_REC | MS_SLAVE, NULL) != 0) return -1;
    return mount(path, path, NULL, MS_REMOUNT | MS_BIND | MS_RELATIME | MS_SILENT, NULL);
}

int arbor_set_child_subreaper(void) {
    return prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0);
}
