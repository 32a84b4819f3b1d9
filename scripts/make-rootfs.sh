#!/usr/bin/env bash
# Build real Debian root filesystems for benchmarks and interop tests:
#
#   DIR/v1       debootstrap --variant=minbase
#   DIR/v2       v1 plus a few packages (an OS upgrade)
#   DIR/v3       v2 with a handful of files added, changed and removed (a patch)
#   DIR/v1.tar   DIR/v2.tar   the trees as pax tarballs (xattrs, numeric owners, sorted names)
#
# The mirror and suite come from this machine's apt sources (/etc/apt/sources.list and
# sources.list.d/*.list, or deb822 sources.list.d/*.sources); no mirror is named here.
# MIRROR=URI and SUITE=NAME override them. /dev is emptied in every tree (device nodes cannot be
# committed). Idempotent: each result is built under a temporary name and renamed when
# complete, and results that exist are kept, so an interrupted run just runs again.
#
# Usage: scripts/make-rootfs.sh DIR     (as root, with network access to the mirror)
set -euo pipefail

DIR=${1:?usage: make-rootfs.sh DIR}
EXTRA_PACKAGES="ca-certificates curl less procps iproute2"
[ "$(id -u)" -eq 0 ] || { echo "make-rootfs.sh: must run as root (debootstrap, ownership)" >&2; exit 1; }
here=$(cd "$(dirname "$0")" && pwd)
command -v debootstrap >/dev/null 2>&1 || "$here/install-deps.sh"
mkdir -p "$DIR"
DIR=$(cd "$DIR" && pwd)

# The first plain release suite of a "deb" source, as "URI SUITE".
apt_source() {
    python3 - <<'PYEOF'
import glob, os, re, sys
entries = []  # (uri, suite)
def one_line(path):
    for line in open(path, encoding="utf-8", errors="replace"):
        line = line.split("#", 1)[0].strip()
        m = re.match(r"^deb\s+(?:\[[^\]]*\]\s+)?(\S+)\s+(\S+)", line)
        if m:
            entries.append((m.group(1), m.group(2)))
def deb822(path):
    for stanza in re.split(r"\n\s*\n", open(path, encoding="utf-8", errors="replace").read()):
        fields, key = {}, None
        for line in stanza.splitlines():
            if line.startswith("#") or not line.strip():
                continue
            if line[0] in " \t" and key:
                fields[key] += " " + line.strip()
                continue
            key, _, value = line.partition(":")
            key = key.strip().lower()
            fields[key] = value.strip()
        if "deb" not in fields.get("types", "").split() or fields.get("enabled", "yes").lower() == "no":
            continue
        for uri in fields.get("uris", "").split():
            for suite in fields.get("suites", "").split():
                entries.append((uri, suite))
if os.path.exists("/etc/apt/sources.list"):
    one_line("/etc/apt/sources.list")
for p in sorted(glob.glob("/etc/apt/sources.list.d/*.list")):
    one_line(p)
for p in sorted(glob.glob("/etc/apt/sources.list.d/*.sources")):
    deb822(p)
for uri, suite in entries:
    if not re.search(r"-(updates|security|backports|proposed-updates)$|/", suite) and uri.startswith(("http://", "https://", "file:")):
        print(uri.rstrip("/"), suite)
        sys.exit(0)
sys.exit("make-rootfs.sh: no plain Debian release suite in the apt sources (set MIRROR and SUITE)")
PYEOF
}

empty_dev() { find "$1/dev" -mindepth 1 -delete 2>/dev/null || true; }

# The few device nodes package scripts expect, for work inside a chroot.
make_dev() {
    mknod -m 666 "$1/dev/null" c 1 3 && mknod -m 666 "$1/dev/zero" c 1 5 && mknod -m 666 "$1/dev/full" c 1 7 &&
    mknod -m 666 "$1/dev/random" c 1 8 && mknod -m 666 "$1/dev/urandom" c 1 9 && mknod -m 666 "$1/dev/tty" c 5 0
}

