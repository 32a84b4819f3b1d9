#!/bin/sh
# /init of the boot tests' initramfs (busybox-static and arbor-prepare-root, no modules: the
# cloud kernel has NVMe and ext4 built in).
#
#   1. mount /proc, /sys, /dev; print INITRAMFS-START;
#   2. wait (bounded) for root= and mount it at /sysroot (rw unless `ro` is given;
#      rootfstype= and rootflags= are honoured); a tmpfs on /run;
#   3. arbor-prepare-root /sysroot: the deployment named by ostree= becomes /sysroot, the
#      physical root /sysroot/sysroot, and /run/ostree-booted is written; print PREPARE-ROOT-DONE;
#   4. move /run, /dev, /proc and /sys into the new root and switch_root to its /sbin/init.
#
# Any failure prints "INITRAMFS-FAIL: ..." and powers off at once (qemu runs with -no-reboot),
# so a broken boot never hangs and always counts as one attempt.
PATH=/usr/bin:/usr/sbin:/bin:/sbin
set -f  # no globbing: kernel arguments are split into words, never expanded
export PATH

fail() {
    echo "INITRAMFS-FAIL: $*"
    # Powering off is what the qemu harness needs; a real initramfs should reboot -f instead.
    poweroff -f
    # poweroff -f does not return; should it ever, panic instead of running on.
    exit 1
}

mount -t proc proc /proc || fail "mount /proc"
mount -t sysfs sysfs /sys || fail "mount /sys"
mount -t devtmpfs devtmpfs /dev || fail "mount /dev"
echo "INITRAMFS-START"

root=
rootfstype=ext4
rootflags=
mode=rw
read -r cmdline < /proc/cmdline
for arg in $cmdline; do
    case "$arg" in
        root=*) root=${arg#root=} ;;
        rootfstype=*) rootfstype=${arg#rootfstype=} ;;
        rootflags=*) rootflags=${arg#rootflags=} ;;
        ro) mode=ro ;;
        rw) mode=rw ;;
    esac
done
[ -n "$root" ] || fail "no root= on the kernel command line"

# root= is a device path, LABEL=... or UUID=...; wait up to 10 s for it to appear.
i=0
dev=
while :; do
    case "$root" in
        LABEL=* | UUID=*) dev=$(findfs "$root" 2>/dev/null) || dev= ;;
        *) dev=$root ;;
    esac
    [ -n "$dev" ] && [ -b "$dev" ] && break
    i=$((i + 1))
    [ "$i" -le 100 ] || fail "root device $root did not appear within 10 s"
    sleep 0.1
done

mkdir -p /sysroot /run
mount -t "$rootfstype" -o "$mode${rootflags:+,$rootflags}" "$dev" /sysroot ||
    fail "mount $dev ($rootfstype, $mode${rootflags:+,$rootflags}) on /sysroot"
# arbor-prepare-root writes /run/ostree-booted here; the tmpfs moves into the new root below.
mount -t tmpfs -o mode=0755,nosuid,nodev tmpfs /run || fail "mount tmpfs on /run"

[ -x /usr/lib/arbor/arbor-prepare-root ] || fail "no arbor-prepare-root in the initramfs"
echo "PREPARE-ROOT-START"
# arbor.switch-root on the kernel command line: arbor-prepare-root does the switch itself.
case " $(cat /proc/cmdline) " in
    *" arbor.switch-root "* | *" arbor.switch-root=1 "*)
        echo "PREPARE-ROOT-SWITCH"
        exec /usr/lib/arbor/arbor-prepare-root --switch-root /sysroot
        ;;
esac
/usr/lib/arbor/arbor-prepare-root /sysroot || fail "arbor-prepare-root /sysroot exited with status $?"
echo "PREPARE-ROOT-DONE"

# The deployment is now /sysroot. Hand over the API file systems (busybox's switch_root moves
# none of them), /run first: it carries ostree-booted.
# A link in the deployment (`[ -d ]` follows it) could send a mount anywhere: directories only.
for fs in /run /dev /proc /sys; do
    if [ -d "/sysroot$fs" ] && [ ! -L "/sysroot$fs" ]; then
        mount --move "$fs" "/sysroot$fs" || fail "move $fs into the new root"
    else
        umount "$fs" 2>/dev/null
    fi
done
[ -x /sysroot/sbin/init ] || [ -L /sysroot/sbin/init ] || fail "the deployment has no /sbin/init"
# shellcheck disable=SC2093  # the next line runs only when switch_root could not exec
exec switch_root /sysroot /sbin/init
fail "switch_root /sysroot /sbin/init failed"
