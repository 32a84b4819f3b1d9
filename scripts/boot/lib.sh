# shellcheck shell=bash
# Helpers for boot-test scenario scripts. Source it, then call boot_prepare once:
#
#   . scripts/boot/lib.sh
#   boot_prepare                              # host setup, release build, the shared initramfs
#   img=$BOOT_WORK/disk.img
#   boot_make_image "$img"                    # 512M ext4, whole disk (root=/dev/nvme0n1)
#   boot_init_sysroot "$img"                  # admin init-fs + os-init demo
#   boot_commit "$img" 1 good                 # make-tree.sh + arbor commit (prints the checksum)
#   boot_deploy "$img"                        # admin deploy with $ARBOR_BOOT_KARGS
#   boot_once "$img" --expect-version=1       # one boot; RESULT in $BOOT_RESULT
#   boot_field outcome                        # -> healthy
#   boot_commit "$img" 2 fail && boot_upgrade "$img" --boot-tries=3
#   boot_until "$img" healthy 5               # boots until healthy (or 5 boots); UNTIL in $BOOT_UNTIL
#   boot_admin "$img" status --json           # any `arbor admin` command against the image
#
# Everything is bounded: each qemu run has a watchdog ($ARBOR_BOOT_WATCHDOG seconds, default 30),
# and on any exit the EXIT trap unmounts the image and removes $BOOT_WORK (scripts that need
# their own exit work add it with boot_at_exit 'command').
#
# Environment: ARBOR_BOOT_CACHE (default /var/tmp/arbor-boot), ARBOR_BIN_DIR (skip the build and
# use these binaries), ARBOR_BOOT_KARGS, ARBOR_BOOT_WATCHDOG, ARBOR_BOOT_OS (demo),
# ARBOR_BOOT_REF (demo/x86_64/standard), ARBOR_BOOT_KEEP=1 keeps $BOOT_WORK.

# shellcheck source=scripts/boot/common.sh
. "$(dirname "${BASH_SOURCE[0]}")/common.sh"

ARBOR_BOOT_OS=${ARBOR_BOOT_OS:-demo}
ARBOR_BOOT_REF=${ARBOR_BOOT_REF:-demo/x86_64/standard}
ARBOR_BOOT_KARGS=${ARBOR_BOOT_KARGS:-console=ttyS0 root=/dev/nvme0n1 rw panic=1 loglevel=4}
ARBOR_BOOT_WATCHDOG=${ARBOR_BOOT_WATCHDOG:-30}
BOOT_MNT=
BOOT_WORK=
BOOT_RESULT=
BOOT_UNTIL=
BOOT_AT_EXIT=()

boot_at_exit() { BOOT_AT_EXIT+=("$1"); }

boot_cleanup() {
    local rc=$? cmd
    trap - EXIT INT TERM
    for cmd in "${BOOT_AT_EXIT[@]}"; do eval "$cmd" || true; done
    boot_umount || true
    if [ -n "$BOOT_WORK" ] && [ -d "$BOOT_WORK" ]; then
        if [ "${ARBOR_BOOT_KEEP:-0}" = 1 ]; then
            boot_log "kept $BOOT_WORK"
        else
            chattr -R -i "$BOOT_WORK" 2>/dev/null || true
            rm -rf "$BOOT_WORK"
        fi
    fi
    return "$rc"
}
trap boot_cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# boot_prepare: host setup (packages, kernel), a release build (unless ARBOR_BIN_DIR is set),
# the shared initramfs, and a scratch directory $BOOT_WORK. Exports ARBOR (the host's arbor),
# ARBOR_BIN_DIR, ARBOR_BOOT_KVER and ARBOR_BOOT_INITRAMFS.
boot_prepare() {
    local out
    out=$("$BOOT_SCRIPTS/setup.sh") || boot_die "setup.sh failed"
    ARBOR_BOOT_KVER=$(sed -n 's/^KVER=//p' <<<"$out")
    export ARBOR_BOOT_KVER
    if [ -z "${ARBOR_BIN_DIR:-}" ]; then
        boot_build_arbor
    fi
    export ARBOR_BIN_DIR
    ARBOR=$ARBOR_BIN_DIR/arbor
    export ARBOR
    [ -x "$ARBOR" ] || boot_die "no $ARBOR"
    mkdir -p "$ARBOR_BOOT_CACHE/tmp"
    BOOT_WORK=$(mktemp -d "$ARBOR_BOOT_CACHE/tmp/work.XXXXXX")
    ARBOR_BOOT_INITRAMFS=$BOOT_WORK/initramfs.img
    export ARBOR_BOOT_INITRAMFS
    "$BOOT_SCRIPTS/make-initramfs.sh" "$ARBOR_BOOT_INITRAMFS"
}