in_chroot() {
    local root=$1; shift
    local mounted=0
    mount -t proc proc "$root/proc" 2>/dev/null && mounted=1
    cp /etc/resolv.conf "$root/etc/resolv.conf" 2>/dev/null || true
    printf '#!/bin/sh\nexit 101\n' > "$root/usr/sbin/policy-rc.d"; chmod 755 "$root/usr/sbin/policy-rc.d"
    local status=0
    chroot "$root" /usr/bin/env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin DEBIAN_FRONTEND=noninteractive LC_ALL=C "$@" || status=$?
    rm -f "$root/usr/sbin/policy-rc.d"
    [ $mounted -eq 0 ] || umount "$root/proc"
    return $status
}

# v1: the minimal base system.
if [ ! -d "$DIR/v1" ]; then
    read -r uri suite < <(apt_source)
    uri=${MIRROR:-$uri}; suite=${SUITE:-$suite}
    echo "make-rootfs.sh: debootstrap --variant=minbase $suite from $uri" >&2
    rm -rf "$DIR/v1.tmp"
    debootstrap --variant=minbase "$suite" "$DIR/v1.tmp" "$uri" >&2
    rm -rf "$DIR/v1.tmp/var/cache/apt/archives/"*.deb
    empty_dev "$DIR/v1.tmp"
    mv "$DIR/v1.tmp" "$DIR/v1"
fi

# v2: an upgrade that installs a few packages.
if [ ! -d "$DIR/v2" ]; then
    echo "make-rootfs.sh: v2 = v1 + $EXTRA_PACKAGES" >&2
    rm -rf "$DIR/v2.tmp"
    cp -a "$DIR/v1" "$DIR/v2.tmp"
    make_dev "$DIR/v2.tmp"
    # shellcheck disable=SC2086
    in_chroot "$DIR/v2.tmp" sh -c "apt-get update -qq && apt-get install -y -qq --no-install-recommends $EXTRA_PACKAGES >/dev/null && apt-get clean" >&2
    rm -f "$DIR/v2.tmp/var/cache/apt/"*.bin
    empty_dev "$DIR/v2.tmp"
    mv "$DIR/v2.tmp" "$DIR/v2"
fi

# v3: a patch of v2 (deterministic picks: the first documentation files by name).
if [ ! -d "$DIR/v3" ]; then
    echo "make-rootfs.sh: v3 = v2 with files added, changed and removed" >&2
    rm -rf "$DIR/v3.tmp"
    cp -a "$DIR/v2" "$DIR/v3.tmp"
    mkdir -p "$DIR/v3.tmp/etc/arbor-patch"
    for i in 1 2 3 4 5; do printf 'patch file %s\n' "$i" > "$DIR/v3.tmp/etc/arbor-patch/added-$i"; done
    for f in etc/motd etc/issue etc/issue.net etc/hostname; do
        [ -f "$DIR/v3.tmp/$f" ] && printf 'patched by make-rootfs.sh\n' >> "$DIR/v3.tmp/$f"
    done
    (cd "$DIR/v3.tmp" && find usr/share/doc -type f -name copyright | LC_ALL=C sort | head -n 5 | xargs -r rm -f)
    empty_dev "$DIR/v3.tmp"
    mv "$DIR/v3.tmp" "$DIR/v3"
fi

# Tarballs of v1 and v2.
for v in v1 v2; do
    if [ ! -f "$DIR/$v.tar" ]; then
        echo "make-rootfs.sh: $v.tar" >&2
        tar --xattrs --xattrs-include='*' --numeric-owner --format=pax --sort=name \
            --pax-option=delete=atime,delete=ctime -C "$DIR/$v" -cf "$DIR/$v.tar.tmp" .
        mv "$DIR/$v.tar.tmp" "$DIR/$v.tar"
    fi
done
echo "make-rootfs.sh: $DIR has v1 v2 v3 v1.tar v2.tar" >&2
