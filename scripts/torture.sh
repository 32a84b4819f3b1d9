#!/usr/bin/env bash
# Crash torture: SIGKILLs every writing operation (commit of a directory, commit of a tarball,
# pull over HTTP from a private nginx on 127.0.0.1, prune, admin deploy, admin upgrade, admin
# rollback) at random moments and checks the repository and sysroot invariants after every kill
# and after every recovery (the operation rerun to completion). Prints a table: operation, kills,
# invariant violations (must be 0), recoveries. Exits 1 on any violation.
#
# Usage: scripts/torture.sh [--short|--long] [--json] [--kills=N] [--ops=LIST] [--seed=N] [--keep] [--verbose]
#   --short    10 kills per operation, small trees (default; a few minutes on 2 cores)
#   --long     200 kills per operation
#   --json     print the results as JSON on stdout (the table goes to stderr)
#   --ops      comma-separated subset of commit-dir,commit-tar,pull,prune,deploy,upgrade,rollback
#   --seed     seed of the random delays and contents (printed at the start of every run)
#   --keep     keep the work directory
#   --jobs=1   one operation at a time (default 2: repository and sysroot operations side by side)
#
# ARBOR=/path/to/arbor picks the binary (default: `swift build`, then the one it built).
# The work directory is made under $TORTURE_TMP (default /var/tmp) and removed at the end.
# Needs root (sysroots, bare-mode ownership), python3, ostree, nginx, tar and chattr.
set -euo pipefail
cd "$(dirname "$0")/.."

args=()
for a in "$@"; do
    case $a in
        --kills=*|--ops=*|--seed=*|--jobs=*) args+=("${a%%=*}" "${a#*=}") ;;
        --short|--long|--json|--keep|--verbose) args+=("$a") ;;
        -h|--help) sed -n '2,18p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
        *) echo "torture.sh: unknown argument $a" >&2; exit 2 ;;
    esac
done

for tool in python3 ostree nginx tar chattr; do
    if ! command -v "$tool" >/dev/null 2>&1 && [ ! -x "/usr/sbin/$tool" ]; then
        echo "torture.sh: $tool is required (scripts/install-deps.sh installs it)" >&2
        exit 1
    fi
done
if [ "$(id -u)" != 0 ]; then
    echo "torture.sh: must run as root (sysroots and bare-mode ownership)" >&2
    exit 1
fi

if [ -z "${ARBOR:-}" ]; then
    swift build >&2
    ARBOR="$(swift build --show-bin-path)/arbor"
fi
export PATH="$PATH:/usr/sbin:/sbin"
exec python3 scripts/torture.py --arbor "$ARBOR" "${args[@]}"
