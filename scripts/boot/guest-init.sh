#!/bin/sh
# /usr/sbin/init of the boot tests' OS trees (PID 1 after switch_root; busybox only).
#
# Prints markers on the serial console for the host's boot loader (bootloader.py):
#   BOOTED-VERSION=N, BOOTED-OSTREE=..., OSTREE-BOOTED-MARKER=yes|no, USR-RO=yes|no,
#   ETC-HOSTNAME=..., VAR-BOOTS=N (boots logged in the stateroot's shared /var).
# Then acts out the tree's health, from /usr/lib/arbor-test/health:
#   exit  PID 1 exits: kernel panic (and, with panic=1, a reboot that ends qemu);
#   hang  sleeps for ever before any blessing (the host's watchdog ends the attempt);
#   good  BLESS-START, `arbor admin bless-boot good` runs health.d (which passes),
#         BLESS-DONE and ARBOR-HEALTHY;
#   fail  the same, but health.d fails and bless-boot reboots (--on-failure=reboot).
# Afterwards: `arbor admin status --json` between ARBOR-STATUS-BEGIN/END, `ostree admin status`
# between OSTREE-STATUS-BEGIN/END, /sysroot remounted read-only (no journal replay at the host's
# next mount), sync, power off.
PATH=/usr/bin:/usr/sbin
set -f  # no globbing: kernel arguments are split into words, never expanded
export PATH

# The initramfs moves /proc, /sys, /dev and /run in; mount what is missing (busybox has no
# mountpoint applet: /proc/mounts tells).
[ -e /proc/mounts ] || mount -t proc proc /proc
mounted() { grep -q "^[^ ]* $1 " /proc/mounts; }
mounted /sys || mount -t sysfs sysfs /sys
mounted /dev || mount -t devtmpfs devtmpfs /dev
mounted /run || mount -t tmpfs -o mode=0755,nosuid,nodev tmpfs /run
mounted /tmp || mount -t tmpfs -o mode=1777,nosuid,nodev tmpfs /tmp

off() {
    sync
    if mount -o remount,ro /sysroot 2>/dev/null; then echo "SYSROOT-RO=yes"; else echo "SYSROOT-RO=no"; fi
    echo "POWEROFF"
    poweroff -f
    exit 1
}

# shellcheck disable=SC1091
. /usr/lib/os-release
ostree_arg=
read -r cmdline < /proc/cmdline
for arg in $cmdline; do
    case "$arg" in ostree=*) ostree_arg=${arg#ostree=} ;; esac
done
echo "BOOTED-VERSION=$VERSION_ID"
echo "BOOTED-OSTREE=$ostree_arg"
if [ -e /run/ostree-booted ]; then echo "OSTREE-BOOTED-MARKER=yes"; else echo "OSTREE-BOOTED-MARKER=no"; fi
if touch /usr/.rw-test 2>/dev/null; then rm -f /usr/.rw-test; echo "USR-RO=no"; else echo "USR-RO=yes"; fi
echo "ETC-HOSTNAME=$(cat /etc/hostname 2>/dev/null)"
# ro with [sysroot] readonly=true (arbor-prepare-root), rw otherwise.
echo "SYSROOT-MOUNT=$(grep ' /sysroot ' /proc/mounts | head -n 1 | cut -d ' ' -f 4 | cut -d , -f 1)"
mkdir -p /var/log
echo "version=$VERSION_ID ostree=$ostree_arg" >> /var/log/arbor-boots.log
echo "VAR-BOOTS=$(wc -l < /var/log/arbor-boots.log)"
sync

health=$(cat /usr/lib/arbor-test/health 2>/dev/null)
echo "HEALTH-MODE=$health"
case "$health" in
    exit)
        echo "GUEST-INIT-EXIT"
        exit 1
        ;;
    hang)
        echo "GUEST-HANG"
        while :; do sleep 3600; done
        ;;
esac

echo "BLESS-START"
rc=0
arbor admin bless-boot good --health-dir=/usr/lib/arbor-test/health.d --health-timeout=10 \
    --on-failure=reboot || rc=$?
if [ "$rc" -eq 0 ]; then
    echo "BLESS-DONE"
    echo "ARBOR-HEALTHY"
else
    # With --on-failure=reboot a failed check never gets here; a bless-boot that cannot work
    # at all (an error, or an older arbor) does.
    echo "BLESS-FAILED status=$rc"
fi

# stdout only between the markers (the JSON), stderr after them.
echo "ARBOR-STATUS-BEGIN"
arbor admin status --json 2>/tmp/arbor-status.err || echo "ARBOR-STATUS-FAILED status=$?" >> /tmp/arbor-status.err
echo "ARBOR-STATUS-END"
sed 's/^/ARBOR-STATUS-STDERR: /' /tmp/arbor-status.err
echo "OSTREE-STATUS-BEGIN"
ostree admin status 2>&1
echo "OSTREE-STATUS-END"
off