# boot_build_arbor: the release build the guest runs (static Swift runtime); sets ARBOR_BIN_DIR.
boot_build_arbor() {
    boot_log "swift build -c release --static-swift-stdlib"
    (cd "$BOOT_REPO" && swift build -c release --static-swift-stdlib >&2) || boot_die "release build failed"
    ARBOR_BIN_DIR=$(cd "$BOOT_REPO" && swift build -c release --static-swift-stdlib --show-bin-path)
    export ARBOR_BIN_DIR
}

# boot_make_image IMG [SIZE]: a fresh whole-disk ext4 file system (no partition table).
boot_make_image() {
    local img=$1 size=${2:-512M}
    rm -f "$img"
    truncate -s "$size" "$img"
    # No lazy initialisation: nothing is written behind the guest's back at its first mount.
    mkfs.ext4 -q -F -L arbor-root -E lazy_itable_init=0,lazy_journal_init=0 "$img" ||
        boot_die "mkfs.ext4 $img failed"
}

# boot_mount IMG: loop-mount the image read-write at $BOOT_MNT (one image at a time).
boot_mount() {
    local img=$1
    [ -z "$BOOT_MNT" ] || boot_die "an image is already mounted at $BOOT_MNT"
    [ -z "$(losetup -j "$img")" ] || boot_die "$img is already attached: $(losetup -j "$img")"
    mkdir -p "$ARBOR_BOOT_CACHE/tmp"
    BOOT_MNT=$(mktemp -d "$ARBOR_BOOT_CACHE/tmp/mnt.XXXXXX")
    mount -t ext4 -o loop "$img" "$BOOT_MNT" || { rmdir "$BOOT_MNT"; BOOT_MNT=; boot_die "cannot mount $img"; }
}

# boot_umount: sync, unmount, detach, forget $BOOT_MNT. A no-op when nothing is mounted.
boot_umount() {
    [ -n "$BOOT_MNT" ] || return 0
    local dev
    sync
    if mountpoint -q "$BOOT_MNT"; then
        dev=$(findmnt -n -o SOURCE "$BOOT_MNT" 2>/dev/null || true)
        umount "$BOOT_MNT" || { sleep 1; umount "$BOOT_MNT"; } || return 1
        case "$dev" in /dev/loop*) losetup -d "$dev" 2>/dev/null || true ;; esac
    fi
    rmdir "$BOOT_MNT" 2>/dev/null || true
    BOOT_MNT=
}

# boot_with_sysroot IMG COMMAND...: run COMMAND with the image mounted at $BOOT_MNT; unmounted
# afterwards whatever COMMAND returned; returns COMMAND's status.
boot_with_sysroot() {
    local img=$1 rc=0
    shift
    boot_mount "$img"
    "$@" || rc=$?
    boot_umount
    return "$rc"
}

_boot_admin() { local sub=$1; shift; "$ARBOR" admin "$sub" --sysroot="$BOOT_MNT" "$@"; }

# boot_admin IMG SUBCOMMAND [ARGS...]: `arbor admin SUBCOMMAND --sysroot=<mounted image> ARGS`.
boot_admin() {
    local img=$1
    shift
    boot_with_sysroot "$img" _boot_admin "$@"
}

_boot_init() {
    "$ARBOR" admin init-fs "$BOOT_MNT" && "$ARBOR" admin os-init --sysroot="$BOOT_MNT" "$ARBOR_BOOT_OS"
}

# boot_init_sysroot IMG: an empty sysroot with the stateroot $ARBOR_BOOT_OS.
boot_init_sysroot() { boot_with_sysroot "$1" _boot_init; }

_boot_commit() {
    local tree=$1 version=$2
    shift 2
    "$ARBOR" commit --repo="$BOOT_MNT/ostree/repo" -b "$ARBOR_BOOT_REF" -s "Arbor Demo $version" \
        --add-metadata-string=version="$version" --owner-uid=0 --owner-gid=0 "$@" "$tree"
}

