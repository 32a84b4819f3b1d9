#!/usr/bin/env bash
# Benchmark Arbor against the real `ostree` on the same trees, interleaved, and print a Markdown
# table (or JSON with --json). The work is done by scripts/bench.py (Python 3, stdlib only).
#
# Usage: scripts/bench.sh [--json] [--runs N] [--warmup N] [--cases a,b,...] [--workdir DIR] [--keep] [--tidy] ROOTFS_DIR
#        scripts/bench.sh --quick [ROOTFS_DIR]     small stand-in trees, one run: checks the harness
#        scripts/bench.sh --standin                stand-in trees from /usr/share instead of ROOTFS_DIR
#        scripts/bench.sh --render REPORT.json     the Markdown of a report saved with --json
#
# ROOTFS_DIR holds v1/ v2/ v3/ and v1.tar, as `scripts/make-rootfs.sh ROOTFS_DIR` makes them.
# Builds the release binary (`swift build -c release --static-swift-stdlib`: a static Swift
# runtime maps fewer pages) unless ARBOR=/path/to/arbor is set.
# Needs root; installs ostree, nginx-light and time when missing.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(dirname "$here")

for a in "$@"; do
    case $a in -h|--help|--render|--render=*) exec python3 "$here/bench.py" "$@" ;; esac
done
[ "$(id -u)" -eq 0 ] || { echo "bench.sh: must run as root" >&2; exit 1; }

missing=()
command -v ostree >/dev/null 2>&1 || missing+=(ostree)
command -v nginx >/dev/null 2>&1 || missing+=(nginx-light)
[ -x /usr/bin/time ] || missing+=(time)
command -v python3 >/dev/null 2>&1 || missing+=(python3)
command -v chattr >/dev/null 2>&1 || missing+=(e2fsprogs)
if [ ${#missing[@]} -gt 0 ]; then
    echo "bench.sh: installing ${missing[*]}" >&2
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null 2>&1 || {
        apt-get update -qq >/dev/null
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
    }
fi

if [ -z "${ARBOR:-}" ]; then
    echo "bench.sh: swift build -c release" >&2
    (cd "$root" && swift build -c release --static-swift-stdlib >&2)
    ARBOR="$(cd "$root" && swift build -c release --static-swift-stdlib --show-bin-path)/arbor"
fi
export ARBOR
exec python3 "$here/bench.py" "$@"
