#!/usr/bin/env bash
# make-initramfs.sh [--panic] OUT: build the boot tests' initramfs, a reproducible gzip'd newc
# cpio (same inputs, same bytes, so the trees carrying it keep one boot checksum).
#
# Contents (/usr-merged): busybox-static with its applets, /init (initramfs-init.sh),
# /usr/lib/arbor/arbor-prepare-root with the shared libraries it links and the dynamic loader,
# /dev/console and /dev/null. No kernel modules: the guest kernel has NVMe and ext4 built in
# (setup.sh checks).
#
# --panic builds a broken initramfs instead, whose /init prints INITRAMFS-START and
# INITRAMFS-PANIC and exits: the kernel panics before any root is mounted (with panic=1 it
# reboots, and qemu -no-reboot ends), for the "broken kernel or initramfs" scenarios.
#
# Environment: ARBOR_BIN_DIR (where arbor-prepare-root is; see common.sh).
set -euo pipefail
# shellcheck source=scripts/boot/common.sh
. "$(dirname "$0")/common.sh"

panic=0
if [ "${1:-}" = --panic ]; then panic=1; shift; fi
[ $# -eq 1 ] || { echo "usage: $0 [--panic] OUT" >&2; exit 2; }
out=$1

mkdir -p "$ARBOR_BOOT_CACHE/tmp"
stage=$(mktemp -d "$ARBOR_BOOT_CACHE/tmp/initramfs.XXXXXX")
trap 'rm -rf "$stage"' EXIT

boot_usr_merge "$stage"
boot_install_busybox "$stage" usr/bin
mkdir -p "$stage/dev" "$stage/proc" "$stage/sys" "$stage/run" "$stage/sysroot" "$stage/tmp"

if [ "$panic" = 1 ]; then
    cat > "$stage/init" <<'EOF'
#!/bin/sh
echo "INITRAMFS-START"
echo "INITRAMFS-PANIC: this initramfs is broken on purpose"
exit 1
EOF
else
    prepare=$(boot_bin_dir)/arbor-prepare-root
    [ -x "$prepare" ] || boot_die "no executable $prepare (build: swift build -c release --static-swift-stdlib)"
    boot_install_elf "$prepare" "$stage" usr/lib/arbor/arbor-prepare-root
    cp "$BOOT_SCRIPTS/initramfs-init.sh" "$stage/init"
fi
chmod 0755 "$stage/init"

# The loader and libraries must work from the staged tree exactly as they will in the guest.
[ "$panic" = 1 ] || boot_check_runs "$stage" /usr/lib/arbor/arbor-prepare-root

mkdir -p "$(dirname "$out")"
python3 "$BOOT_SCRIPTS/mkcpio.py" --gzip \
    --node dev/console:c:5:1:600 --node dev/null:c:1:3:666 "$stage" "$out"
boot_log "initramfs $out: $(du -h "$out" | cut -f1)$([ "$panic" = 1 ] && echo ' (panics on purpose)')"
