# shellcheck shell=bash
# Settings and helpers shared by the boot-test scripts (sourced, never run).
#
# Every location is a variable with a default under /var/tmp; override from the environment:
#   ARBOR_BOOT_CACHE   downloads, the unpacked guest kernel, scratch images and logs
#                      (default /var/tmp/arbor-boot)
#   ARBOR_BIN_DIR      where the release `arbor` and `arbor-prepare-root` are
#                      (default: `swift build -c release --show-bin-path` of this checkout)
#   ARBOR_BOOT_KVER    the guest kernel release (default: the one setup.sh unpacked last)

ARBOR_BOOT_CACHE=${ARBOR_BOOT_CACHE:-/var/tmp/arbor-boot}
BOOT_SCRIPTS=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
BOOT_REPO=$(cd "$BOOT_SCRIPTS/../.." && pwd)
# The kernel flavour: Debian's cloud kernel has NVMe, ext4 and devtmpfs built in and is
# LZ4-compressed, so it boots in about two seconds under TCG with an initramfs of no modules.
BOOT_KFLAVOUR=${BOOT_KFLAVOUR:-cloud-amd64}
BOOT_BUSYBOX=${BOOT_BUSYBOX:-/bin/busybox}

boot_log() { printf '[boot %(%H:%M:%S)T] %s\n' -1 "$*" >&2; }
boot_die() { boot_log "error: $*"; exit 1; }

# The kernel release setup.sh unpacked (it records it in $ARBOR_BOOT_CACHE/kernel/current).
boot_kver() {
    if [ -n "${ARBOR_BOOT_KVER:-}" ]; then
        echo "$ARBOR_BOOT_KVER"
    elif [ -s "$ARBOR_BOOT_CACHE/kernel/current" ]; then
        cat "$ARBOR_BOOT_CACHE/kernel/current"
    else
        boot_die "no guest kernel yet: run scripts/boot/setup.sh"
    fi
}

# The directory holding the release binaries (built by lib.sh's boot_build_arbor).
boot_bin_dir() {
    if [ -n "${ARBOR_BIN_DIR:-}" ]; then
        echo "$ARBOR_BIN_DIR"
    else
        (cd "$BOOT_REPO" && swift build -c release --static-swift-stdlib --show-bin-path)
    fi
}

# boot_install_elf SRC ROOT DEST: copy the executable SRC to ROOT/DEST together with every shared
# library `ldd` names and the dynamic loader. ROOT is /usr-merged: each library goes under
# ROOT/usr/lib... with the name ldd printed (its content copied through symlinks), so ROOT needs
# the `lib -> usr/lib` and `lib64 -> usr/lib64` links. Libraries already present are kept.
boot_install_elf() {
    local src=$1 root=$2 dest=$3 lib libs rel
    [ -x "$src" ] || boot_die "not an executable: $src"
    mkdir -p "$root/$(dirname "$dest")"
    cp -L "$src" "$root/$dest"
    chmod 0755 "$root/$dest"
    # ldd fails on static executables and scripts ("not a dynamic executable"): nothing to copy.
    libs=$(ldd "$src" 2>/dev/null | awk '$2 == "=>" && $3 ~ /^\// {print $3} $1 ~ /^\// {print $1}') || libs=
    for lib in $libs; do
        case "$lib" in
            /usr/lib*) rel=${lib#/} ;;
            /lib*) rel=usr/${lib#/} ;;
            *) boot_die "unexpected library location $lib (needed by $src)" ;;
        esac
        [ -e "$root/$rel" ] && continue
        mkdir -p "$root/$(dirname "$rel")"
        cp -L "$lib" "$root/$rel"
    done
}

# boot_check_runs ROOT PATH: PATH starts inside ROOT (chroot), i.e. its loader and every library
# it links are there. Status 127 is the loader's (or chroot's) "cannot run"; anything else is
# the program's own answer to --help.
boot_check_runs() {
    local root=$1 path=$2 rc=0 msg
    msg=$(chroot "$root" "$path" --help 2>&1 >/dev/null) || rc=$?
    case "$rc" in 126 | 127) boot_die "$path does not start in $root: $msg" ;; esac
}

# boot_usr_merge ROOT: the top-level links of a /usr-merged tree.
boot_usr_merge() {
    local root=$1 d
    mkdir -p "$root/usr/bin" "$root/usr/sbin" "$root/usr/lib" "$root/usr/lib64"
    for d in bin sbin lib lib64; do
        [ -L "$root/$d" ] || ln -s "usr/$d" "$root/$d"
    done
}

# boot_install_busybox ROOT DIR: busybox-static at ROOT/DIR/busybox plus a symlink per applet.
boot_install_busybox() {
    local root=$1 dir=$2 applet
    [ -x "$BOOT_BUSYBOX" ] || boot_die "no $BOOT_BUSYBOX (run scripts/boot/setup.sh)"
    mkdir -p "$root/$dir"
    cp "$BOOT_BUSYBOX" "$root/$dir/busybox"
    for applet in $("$BOOT_BUSYBOX" --list); do
        [ "$applet" = busybox ] || [ -e "$root/$dir/$applet" ] || ln -s busybox "$root/$dir/$applet"
    done
}
