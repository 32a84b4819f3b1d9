#!/usr/bin/env bash
# compare-prepare-root.sh: arbor-prepare-root against Debian's ostree-prepare-root 2022.7, with
# no virtual machine. Needs root, unshare, ostree and ostree-boot (installed with apt-get when
# missing). Takes seconds.
#
# 1. Builds a sysroot with the real ostree: admin init-fs, os-init, two commits of a tiny tree
#    (fake kernel and initramfs in usr/lib/modules/KVER, usr/etc, a static test /sbin/init),
#    two admin deploys with kernel arguments.
# 2. For each case, runs each tool in its own private mount namespace set up like an initramfs:
#    a directory bound on itself and chrooted into, the sysroot bound at /sysroot, proc with
#    /proc/cmdline bound from a file holding the boot entry's options, a tmpfs on /run, the
#    host's /usr for the dynamic ostree-prepare-root. Then compares the mount tables (mount
#    point, source as a path inside the sysroot, ro/rw): default entry and the other one,
#    with and without `[sysroot] readonly=true`, with and without the /var bind, and with a
#    hotfix /usr overlay. /var is compared like with like: Debian's build binds it only when
#    /run/ostree/initramfs-mount-var exists, Arbor unless --no-var.
# 3. In each prepared namespace, chroots into the new root (host /usr bound in, /run moved in)
#    and checks that `ostree admin status` and `arbor admin status` mark the same, expected
#    deployment booted (`* `), and that ostree shows the default `(pending)` after a boot of
#    the other entry.
# 4. Checks arbor-prepare-root alone: its /run/ostree-booted (GVariant a{sv}), --switch-root
#    and PID 1 mode (in a PID namespace) up to the exec of the tree's init, and hostile inputs,
#    each of which must give one `arbor-prepare-root: error:` line, a non-zero status, within a
#    second, with the mount table left as it was. As PID 1: --help and --version go to init,
#    and a failure whose reboot(2) fails never exits.
# 5. Checks what ostree-prepare-root would get wrong or hang on: paths walked as bytes (no
#    grapheme cluster hides a `/`; link targets need not be UTF-8), FIFOs and devices as
#    configuration or command line, repository configs linked out of the sysroot,
#    prepare-root.conf read as GLib reads it (CRLF, strict booleans, bad lines), links as the
#    overlay's directories or as /boot, a read-only root made writable for the overlay and
#    read-only again on failure, /sbin/init checked inside the new root before any move,
#    bounded and escaped error lines, an existing /sysroot.tmp.
#
# Environment: ARBOR_PREPARE_ROOT (default: the debug build's), ARBOR_BIN (default: the debug
# build's arbor), ARBOR_KEEP_WORK=1 keeps the work directory (results in out/), CI=true turns
# a missing prerequisite into a failure instead of a skip.
# Prints PASS/FAIL per check; exits 1 when any check failed.
set -uo pipefail
cd "$(dirname "$0")/../.." || exit 1

failures=0
passes=0
pass() { echo "PASS: $*"; passes=$((passes + 1)); }
fail() { echo "FAIL: $*"; failures=$((failures + 1)); }
check() { # check NAME COMMAND...: PASS when the command succeeds.
    local name=$1; shift
    if "$@"; then pass "$name"; else fail "$name"; fi
}
prerequisite_missing() {
    if [ "${CI:-}" = true ]; then
        echo "FAIL: $* (required under CI=true)"
        exit 1
    fi
    echo "SKIP: compare-prepare-root: $*"
    exit 0
}

# ---- prerequisites -----------------------------------------------------------------------------
[ "$(id -u)" -eq 0 ] || prerequisite_missing "needs root (mount namespaces, bind mounts)"
command -v unshare >/dev/null || prerequisite_missing "unshare (util-linux) not found"
command -v ostree >/dev/null || prerequisite_missing "ostree not found (apt-get install ostree)"
OSTREE_PREPARE_ROOT=/usr/lib/ostree/ostree-prepare-root
if [ ! -x "$OSTREE_PREPARE_ROOT" ] && command -v apt-get >/dev/null; then
    echo "installing ostree-boot (for $OSTREE_PREPARE_ROOT)" >&2
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends ostree-boot >/dev/null 2>&1 ||
        { apt-get update -qq >/dev/null 2>&1 &&
          DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends ostree-boot >/dev/null 2>&1; }
fi
[ -x "$OSTREE_PREPARE_ROOT" ] || prerequisite_missing "$OSTREE_PREPARE_ROOT not found (apt-get install ostree-boot)"
unshare -m --propagation private true 2>/dev/null || prerequisite_missing "unshare -m does not work here"

if [ -z "${ARBOR_PREPARE_ROOT:-}" ] || [ -z "${ARBOR_BIN:-}" ]; then
    command -v swift >/dev/null || prerequisite_missing "swift not found and ARBOR_PREPARE_ROOT/ARBOR_BIN not set"
    bin_path=$(swift build --show-bin-path)
    ARBOR_PREPARE_ROOT=${ARBOR_PREPARE_ROOT:-$bin_path/arbor-prepare-root}
    ARBOR_BIN=${ARBOR_BIN:-$bin_path/arbor}
    if [ ! -x "$ARBOR_PREPARE_ROOT" ] || [ ! -x "$ARBOR_BIN" ]; then
        swift build --product arbor-prepare-root >/dev/null && swift build --product arbor >/dev/null ||
            { echo "FAIL: swift build"; exit 1; }
    fi
fi
[ -x "$ARBOR_PREPARE_ROOT" ] || { echo "FAIL: no arbor-prepare-root at $ARBOR_PREPARE_ROOT"; exit 1; }
[ -x "$ARBOR_BIN" ] || { echo "FAIL: no arbor at $ARBOR_BIN"; exit 1; }
ARBOR_PREPARE_ROOT=$(readlink -f "$ARBOR_PREPARE_ROOT")
ARBOR_BIN=$(readlink -f "$ARBOR_BIN")

# The tree's /sbin/init for the --switch-root and PID 1 checks: a static program that reports
# what it sees. Built with the system C compiler; without one those checks are skipped.
CC=$(command -v cc || command -v gcc || command -v clang || true)