# boot_commit IMG VERSION HEALTH [COMMIT_ARGS...]: build a tree (make-tree.sh) and commit it to
# $ARBOR_BOOT_REF in the image's repository. Prints the commit checksum.
boot_commit() {
    local img=$1 version=$2 health=$3 tree
    shift 3
    [ -n "$BOOT_WORK" ] || boot_die "call boot_prepare first"
    tree=$BOOT_WORK/tree-$version-$health
    "$BOOT_SCRIPTS/make-tree.sh" "$tree" "$version" "$health" || boot_die "make-tree.sh failed"
    local rc=0
    boot_with_sysroot "$img" _boot_commit "$tree" "$version" "$@" || rc=$?
    rm -rf "$tree"
    return "$rc"
}

# boot_deploy IMG [DEPLOY_ARGS...]: deploy $ARBOR_BOOT_REF with the kernel arguments
# $ARBOR_BOOT_KARGS (later deploys and upgrades inherit them).
boot_deploy() {
    local img=$1 karg kargs=()
    shift
    for karg in $ARBOR_BOOT_KARGS; do kargs+=("--karg=$karg"); done
    boot_admin "$img" deploy --os="$ARBOR_BOOT_OS" "${kargs[@]}" "$@" "$ARBOR_BOOT_REF"
}

# boot_upgrade IMG [UPGRADE_ARGS...]: `arbor admin upgrade` (e.g. --boot-tries=3).
boot_upgrade() {
    local img=$1
    shift
    boot_admin "$img" upgrade "$@"
}

# boot_once IMG [BOOTLOADER_ARGS...]: one boot attempt (bootloader.py boot). The RESULT JSON is
# left in $BOOT_RESULT and its line printed; returns bootloader.py's status (0, or 1 when an
# --expect-* check failed, 2 on a harness error).
boot_once() {
    local img=$1 out rc=0
    shift
    out=$(python3 "$BOOT_SCRIPTS/bootloader.py" boot "$img" --watchdog="$ARBOR_BOOT_WATCHDOG" "$@") || rc=$?
    BOOT_RESULT=$(sed -n 's/^RESULT //p' <<<"$out" | tail -1)
    [ -z "$out" ] || printf '%s\n' "$out"
    return "$rc"
}

# boot_until IMG OUTCOMES MAX [BOOTLOADER_ARGS...]: boot until the outcome is one of OUTCOMES
# (comma-separated), at most MAX times. The RESULT of the last boot is in $BOOT_RESULT, the
# summary (every boot's entry before/after, version, outcome) in $BOOT_UNTIL; returns 0 when
# the outcome was reached.
boot_until() {
    local img=$1 outcomes=$2 max=$3 out rc=0
    shift 3
    out=$(python3 "$BOOT_SCRIPTS/bootloader.py" until "$img" --outcome="$outcomes" --max="$max" \
        --watchdog="$ARBOR_BOOT_WATCHDOG" "$@") || rc=$?
    BOOT_RESULT=$(sed -n 's/^RESULT //p' <<<"$out" | tail -1)
    # shellcheck disable=SC2034  # for the scenario scripts
    BOOT_UNTIL=$(sed -n 's/^UNTIL //p' <<<"$out" | tail -1)
    [ -z "$out" ] || printf '%s\n' "$out"
    return "$rc"
}

# boot_entries IMG [--json]: the boot menu as the loader sorts it (image mounted read-only).
boot_entries() {
    python3 "$BOOT_SCRIPTS/bootloader.py" entries "$@"
}

# boot_field PATH [JSON]: a field of $BOOT_RESULT (or of JSON), by a dotted path with list
# indexes: outcome, entryAfter, arborStatus.booted, arborStatus.deployments.0.bootCounting.
# Strings print bare, null as "null", anything else as JSON.
boot_field() {
    python3 - "$1" "${2:-$BOOT_RESULT}" <<'EOF'
import json, sys
path, text = sys.argv[1], sys.argv[2]
value = json.loads(text) if text else None
for part in path.split(".") if path else []:
    if isinstance(value, list) and part.lstrip("-").isdigit():
        value = value[int(part)] if -len(value) <= int(part) < len(value) else None
    elif isinstance(value, dict):
        value = value.get(part)
    else:
        value = None
print(value if isinstance(value, str) else json.dumps(value))
EOF
}

# boot_expect WHAT ACTUAL EXPECTED: print "ok" or "FAIL" and count failures in BOOT_FAILURES.
BOOT_FAILURES=0
boot_expect() {
    if [ "$2" = "$3" ]; then
        echo "ok   $1: $2"
    else
        echo "FAIL $1: got '$2', expected '$3'"
        BOOT_FAILURES=$((BOOT_FAILURES + 1))
    fi
}
