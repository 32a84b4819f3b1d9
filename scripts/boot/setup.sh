#!/usr/bin/env bash
# Host setup for the boot tests; idempotent, and quiet when everything is already there.
#
#   - installs what is missing (as root or through sudo): qemu-system-x86, busybox-static,
#     e2fsprogs, util-linux, python3;
#   - fetches Debian's cloud kernel with `apt-get download` and unpacks it with `dpkg -x` into
#     $ARBOR_BOOT_CACHE/kernel/KVER (default /var/tmp/arbor-boot): the kernel is never installed
#     on this machine, and /boot and /lib/modules are not touched;
#   - checks that the kernel has what a module-less initramfs needs built in (NVMe, ext4,
#     devtmpfs, initramfs support).
#
# Prints two lines for scripts:  KVER=<release>  and  VMLINUZ=<path>.
# Environment: ARBOR_BOOT_CACHE; BOOT_KFLAVOUR (default cloud-amd64); ARBOR_BOOT_KABI to pin the
# kernel ABI (default: what linux-image-$BOOT_KFLAVOUR depends on now, e.g. 6.1.0-57).
set -euo pipefail
# shellcheck source=scripts/boot/common.sh
. "$(dirname "$0")/common.sh"

SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO=sudo
export DEBIAN_FRONTEND=noninteractive

apt_updated=0
apt_update_once() {
    [ "$apt_updated" = 1 ] && return 0
    $SUDO apt-get update -qq >/dev/null
    apt_updated=1
}

# Packages, by the command that proves each is there.
need=()
command -v qemu-system-x86_64 >/dev/null || need+=(qemu-system-x86)
{ [ -x "$BOOT_BUSYBOX" ] && "$BOOT_BUSYBOX" --list | grep -qx switch_root; } || need+=(busybox-static)
{ command -v mkfs.ext4 >/dev/null && command -v debugfs >/dev/null; } || need+=(e2fsprogs)
{ command -v losetup >/dev/null && command -v mountpoint >/dev/null; } || need+=(util-linux mount)
command -v python3 >/dev/null || need+=(python3)
command -v dpkg-deb >/dev/null || need+=(dpkg)
if [ ${#need[@]} -gt 0 ]; then
    boot_log "installing: ${need[*]}"
    $SUDO apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null 2>&1 || {
        apt_update_once
        $SUDO apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
    }
fi

# One setup at a time: concurrent runs would download and unpack into the same place.
mkdir -p "$ARBOR_BOOT_CACHE/kernel" "$ARBOR_BOOT_CACHE/dl"
exec 9>"$ARBOR_BOOT_CACHE/.setup.lock"
flock -w 600 9 || boot_die "another setup.sh holds $ARBOR_BOOT_CACHE/.setup.lock"

kabi=${ARBOR_BOOT_KABI:-}
if [ -z "$kabi" ]; then
    depends() { apt-cache depends "linux-image-$BOOT_KFLAVOUR" 2>/dev/null |
                sed -n "s/^ *Depends: linux-image-\(.*\)-$BOOT_KFLAVOUR\$/\1/p" | head -1; }
    kabi=$(depends)
    if [ -z "$kabi" ]; then apt_update_once; kabi=$(depends); fi
    [ -n "$kabi" ] || boot_die "cannot find the kernel ABI of linux-image-$BOOT_KFLAVOUR (apt-cache depends)"
fi
kver=$kabi-$BOOT_KFLAVOUR
kdir=$ARBOR_BOOT_CACHE/kernel/$kver

if [ ! -s "$kdir/vmlinuz" ] || [ ! -s "$kdir/config" ]; then
    pkg=linux-image-$kver
    deb=$(find "$ARBOR_BOOT_CACHE/dl" -maxdepth 1 -name "${pkg}_*.deb" | sort | tail -1)
    if [ -z "$deb" ]; then
        boot_log "apt-get download $pkg"
        (cd "$ARBOR_BOOT_CACHE/dl" && { apt-get download -qq "$pkg" 2>/dev/null ||
            { apt_update_once && apt-get download -qq "$pkg"; }; })
        deb=$(find "$ARBOR_BOOT_CACHE/dl" -maxdepth 1 -name "${pkg}_*.deb" | sort | tail -1)
        [ -n "$deb" ] || boot_die "apt-get download $pkg gave no .deb"
    fi
    boot_log "unpacking $(basename "$deb")"
    tmp=$(mktemp -d "$ARBOR_BOOT_CACHE/kernel/.unpack.XXXXXX")
    trap 'rm -rf "$tmp"' EXIT
    dpkg-deb -x "$deb" "$tmp/x"
    mkdir -p "$tmp/k"
    cp "$tmp/x/boot/vmlinuz-$kver" "$tmp/k/vmlinuz"
    cp "$tmp/x/boot/config-$kver" "$tmp/k/config"
    # The modules are kept for a kernel that would need some in the initramfs (not this one).
    if [ -d "$tmp/x/lib/modules/$kver" ]; then
        mkdir -p "$tmp/k/modules"
        cp -a "$tmp/x/lib/modules/$kver/." "$tmp/k/modules/"
    fi
    rm -rf "$kdir"
    mv "$tmp/k" "$kdir"
    rm -rf "$tmp"
    trap - EXIT
    # The .deb is no longer needed once unpacked.
    rm -f "$deb"
fi

# A module-less initramfs mounts an ext4 root on NVMe: all of it must be built in.
for opt in CONFIG_BLK_DEV_NVME CONFIG_EXT4_FS CONFIG_DEVTMPFS CONFIG_BLK_DEV_INITRD CONFIG_RD_GZIP; do
    grep -qx "$opt=y" "$kdir/config" ||
        boot_die "$kver: $opt is not built in ($(grep "^$opt=" "$kdir/config" || echo unset)); the initramfs carries no modules"
done

echo "$kver" > "$ARBOR_BOOT_CACHE/kernel/current.tmp"
mv "$ARBOR_BOOT_CACHE/kernel/current.tmp" "$ARBOR_BOOT_CACHE/kernel/current"
echo "KVER=$kver"
echo "VMLINUZ=$kdir/vmlinuz"