WORK=$(mktemp -d /var/tmp/arbor-compare-prepare-root.XXXXXX)
cleanup() {
    if [ "${ARBOR_KEEP_WORK:-}" = 1 ]; then echo "kept $WORK"; return; fi
    # ostree marks deployment directories immutable.
    chattr -i "$WORK"/sysroot/ostree/deploy/*/deploy/* 2>/dev/null
    rm -rf "$WORK"
}
trap cleanup EXIT
S=$WORK/sysroot          # the physical root
I=$WORK/initramfs        # the stand-in initramfs
OUT=$WORK/out
mkdir -p "$S" "$I" "$OUT"
export WORK S I ARBOR_BIN ARBOR_PREPARE_ROOT   # for the namespace scripts

# ---- the sysroot ------------------------------------------------------------------------------
KVER=6.1.0-arbor-test
have_init=0
if [ -n "$CC" ]; then
    cat > "$WORK/test-init.c" <<'EOF'
/* The test tree's /sbin/init: says it ran, with its pid, whether /run/ostree-booted exists,
 * the device and inode of /, its arguments, and the mount table (mounting /proc if it is
 * missing). */
#include <stdio.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>
int main(int argc, char **argv) {
    struct stat root, marker;
    int has_marker = stat("/run/ostree-booted", &marker) == 0;
    if (stat("/", &root) != 0) return 2;
    if (access("/proc/self/mountinfo", R_OK) != 0) mount("proc", "/proc", "proc", 0, NULL);
    printf("ARBOR-TEST-INIT pid=%d marker=%d root=%lu:%lu\n", (int)getpid(), has_marker,
           (unsigned long)root.st_dev, (unsigned long)root.st_ino);
    printf("ARBOR-TEST-INIT-ARGS");
    for (int i = 1; i < argc; i++) printf(" %s", argv[i]);
    printf("\n");
    FILE *f = fopen("/proc/self/mountinfo", "r");
    char line[4096];
    while (f && fgets(line, sizeof line, f)) printf("MOUNTINFO %s", line);
    return 0;
}
EOF
    "$CC" -static -O1 -o "$WORK/test-init" "$WORK/test-init.c" 2>"$WORK/cc.log" && have_init=1
fi

make_tree() { # make_tree DIR VERSION
    local t=$1 v=$2
    mkdir -p "$t"/usr/{bin,sbin,lib/modules/$KVER,etc} "$t"/{dev,proc,sys,run,tmp,var,sysroot,boot,home,root,mnt}
    chmod 1777 "$t/tmp"
    ln -s usr/bin "$t/bin"; ln -s usr/sbin "$t/sbin"; ln -s usr/lib "$t/lib"; ln -s usr/lib64 "$t/lib64"
    mkdir -p "$t/usr/lib64"
    ln -s sysroot/ostree "$t/ostree"
    printf 'fake kernel %s\n' "$v" > "$t/usr/lib/modules/$KVER/vmlinuz"
    printf 'fake initramfs %s\n' "$v" > "$t/usr/lib/modules/$KVER/initramfs.img"
    printf 'NAME="Arbor Test"\nID=arbor-test\nVERSION_ID=%s\n' "$v" > "$t/usr/lib/os-release"
    ln -s ../lib/os-release "$t/usr/etc/os-release"
    printf 'root:x:0:0:root:/root:/bin/sh\n' > "$t/usr/etc/passwd"
    printf 'root:x:0:\n' > "$t/usr/etc/group"
    if [ "$have_init" = 1 ]; then install -m 755 "$WORK/test-init" "$t/usr/sbin/init"; fi
}

{
    ostree admin init-fs "$S" &&
    ostree admin os-init --sysroot="$S" demo &&
    for v in 1 2; do
        make_tree "$WORK/tree-$v" "$v" &&
        ostree commit --repo="$S/ostree/repo" -b "demo/v$v" --add-metadata-string=version="$v" \
            -s "v$v" --tree=dir="$WORK/tree-$v" >/dev/null &&
        ostree admin deploy --sysroot="$S" --os=demo --karg=root=/dev/vda --karg=rw --karg=quiet "demo/v$v" || exit 1
    done
} >"$WORK/setup.log" 2>&1 || { cat "$WORK/setup.log"; echo "FAIL: building the sysroot with ostree"; exit 1; }

# Deployments in boot order, as ostree lists them (the first is the default).
mapfile -t DEPLOYMENTS < <(ostree admin status --sysroot="$S" | awk '$1 == "demo" || ($1 == "*" && $2 == "demo") { print ($1 == "*") ? $3 : $2 }')
[ "${#DEPLOYMENTS[@]}" -eq 2 ] || { ostree admin status --sysroot="$S"; echo "FAIL: expected two deployments"; exit 1; }
# Each boot entry's options, by the deployment its ostree= resolves to.
declare -A ENTRY_OPTIONS
for conf in "$S"/boot/loader/entries/ostree-*.conf; do
    options=$(sed -n 's/^options //p' "$conf")
    link=$(printf '%s\n' "$options" | tr ' ' '\n' | sed -n 's/^ostree=//p')
    ENTRY_OPTIONS[$(basename "$(readlink -f "$S$link")")]=$options
done
for d in "${DEPLOYMENTS[@]}"; do
    [ -n "${ENTRY_OPTIONS[$d]:-}" ] || { echo "FAIL: no boot entry for $d"; exit 1; }
done
DEFAULT=${DEPLOYMENTS[0]}
OTHER=${DEPLOYMENTS[1]}
printf '%s\n' "${ENTRY_OPTIONS[$DEFAULT]}" > "$WORK/cmdline-default"
printf '%s\n' "${ENTRY_OPTIONS[$OTHER]}" > "$WORK/cmdline-other"
echo "sysroot: default $DEFAULT, other $OTHER; options: ${ENTRY_OPTIONS[$DEFAULT]}"

# ---- the stand-in initramfs ---------------------------------------------------------------------
mkdir -p "$I"/{usr,proc,run,sysroot,dev,mnt}
ln -s usr/bin "$I/bin"; ln -s usr/sbin "$I/sbin"; ln -s usr/lib "$I/lib"; ln -s usr/lib64 "$I/lib64"
install -m 755 "$ARBOR_PREPARE_ROOT" "$I/arbor-prepare-root"

# Where arbor's shared libraries live outside /usr and /lib (the Swift runtime), bound into the
# prepared root for `arbor admin status`.
mapfile -t ARBOR_LIB_DIRS < <(ldd "$ARBOR_BIN" 2>/dev/null | awk '$2 == "=>" && $3 ~ /^\// { print $3 }' |
    xargs -r -n1 dirname | sort -u | grep -v -E '^(/usr)?/lib(64|/x86_64-linux-gnu|/aarch64-linux-gnu)?$')

# The namespace script, run by `unshare -m --propagation private`. Arguments: TOOL (ostree or
# arbor), the result directory, the command-line file, MOUNTVAR (1: create
# /run/ostree/initramfs-mount-var), STATUS (1: then run both `admin status`), SYSROOT argument,
# then arbor-prepare-root's options.
cat > "$WORK/in-namespace.sh" <<'EOF'
set -u
tool=$1 out=$2 cmdline=$3 mountvar=$4 status=$5 sysroot_arg=$6
shift 6
mkdir -p "$out"
mount --bind "$I" "$I"
mount --bind "$S" "$I/sysroot"
mount --bind "$WORK" "$I/mnt"
mount -o bind,ro /usr "$I/usr"
mount -t proc proc "$I/proc"
mount --bind "$cmdline" "$I/proc/cmdline"
mount -t tmpfs -o mode=0755 tmpfs "$I/run"
if [ "$mountvar" = 1 ]; then mkdir -p "$I/run/ostree" && : > "$I/run/ostree/initramfs-mount-var"; fi
chroot "$I" /usr/bin/cat /proc/self/mountinfo > "$out/before"
start=$(date +%s%N)
if [ "$tool" = ostree ]; then
    timeout 10 chroot "$I" /usr/lib/ostree/ostree-prepare-root "$sysroot_arg" >"$out/stdout" 2>"$out/stderr"
else
    timeout 10 chroot "$I" /arbor-prepare-root "$@" "$sysroot_arg" >"$out/stdout" 2>"$out/stderr"
fi
echo $? > "$out/rc"
echo $(( ($(date +%s%N) - start) / 1000000 )) > "$out/ms"
chroot "$I" /usr/bin/cat /proc/self/mountinfo > "$out/after" 2>/dev/null
[ -e "$I/sysroot.tmp" ] && : > "$out/sysroot.tmp-left"
[ -e "$I/run/ostree-booted" ] && { cp "$I/run/ostree-booted" "$out/marker"; stat -c '%a' "$I/run/ostree-booted" > "$out/marker-mode"; }
[ -e "$I/run/ostree-sysroot-ro.stamp" ] && : > "$out/stamp"
if [ "$status" = 1 ] && [ "$(cat "$out/rc")" = 0 ]; then
    n=$I/sysroot
    stat -c '%d:%i' "$n" > "$out/new-root-ino"
    mount -o bind,ro /usr "$n/usr"
    mount --move "$I/run" "$n/run"
    mount -t proc proc "$n/proc"
    mount --bind "$cmdline" "$n/proc/cmdline"
    mount --bind /dev "$n/dev"
    mkdir -p "$n/run/arbor-test/bin"
    mount --bind "$(dirname "$ARBOR_BIN")" "$n/run/arbor-test/bin"
    libs=
    k=0
    for d in $ARBOR_LIB_DIRS; do
        mkdir -p "$n/run/arbor-test/lib$k"
        mount --bind "$d" "$n/run/arbor-test/lib$k"
        libs=$libs${libs:+:}/run/arbor-test/lib$k
        k=$((k + 1))
    done
    chroot "$n" /usr/bin/ostree admin status > "$out/ostree-status" 2>&1
    chroot "$n" /usr/bin/env LD_LIBRARY_PATH="$libs" "/run/arbor-test/bin/$(basename "$ARBOR_BIN")" admin status \
        > "$out/arbor-status" 2>&1
fi
EOF

# run_case NAME TOOL CMDLINE MOUNTVAR STATUS [ARBOR_OPTIONS...]: one tool in one fresh namespace.
run_case() {
    local name=$1 tool=$2 cmdline=$3 mountvar=$4 status=$5
    shift 5
    ARBOR_LIB_DIRS="${ARBOR_LIB_DIRS[*]}" unshare -m --propagation private \
        bash "$WORK/in-namespace.sh" "$tool" "$OUT/$name" "$cmdline" \
        "$mountvar" "$status" "${SYSROOT_ARG:-/sysroot}" "$@"
}

# The mount table of a run, one line per mount: mount point, source, ro/rw. The source is
# `sysroot:PATH` for a bind of a path inside the sysroot (found through the device and root of
# the mount at /sysroot before the run), else the file system type.
mount_table() { # mount_table RESULT_DIR
    local dir=$1 sys
    sys=$(awk '$5 == "/sysroot" { print $3, $4 }' "$dir/before")
    awk -v dev="${sys% *}" -v prefix="${sys#* }" '
        {
            sep = 0
            for (i = 7; i <= NF; i++) if ($i == "-") { sep = i; break }
            fstype = $(sep + 1)
            split($6, opts, ",")
            src = fstype
            if ($3 == dev && (substr($4, 1, length(prefix)) == prefix)) {
                rest = substr($4, length(prefix) + 1)
                if (rest == "" || substr(rest, 1, 1) == "/") src = "sysroot:" (rest == "" ? "/" : rest)
            }
            print $5, src, opts[1]
        }' "$dir/after"
}

same_presence() { # same_presence A B: both exist or neither does
    if [ -e "$1" ]; then [ -e "$2" ]; else [ ! -e "$2" ]; fi
}

booted_in() { # booted_in FILE: the CHECKSUM.SERIAL marked `* `
    awk '$1 == "*" { print $3; exit }' "$1"
}

# compare CASE CMDLINE_NAME EXPECTED_BOOTED OSTREE_MOUNTVAR ARBOR_MOUNTVAR ARBOR_OPTIONS...
compare() {
    local case=$1 cmdline=$WORK/cmdline-$2 expected=$3 omv=$4 amv=$5
    shift 5
    run_case "$case-ostree" ostree "$cmdline" "$omv" 1
    run_case "$case-arbor" arbor "$cmdline" "$amv" 1 "$@"
    local o=$OUT/$case-ostree a=$OUT/$case-arbor
    if [ "$(cat "$o/rc")" != 0 ]; then
        # The hotfix case needs overlayfs over this file system; without it there is no reference.
        if [ "${OPTIONAL_CASE:-0}" = 1 ]; then
            echo "SKIP: $case: ostree-prepare-root itself failed here: $(head -c 300 "$o/stderr")"
        else
            fail "$case: ostree-prepare-root exited $(cat "$o/rc"): $(head -c 300 "$o/stderr")"
        fi
        return
    fi
    if [ "$(cat "$a/rc")" != 0 ]; then
        fail "$case: arbor-prepare-root exited $(cat "$a/rc"): $(cat "$a/stderr")"
        return
    fi
    mount_table "$o" > "$o/table"
    mount_table "$a" > "$a/table"
    if diff -u "$o/table" "$a/table" > "$OUT/$case.diff"; then
        pass "$case: mount tables identical ($(wc -l < "$a/table") mounts)"
    else
        fail "$case: mount tables differ (ostree-prepare-root vs arbor-prepare-root):"
        sed 's/^/    /' "$OUT/$case.diff"
    fi
    check "$case: both leave no /sysroot.tmp" test ! -e "$o/sysroot.tmp-left" -a ! -e "$a/sysroot.tmp-left"
    check "$case: /run/ostree-booted from both, mode 640" \
        test "$(cat "$o/marker-mode" 2>/dev/null)" = 640 -a "$(cat "$a/marker-mode" 2>/dev/null)" = 640
    check "$case: /run/ostree-sysroot-ro.stamp from both or neither" same_presence "$o/stamp" "$a/stamp"
    local log
    log=$(cat "$a/stderr")
    check "$case: arbor-prepare-root logs one line naming $expected" \
        bash -c '[[ "$1" =~ ^arbor-prepare-root:\ ostree=/ostree/boot\.[01]/demo/[0-9a-f]{64}/[0-9]+\ -\>\ ostree/deploy/demo/deploy/$2$ ]]' _ "$log" "$expected"
    check "$case: marker is a{sv} with the deployment's device and inode" check_marker "$a/marker" "$a/new-root-ino" "$(test -e "$a/stamp" && echo 1 || echo 0)"
    # Who is booted, by each status tool, after each preparer.
    local who tool
    for who in ostree arbor; do
        local r=$OUT/$case-$who
        for tool in ostree arbor; do
            local b
            b=$(booted_in "$r/$tool-status")
            if [ "$b" = "$expected" ]; then
                pass "$case: after $who-prepare-root, '$tool admin status' marks $expected booted"
            else
                fail "$case: after $who-prepare-root, '$tool admin status' marks '${b:-nothing}' booted, expected $expected:"
                sed 's/^/    /' "$r/$tool-status"
            fi
        done
        if [ "$expected" = "$OTHER" ]; then
            check "$case: after $who-prepare-root, ostree shows the default $DEFAULT (pending)" \
                grep -q -E "^  demo $DEFAULT \(pending\)" "$r/ostree-status"
        fi
    done
}

# check_marker MARKER DEV:INO READONLY: the GVariant a{sv} Arbor writes, laid out by hand here
# (GVariant normal form) and compared byte for byte.
check_marker() {
    local marker=$1 devino ro=$3
    devino=$(cat "$2" 2>/dev/null) || return 1
    [ -f "$marker" ] || return 1
    python3 - "$marker" "${devino%:*}" "${devino#*:}" "$ro" <<'EOF'
import struct, sys
data = open(sys.argv[1], "rb").read()
dev, ino, ro = int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
def entry(key, value, sig):
    k = key.encode() + b"\0"
    body = k + b"\0" * (-len(k) % 8) + value + b"\0" + sig
    return body + bytes([len(k)])        # one-byte framing offset: the key's end
e1 = entry("backing-root-device-inode", struct.pack("<QQ", dev, ino), b"(tt)")
e2 = entry("sysroot-ro", bytes([ro]), b"b")
body = e1 + b"\0" * (-len(e1) % 8) + e2
expected = body + bytes([len(e1), len(body)])
sys.exit(0 if data == expected else 1)
EOF
}

echo "== ostree-prepare-root ($OSTREE_PREPARE_ROOT) vs arbor-prepare-root ($ARBOR_PREPARE_ROOT)"
# Like with like for /var: Debian's systemd build binds it only with initramfs-mount-var.
compare default-novar default "$DEFAULT" 0 0 --no-var
compare default-var default "$DEFAULT" 1 0
compare default-var-marker default "$DEFAULT" 1 1 --no-var
compare other-var other "$OTHER" 1 0
compare other-novar other "$OTHER" 0 0 --no-var

ostree config --repo="$S/ostree/repo" set sysroot.readonly true
compare readonly-novar default "$DEFAULT" 0 0 --no-var
compare readonly-var default "$DEFAULT" 1 0
compare readonly-other-var other "$OTHER" 1 0
ostree config --repo="$S/ostree/repo" unset sysroot.readonly

# A deployment unlocked with --hotfix: /usr is an overlay.
D=$S/ostree/deploy/demo/deploy/$DEFAULT
chattr -i "$D" 2>/dev/null
mkdir -p "$D/.usr-ovl-work" "$D/.usr-ovl-upper"
OPTIONAL_CASE=1 compare hotfix-var default "$DEFAULT" 1 0
rm -rf "$D/.usr-ovl-work" "$D/.usr-ovl-upper"
chattr +i "$D" 2>/dev/null

for tool in ostree arbor; do
    echo "== mount table after $tool-prepare-root, case default-var (mount point, source, ro/rw)"
    sed 's/^/    /' "$OUT/default-var-$tool/table" 2>/dev/null
done

# ---- --switch-root and PID 1 mode ------------------------------------------------------------------
# The init lines a run printed, and whether its mount table has MOUNTPOINT with SOURCE-SUFFIX.
init_mount() { # init_mount OUTPUT MOUNTPOINT ROOT-SUFFIX [ro|rw]
    awk -v mp="$2" -v root="$3" -v mode="${4:-}" '
        $1 == "MOUNTINFO" && $6 == mp && (root == "" || substr($5, length($5) - length(root) + 1) == root) {
            split($7, o, ","); if (mode == "" || o[1] == mode) found = 1
        }
        END { exit found ? 0 : 1 }' "$1"
}
deploy_ino=$(stat -c '%d:%i' "$S/ostree/deploy/demo/deploy/$DEFAULT")
if [ "$have_init" = 1 ]; then
    echo "== arbor-prepare-root --switch-root"
    run_case switch-root arbor "$WORK/cmdline-default" 0 0 --switch-root
    r=$OUT/switch-root
    check "switch-root: exit 0 from the tree's init" test "$(cat "$r/rc")" = 0
    check "switch-root: the tree's /sbin/init ran, with /run/ostree-booted" grep -q "^ARBOR-TEST-INIT pid=[0-9]* marker=1 " "$r/stdout"
    check "switch-root: / is the deployment (device and inode)" grep -q " root=$deploy_ino\$" "$r/stdout"
    check "switch-root: /sysroot is the physical root" init_mount "$r/stdout" /sysroot "" rw
    check "switch-root: /usr is read-only" init_mount "$r/stdout" /usr "/deploy/$DEFAULT/usr" ro
    check "switch-root: /var is the stateroot's" init_mount "$r/stdout" /var "/deploy/demo/var" rw
    check "switch-root: /proc and /run moved into the new root" bash -c \
        "grep -q '^MOUNTINFO [0-9]* [0-9]* [^ ]* [^ ]* /proc ' '$r/stdout' && grep -q '^MOUNTINFO [0-9]* [0-9]* [^ ]* [^ ]* /run ' '$r/stdout'"

    echo "== arbor-prepare-root as PID 1 (a PID namespace, / = the physical root)"
    : > "$S/.arbor-test-prepare-root"
    cp "$WORK/cmdline-default" "$S/.arbor-test-cmdline"
    # A failing PID 1 whose reboot(2) and power-off fail (no CAP_SYS_BOOT) must still not exit
    # (the kernel would panic with no word after ours): one error line, one line saying it
    # could not reboot, then it sleeps until killed. Started now, in the background, to run
    # alongside the checks below. unshare ignores SIGTERM while it waits, hence SIGKILL (status
    # 137), after which --kill-child ends the namespace.
    n=$OUT/pid1-noreboot; mkdir -p "$n"
    noreboot_pid=
    if command -v setpriv >/dev/null; then
        ( start=$(date +%s)
          timeout -s KILL 8 setpriv --bounding-set=-sys_boot --inh-caps=-sys_boot \
              unshare --kill-child -m -p -f --propagation private bash -c '
                mount --bind "$S" "$S"
                mount --bind "$ARBOR_PREPARE_ROOT" "$S/.arbor-test-prepare-root"
                exec chroot "$S" /.arbor-test-prepare-root' >"$n/stdout" 2>"$n/stderr" <&-
          echo $? > "$n/rc"
          echo $(( $(date +%s) - start )) > "$n/elapsed" ) 2>/dev/null &
        noreboot_pid=$!
    else
        echo "SKIP: pid1-noreboot (no setpriv to drop CAP_SYS_BOOT)"
    fi
    # As PID 1 exec'd by an initramfs (--switch-root), --help would exit: an error line instead,
    # then reboot(2) (5 s: in the background too).
    h=$OUT/pid1-switch-help; mkdir -p "$h"
    ( timeout 20 unshare -m -p -f --propagation private bash -c '
        mount --bind "$S" "$S"
        mount --bind "$ARBOR_PREPARE_ROOT" "$S/.arbor-test-prepare-root"
        exec chroot "$S" /.arbor-test-prepare-root --switch-root --help /' >"$h/stdout" 2>"$h/stderr" <&-
      echo $? > "$h/rc" ) 2>/dev/null &
    switch_help_pid=$!
    p=$OUT/pid1; mkdir -p "$p"
    # The kernel passes init the words it does not know, --help and --version included: as PID
    # 1 they go to /sbin/init (an exit would panic the kernel); only --cmdline-file=FILE and
    # --no-var are options there.
    timeout 20 unshare -m -p -f --propagation private bash -c '
        mount --bind "$S" "$S"
        mount --bind "$ARBOR_PREPARE_ROOT" "$S/.arbor-test-prepare-root"
        exec chroot "$S" /.arbor-test-prepare-root --cmdline-file=/.arbor-test-cmdline --help -h single --version' >"$p/stdout" 2>"$p/stderr"
    echo $? > "$p/rc"
    check "pid1: the tree's init ran as PID 1 with /run/ostree-booted" grep -q "^ARBOR-TEST-INIT pid=1 marker=1 " "$p/stdout"
    check "pid1: --help -h single --version are passed on to /sbin/init" grep -q -x "ARBOR-TEST-INIT-ARGS --help -h single --version" "$p/stdout"
    check "pid1: / is the deployment (device and inode)" grep -q " root=$deploy_ino\$" "$p/stdout"
    check "pid1: the old root is at /sysroot" init_mount "$p/stdout" /sysroot "" rw
    check "pid1: /usr is read-only" init_mount "$p/stdout" /usr "/deploy/$DEFAULT/usr" ro
    check "pid1: /var is the stateroot's" init_mount "$p/stdout" /var "/deploy/demo/var" rw
    check "pid1: /run is a tmpfs" bash -c "grep -q '^MOUNTINFO [0-9]* [0-9]* [^ ]* / /run .* - tmpfs ' '$p/stdout'"
    check "pid1: one log line, no error" bash -c "[ \$(wc -l < '$p/stderr') = 1 ] && ! grep -q error '$p/stderr'"

    # A failing PID 1 must not exit (the kernel would panic): one line, 5 s, reboot(2), which in a
    # PID namespace ends the namespace's init with SIGHUP. Without --cmdline-file it mounts
    # /proc itself, which here shows the host's command line: no ostree= there.
    f=$OUT/pid1-fail; mkdir -p "$f"
    start=$(date +%s)
    # (In a subshell whose stderr goes nowhere: the shell reports the SIGHUP there.)
    ( timeout 20 unshare -m -p -f --propagation private bash -c '
        mount --bind "$S" "$S"
        mount --bind "$ARBOR_PREPARE_ROOT" "$S/.arbor-test-prepare-root"
        exec chroot "$S" /.arbor-test-prepare-root' >"$f/stdout" 2>"$f/stderr" <&-
      echo $? > "$f/rc" ) 2>/dev/null
    rc=$(cat "$f/rc")
    elapsed=$(( $(date +%s) - start ))
    check "pid1-fail: one error line" bash -c "[ \$(wc -l < '$f/stderr') = 1 ] && grep -q '^arbor-prepare-root: error: ' '$f/stderr'"
    check "pid1-fail: waits ~5 s then reboot(2) (status $rc after ${elapsed}s)" test "$rc" != 0 -a "$rc" != 124 -a "$elapsed" -ge 4 -a "$elapsed" -le 12

    wait "$switch_help_pid"
    rc=$(cat "$h/rc")
    check "pid1-switch-help: --help is an error line, no usage text, then reboot(2) (status $rc)" bash -c \
        "[ \$(wc -l < '$h/stderr') = 1 ] && grep -q '^arbor-prepare-root: error: --help ' '$h/stderr' && [ ! -s '$h/stdout' ] && [ '$rc' != 0 ] && [ '$rc' != 124 ]"
    if [ -n "$noreboot_pid" ]; then
        wait "$noreboot_pid"
        rc=$(cat "$n/rc"); elapsed=$(cat "$n/elapsed")
        check "pid1-noreboot: no exit when reboot(2) and power-off fail: still running at the timeout (status $rc after ${elapsed}s)" \
            test "$rc" = 137 -a "$elapsed" -ge 7
        check "pid1-noreboot: the error line, then one line saying it cannot reboot" bash -c \
            "[ \$(wc -l < '$n/stderr') = 2 ] && head -1 '$n/stderr' | grep -q '^arbor-prepare-root: error: ' && tail -1 '$n/stderr' | grep -q '^arbor-prepare-root: cannot reboot (.*) or power off (.*); halted\$'"
    fi
    rm -f "$S/.arbor-test-prepare-root" "$S/.arbor-test-cmdline"
else
    if [ "${CI:-}" = true ]; then fail "no C compiler for the test init: --switch-root and PID 1 checks not run"
    else echo "SKIP: --switch-root and PID 1 checks (no C compiler for the test init: $(head -c 200 "$WORK/cc.log" 2>/dev/null))"; fi
fi

# ---- hostile inputs ----------------------------------------------------------------------------
echo "== hostile inputs to arbor-prepare-root"
H=$S/hostile
mkdir -p "$H/dir"
: > "$H/regular"
ln -s ../../../../../../../../../.. "$H/escape"
ln -s ../../../../../../../../../../etc/ostree-test "$H/escape-deep"
ln -s /ostree/deploy/demo/deploy/$DEFAULT "$H/absolute"
ln -s loop-b "$H/loop-a"; ln -s loop-a "$H/loop-b"
ln -s self "$H/self"
ln -s ../ostree/deploy/demo/deploy/0000000000000000000000000000000000000000000000000000000000000000.0 "$H/missing"
ln -s ../ostree/deploy/demo/var "$H/not-a-deployment"
ln -s regular/x "$H/through-file"
ln -s dir "$H/plain-dir"
base=${ENTRY_OPTIONS[$DEFAULT]}
good_link=$(printf '%s\n' "$base" | tr ' ' '\n' | sed -n 's/^ostree=//p')
# hostile NAME CMDLINE-TEXT [ARBOR_OPTIONS...]: PASS when arbor-prepare-root fails with one error
# line within a second, leaving the mounts, /sysroot.tmp (HOSTILE_KEEPS_TMP=1: one was there
# before) and /run as they were.
hostile() {
    local name=$1 text=$2
    shift 2
    printf '%s\n' "$text" > "$WORK/cmdline-$name"
    run_case "hostile-$name" arbor "$WORK/cmdline-$name" 0 0 "$@"
    local r=$OUT/hostile-$name rc lines ms
    rc=$(cat "$r/rc"); lines=$(wc -l < "$r/stderr"); ms=$(cat "$r/ms")
    if [ "$rc" != 0 ] && [ "$rc" != 124 ] && [ "$lines" = 1 ] && grep -q '^arbor-prepare-root: error: ' "$r/stderr" &&
       [ "$ms" -lt 1000 ] && cmp -s "$r/before" "$r/after" && [ ! -e "$r/marker" ] &&
       { [ "${HOSTILE_KEEPS_TMP:-0}" = 1 ] || [ ! -e "$r/sysroot.tmp-left" ]; }; then
        pass "hostile $name: $(cat "$r/stderr") [exit $rc, ${ms} ms, mounts unchanged]"
    else
        fail "hostile $name: exit $rc, $lines stderr lines, ${ms} ms, mounts $(cmp -s "$r/before" "$r/after" && echo unchanged || echo CHANGED):"
        head -c 2000 "$r/stderr" | sed 's/^/    /'
        diff "$r/before" "$r/after" | sed 's/^/    /'
    fi
}
hostile no-ostree "root=/dev/vda rw quiet"
hostile empty-ostree "root=/dev/vda ostree= rw"
hostile ostree-no-value "root=/dev/vda ostree rw"
hostile regular-file "root=/dev/vda ostree=/hostile/regular rw"
hostile directory "root=/dev/vda ostree=/hostile/dir rw"
hostile escape "root=/dev/vda ostree=/hostile/escape rw"
hostile escape-deep "root=/dev/vda ostree=/hostile/escape-deep rw"
hostile dotdot-in-value "root=/dev/vda ostree=/../../../../hostile/escape rw"
hostile absolute-link "root=/dev/vda ostree=/hostile/absolute rw"
hostile loop "root=/dev/vda ostree=/hostile/loop-a rw"
hostile self-loop "root=/dev/vda ostree=/hostile/self rw"
hostile missing-deployment "root=/dev/vda ostree=/hostile/missing rw"
hostile not-a-deployment "root=/dev/vda ostree=/hostile/not-a-deployment rw"
hostile through-file "root=/dev/vda ostree=/hostile/through-file rw"
hostile plain-dir-link "root=/dev/vda ostree=/hostile/plain-dir rw"
hostile missing-link "root=/dev/vda ostree=/ostree/boot.7/demo/x/0 rw"
hostile newline "root=/dev/vda ostree=\"$good_link
evil\" rw"
hostile quote "root=/dev/vda ostree=$good_link\"x\" rw"
hostile unterminated-quote "root=/dev/vda ostree=\"$good_link rw"
hostile relative "root=/dev/vda ostree=ostree/boot.1 rw"
hostile control-char "root=/dev/vda ostree=$good_link$(printf '\033')[2J rw"
hostile no-cmdline-file "$base" --cmdline-file=/nonexistent
hostile bad-option "$base" --frobnicate
SYSROOT_ARG=/nonexistent hostile missing-sysroot "$base" --no-var
# SYSROOT a plain directory, not a mount point: every mount succeeds until the physical root is
# moved, which fails; all of them must be undone.
SYSROOT_ARG=/mnt/sysroot hostile rollback-not-a-mountpoint "$base"
# Quoting that the kernel resolves: the whole argument or the value quoted is still found.
printf 'root=/dev/vda "ostree=%s" rw\n' "$good_link" > "$WORK/cmdline-quoted"
run_case quoted arbor "$WORK/cmdline-quoted" 0 0 --no-var
check "quoted \"ostree=...\" argument is found" test "$(cat "$OUT/quoted/rc")" = 0
printf 'root=/dev/vda ostree="%s" ostree=/hostile/regular rw\n' "$good_link" > "$WORK/cmdline-first"
run_case first-wins arbor "$WORK/cmdline-first" 0 0 --no-var
check "quoted ostree=\"...\" value, first ostree= wins" test "$(cat "$OUT/first-wins/rc")" = 0

# ---- the review's findings ------------------------------------------------------------------------
echo "== paths are bytes: no grapheme cluster absorbs a /, any link target works"
DD=$S/ostree/deploy/demo/deploy
# Each of these would lead to a "deployment" outside the sysroot, under /mnt/fake (the work
# directory, bound in the initramfs), if a `/` merged with its neighbour: after U+0600 (a
# "prepend" character) or before U+0301 (a combining mark), as in Swift's Characters.
combining=$(printf '\xcc\x81')
prepend=$(printf 'r\xd8\x80')
mkdir -p "$WORK/fake/deployment"/{usr,sysroot,var,etc} "$WORK/fake/$combining"/{usr,sysroot,var,etc}
ln -s /mnt/fake/deployment/usr "$DD/$prepend"
ln -s "../ostree/deploy/demo/deploy/$prepend/.." "$H/grapheme-prepend"
ln -s /mnt/fake "$DD/combining"
ln -s "../ostree/deploy/demo/deploy/combining/$combining" "$H/grapheme-combining"
hostile grapheme-prepend "root=/dev/vda ostree=/hostile/grapheme-prepend rw" --no-var
hostile grapheme-combining "root=/dev/vda ostree=/hostile/grapheme-combining rw" --no-var
rm -f "$DD/$prepend" "$DD/combining"
# A link target that is not UTF-8 is walked as the bytes it is (here to the default deployment).
mkdir "$H/$(printf '\xff')"
ln -s "$(printf '\xff')/../..$good_link" "$H/not-utf8"
printf 'root=/dev/vda ostree=/hostile/not-utf8 rw\n' > "$WORK/cmdline-not-utf8"
run_case not-utf8 arbor "$WORK/cmdline-not-utf8" 0 0 --no-var
check "a link target that is not UTF-8 resolves, to $DEFAULT" bash -c \
    "[ \$(cat '$OUT/not-utf8/rc') = 0 ] && grep -q ' -> ostree/deploy/demo/deploy/$DEFAULT\$' '$OUT/not-utf8/stderr'"

# alone NAME REFERENCE [ARBOR_OPTIONS...]: arbor-prepare-root alone on the default entry; PASS
# when it succeeds with one line within a second and mounts what ostree-prepare-root mounted
# in case REFERENCE.
alone() {
    local name=$1 reference=$2 r=$OUT/$1
    shift 2
    run_case "$name" arbor "$WORK/cmdline-default" 0 0 "$@"
    mount_table "$r" > "$r/table"
    if [ "$(cat "$r/rc")" = 0 ] && [ "$(wc -l < "$r/stderr")" = 1 ] && [ "$(cat "$r/ms")" -lt 1000 ] &&
       diff -u "$OUT/$reference-ostree/table" "$r/table" > "$OUT/$name.diff"; then
        pass "$name: mounts as ostree-prepare-root in $reference [$(cat "$r/ms") ms]"
    else
        fail "$name: exit $(cat "$r/rc"), $(cat "$r/ms") ms, mounts against ostree-prepare-root in $reference:"
        head -c 2000 "$r/stderr" | sed 's/^/    /'
        sed 's/^/    /' "$OUT/$name.diff"
    fi
}

echo "== configuration files: never a hang, never followed out of the sysroot"
RC=$S/ostree/repo/config
mv "$RC" "$RC.orig"
# SYSROOT/ostree/repo/config is ignored (not read-only) unless a regular file reached inside
# the sysroot; a relative link that stays inside is followed, as ostree 2022.7's fopen does.
mkfifo "$RC"
alone repo-config-fifo default-novar --no-var
rm "$RC"
{ cat "$RC.orig"; printf '[sysroot]\nreadonly=true\n'; } > "$WORK/outside-config"
ln -s /mnt/outside-config "$RC"
alone repo-config-absolute-link default-novar --no-var
rm "$RC"
ln -s ../../../../../../../../../../mnt/outside-config "$RC"
alone repo-config-escaping-link default-novar --no-var
rm "$RC"
{ cat "$RC.orig"; printf '[sysroot]\nreadonly=true\n'; } > "$RC.inside"
ln -s config.inside "$RC"
alone repo-config-relative-link readonly-novar --no-var
rm "$RC" "$RC.inside"
mv "$RC.orig" "$RC"
# prepare-root.conf (the initramfs's) and --cmdline-file must be regular files: an error line.
CONF=$I/etc/ostree/prepare-root.conf
mkdir -p "$I/etc/ostree"
mkfifo "$CONF"
hostile conf-fifo "$base" --no-var
rm "$CONF"
mknod "$WORK/char-device" c 1 3
ln -s /mnt/char-device "$CONF"
hostile conf-device-link "$base" --no-var
rm "$CONF" "$WORK/char-device"
mkfifo "$WORK/cmdline-fifo"
hostile cmdline-fifo "$base" --cmdline-file=/mnt/cmdline-fifo

echo "== prepare-root.conf read as GLib reads it"
conf() { printf '%b' "$1" > "$CONF"; }
conf '[sysroot]\r\nreadonly=true\r\n'
alone conf-crlf readonly-novar --no-var
conf '# comment\n\n[sysroot]\n  readonly = 1 \t\n[composefs]\nenabled = no\n'
alone conf-blanks readonly-novar --no-var
conf '[sysroot]\nreadonly=false\n'
alone conf-false default-novar --no-var
conf '[sysroot]\nreadonly=True\n'
hostile conf-True "$base" --no-var
conf '[sysroot]\nreadonly=yes\n'
hostile conf-yes "$base" --no-var
conf '[sysroot]\nreadonly=true\nnot a key file line\n'
hostile conf-garbage-line "$base" --no-var
conf 'readonly=true\n[sysroot]\n'
hostile conf-key-before-group "$base" --no-var
conf '[composefs]\nenabled=signed\n'
hostile conf-composefs "$base" --no-var
rm -rf "${I:?}/etc"

echo "== links where ostree-prepare-root would mount directories"
chattr -i "$D" 2>/dev/null
mkdir -p "$WORK/evil-work" "$WORK/evil-upper"
ln -s /mnt/evil-work "$D/.usr-ovl-work"
ln -s /mnt/evil-upper "$D/.usr-ovl-upper"
hostile overlay-links "$base" --no-var
rm "$D/.usr-ovl-work"
mkdir "$D/.usr-ovl-work"
hostile overlay-upper-link "$base" --no-var
rm -rf "$D/.usr-ovl-work" "$D/.usr-ovl-upper"
chattr +i "$D" 2>/dev/null
mkdir -p "$WORK/fakeboot"
ln -s loader.0 "$WORK/fakeboot/loader"
mv "$S/boot" "$S/boot.orig"
ln -s /mnt/fakeboot "$S/boot"
hostile boot-link "$base" --no-var
rm "$S/boot"
mv "$S/boot.orig" "$S/boot"
# A read-only physical root and a hotfix overlay: the file system is made writable for the
# overlay; when a later step fails (SYSROOT is not a mount point: the physical root cannot be
# moved) it must be read-only again. The sysroot is a copy in a directory of a tmpfs (its own
# superblock) mounted read-only; before and after include the superblock's ro/rw.
cat > "$WORK/ro-overlay.sh" <<'END_OF_SCRIPT'
set -u
out=$1
mkdir -p "$out"
T=$WORK/ro-sysroot
mount -t tmpfs -o mode=0755 tmpfs "$T"
mkdir "$T/sys"
cp -a "$S/." "$T/sys/"
mkdir "$T/sys/ostree/deploy/demo/deploy/$DEFAULT/.usr-ovl-work" "$T/sys/ostree/deploy/demo/deploy/$DEFAULT/.usr-ovl-upper"
mount -o remount,ro "$T"
mount --bind "$I" "$I"
mount --rbind "$WORK" "$I/mnt"
mount -o bind,ro /usr "$I/usr"
mount -t proc proc "$I/proc"
mount --bind "$WORK/cmdline-default" "$I/proc/cmdline"
mount -t tmpfs -o mode=0755 tmpfs "$I/run"
chroot "$I" /usr/bin/cat /proc/self/mountinfo > "$out/before"
timeout 10 chroot "$I" /arbor-prepare-root --no-var /mnt/ro-sysroot/sys >"$out/stdout" 2>"$out/stderr"
echo $? > "$out/rc"
chroot "$I" /usr/bin/cat /proc/self/mountinfo > "$out/after"
END_OF_SCRIPT
mkdir -p "$WORK/ro-sysroot"
u=$OUT/ro-overlay-undo
DEFAULT=$DEFAULT unshare -m --propagation private bash "$WORK/ro-overlay.sh" "$u"
if [ "$(cat "$u/rc")" = 1 ] && [ "$(wc -l < "$u/stderr")" = 1 ] && grep -q '^arbor-prepare-root: error: ' "$u/stderr" &&
   grep -q ' /mnt/ro-sysroot ro,.* - tmpfs tmpfs ro' "$u/before" && cmp -s "$u/before" "$u/after"; then
    pass "ro-overlay-undo: $(cat "$u/stderr") [the read-only file system is read-only again, mounts unchanged]"
else
    fail "ro-overlay-undo: exit $(cat "$u/rc"), mounts $(cmp -s "$u/before" "$u/after" && echo unchanged || echo CHANGED):"
    head -c 2000 "$u/stderr" | sed 's/^/    /'
    diff "$u/before" "$u/after" | sed 's/^/    /'
fi

echo "== /sbin/init checked in the new root before anything moves"
# fake_deployment NAME: a minimal tree at ostree/deploy/demo/deploy/NAME, linked from /hostile/NAME.
fake_deployment() {
    local t=$DD/$1
    mkdir -p "$t"/usr/{sbin,lib} "$t"/{dev,proc,sys,run,tmp,var,sysroot,boot,etc}
    ln -s usr/sbin "$t/sbin"
    ln -s "../ostree/deploy/demo/deploy/$1" "$H/$1"
}
fake_deployment no-init.0
: > "$DD/no-init.0/usr/sbin/init"
hostile switch-init-not-executable "root=/dev/vda ostree=/hostile/no-init.0 rw" --no-var --switch-root
fake_deployment init-outside.0
ln -s /mnt/outside-init "$DD/init-outside.0/usr/sbin/init"
printf '#!/bin/sh\n' > "$WORK/outside-init"
chmod 755 "$WORK/outside-init"
hostile switch-init-outside-root "root=/dev/vda ostree=/hostile/init-outside.0 rw" --no-var --switch-root
if [ "$have_init" = 1 ]; then
    fake_deployment absolute-init.0
    install -m 755 "$WORK/test-init" "$DD/absolute-init.0/usr/lib/real-init"
    ln -s /usr/lib/real-init "$DD/absolute-init.0/usr/sbin/init"
    printf 'root=/dev/vda ostree=/hostile/absolute-init.0 rw\n' > "$WORK/cmdline-absolute-init"
    run_case switch-absolute-init arbor "$WORK/cmdline-absolute-init" 0 0 --no-var --switch-root
    check "switch-root: /sbin/init -> /usr/lib/real-init is found in the new root, and runs" \
        grep -q "^ARBOR-TEST-INIT pid=[0-9]* marker=1 " "$OUT/switch-absolute-init/stdout"
fi
rm -rf "$DD/no-init.0" "$DD/init-outside.0" "$DD/absolute-init.0"

echo "== bounded, escaped error lines; an existing /sysroot.tmp"
hostile long-value "root=/dev/vda ostree=/$(head -c 1000000 /dev/zero | tr '\0' a) rw" --no-var
check "long-value: the error line is bounded ($(wc -c < "$OUT/hostile-long-value/stderr") bytes)" \
    test "$(wc -c < "$OUT/hostile-long-value/stderr")" -lt 600
hostile c1-control "root=/dev/vda ostree=/hostile/$(printf '\xc2\x85')next rw" --no-var
# shown_escaped FILE: U+0085 (NEL, a C1 control) appears as \u0085, never as itself.
shown_escaped() { ! LC_ALL=C grep -q "$(printf '\xc2\x85')" "$1" && grep -q -F 'hostile/\u0085next' "$1"; }
check "c1-control: U+0085 is shown as \\u0085" shown_escaped "$OUT/hostile-c1-control/stderr"
mkdir "$I/sysroot.tmp"
HOSTILE_KEEPS_TMP=1 hostile sysroot-tmp-exists "$base" --no-var
check "sysroot-tmp-exists: names /sysroot.tmp" grep -q '/sysroot.tmp: File exists' "$OUT/hostile-sysroot-tmp-exists/stderr"
rmdir "$I/sysroot.tmp"
rm -rf "$H"

echo "== $passes passed, $failures failed"
[ "$failures" -eq 0 ]
