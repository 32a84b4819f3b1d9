#!/usr/bin/env bash
# make-tree.sh OUT VERSION HEALTH: write a bootable OS tree for the boot tests into OUT (replaced),
# ready for `arbor commit --owner-uid=0 --owner-gid=0`.
#
# HEALTH is what the guest does once booted (see guest-init.sh):
#   good | fail | hang | exit      as guest-init.sh describes;
#   initramfs-panic                a good tree whose initramfs panics before mounting the root
#                                  (make-initramfs.sh --panic).
#
# The tree (/usr-merged, busybox only, no top-level /etc):
#   usr/bin/busybox + applets; bin, sbin, lib, lib64 -> usr/...; ostree -> sysroot/ostree
#   usr/sbin/init                                     guest-init.sh
#   usr/bin/arbor, usr/bin/ostree                     with their libraries and the loader
#   usr/lib/os-release, usr/etc/os-release            VERSION_ID=VERSION, PRETTY_NAME
#   usr/etc/{passwd,group,hostname}                   hostname arbor-demo-vVERSION
#   usr/lib/arbor-test/health, health.d/10-check      the health mode and its check
#   usr/lib/modules/KVER/{vmlinuz,initramfs.img}      where ostree and arbor find the kernel
#   empty dev proc sys run tmp var sysroot boot
#
# Environment: ARBOR_BIN_DIR (see common.sh); ARBOR_BOOT_INITRAMFS=FILE to use a prebuilt
# initramfs (a good one; lib.sh builds it once per run) instead of building one here.
set -euo pipefail
# shellcheck source=scripts/boot/common.sh
. "$(dirname "$0")/common.sh"

[ $# -eq 3 ] || { echo "usage: $0 OUT VERSION good|fail|hang|exit|initramfs-panic" >&2; exit 2; }
out=$1 version=$2 health=$3
case "$health" in good | fail | hang | exit | initramfs-panic) ;; *) boot_die "unknown HEALTH $health" ;; esac
case "$version" in *[!A-Za-z0-9._~^+-]* | "") boot_die "VERSION must be a plain version string: $version" ;; esac

kver=$(boot_kver)
kdir=$ARBOR_BOOT_CACHE/kernel/$kver
[ -s "$kdir/vmlinuz" ] || boot_die "no kernel in $kdir (run scripts/boot/setup.sh)"
bindir=$(boot_bin_dir)
[ -x "$bindir/arbor" ] || boot_die "no $bindir/arbor (build: swift build -c release --static-swift-stdlib)"
command -v ostree >/dev/null || boot_die "no ostree on this machine (scripts/install-deps.sh installs it)"

case "$out" in /) boot_die "refusing to write a tree to /" ;; esac
if [ -e "$out" ]; then
    # A tree that was checked out may carry the immutable attribute.
    chattr -R -i "$out" 2>/dev/null || true
    rm -rf "$out"
fi
mkdir -p "$out"
t=$(cd "$out" && pwd)

boot_usr_merge "$t"
mkdir -p "$t/usr/etc" "$t/usr/lib/modules/$kver" "$t/usr/lib/arbor-test/health.d"
for d in dev proc sys run tmp var sysroot boot; do mkdir -p "$t/$d"; done
chmod 1777 "$t/tmp"
ln -s sysroot/ostree "$t/ostree"

boot_install_busybox "$t" usr/bin
install -m 0755 "$BOOT_SCRIPTS/guest-init.sh" "$t/usr/sbin/init"
boot_install_elf "$bindir/arbor" "$t" usr/bin/arbor
boot_install_elf "$(command -v ostree)" "$t" usr/bin/ostree
boot_check_runs "$t" /usr/bin/arbor
boot_check_runs "$t" /usr/bin/ostree

cat > "$t/usr/lib/os-release" <<EOF
NAME="Arbor Demo"
ID=arbor-demo
VERSION_ID=$version
PRETTY_NAME="Arbor Demo $version"
EOF
cp "$t/usr/lib/os-release" "$t/usr/etc/os-release"
printf 'root:x:0:0:root:/root:/bin/sh\n' > "$t/usr/etc/passwd"
printf 'root:x:0:\n' > "$t/usr/etc/group"
printf 'arbor-demo-v%s\n' "$version" > "$t/usr/etc/hostname"

# The health mode, and the check bless-boot runs: it passes unless the tree is meant to fail.
if [ "$health" = initramfs-panic ]; then echo good; else echo "$health"; fi > "$t/usr/lib/arbor-test/health"
if [ "$health" = fail ]; then
    printf '#!/bin/sh\necho "HEALTH-CHECK-FAILED: this tree fails its health check on purpose"\nexit 1\n'
else
    printf '#!/bin/sh\necho "HEALTH-CHECK-PASSED"\nexit 0\n'
fi > "$t/usr/lib/arbor-test/health.d/10-check"
chmod 0755 "$t/usr/lib/arbor-test/health.d/10-check"

cp "$kdir/vmlinuz" "$t/usr/lib/modules/$kver/vmlinuz"
initramfs=$t/usr/lib/modules/$kver/initramfs.img
if [ "$health" = initramfs-panic ]; then
    "$BOOT_SCRIPTS/make-initramfs.sh" --panic "$initramfs"
elif [ -n "${ARBOR_BOOT_INITRAMFS:-}" ]; then
    [ -s "$ARBOR_BOOT_INITRAMFS" ] || boot_die "no initramfs $ARBOR_BOOT_INITRAMFS"
    cp "$ARBOR_BOOT_INITRAMFS" "$initramfs"
else
    "$BOOT_SCRIPTS/make-initramfs.sh" "$initramfs"
fi
chmod 0644 "$initramfs"
boot_log "tree $out: version $version, health $health, $(du -sh "$t" | cut -f1)"
