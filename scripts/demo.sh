#!/usr/bin/env bash
# The Arbor demo: installs what is missing, builds, then in a sandbox directory commits the two
# demo OS trees (trees/demo-1.0, trees/demo-1.1) as two versions of one branch, inspects the
# history and checks both versions out. Usage: scripts/demo.sh [SANDBOX]  (default: a new temp dir)
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
echo "== building arbor"
swift build -c release 2>&1 | tail -n 1
ARBOR="$(swift build -c release --show-bin-path)/arbor"
SANDBOX=${1:-$(mktemp -d "${TMPDIR:-/tmp}/arbor-demo.XXXXXX")}
mkdir -p "$SANDBOX"
REPO="$SANDBOX/repo"
step() { printf '\n== %s\n' "$*"; }
show() { printf '$ %s\n' "$*"; "$@"; }

step "create a repository"
rm -rf "$REPO"
show "$ARBOR" init --repo="$REPO" --mode=bare

step "commit version 1.0 and 1.1 of the demo OS to one branch"
show "$ARBOR" commit --repo="$REPO" -b demo/x86_64/stable -s "Demo OS 1.0" --add-metadata-string=version=1.0 trees/demo-1.0
show "$ARBOR" commit --repo="$REPO" -b demo/x86_64/stable -s "Demo OS 1.1" --add-metadata-string=version=1.1 trees/demo-1.1

step "history, refs and the tree"
show "$ARBOR" log --repo="$REPO" demo/x86_64/stable
show "$ARBOR" refs --repo="$REPO"
show "$ARBOR" ls --repo="$REPO" -R demo/x86_64/stable /usr/bin
show "$ARBOR" cat --repo="$REPO" demo/x86_64/stable /usr/lib/os-release

step "check out both versions (hardlinks into the repository)"
rm -rf "$SANDBOX/v1.0" "$SANDBOX/v1.1"
show "$ARBOR" checkout --repo="$REPO" demo/x86_64/stable^ "$SANDBOX/v1.0"
show "$ARBOR" checkout --repo="$REPO" demo/x86_64/stable "$SANDBOX/v1.1"
printf '$ diff -r v1.0 v1.1\n'
(cd "$SANDBOX" && diff -r --no-dereference v1.0 v1.1 || true)

if command -v ostree >/dev/null; then
  step "the same repository, read by ostree"
  show ostree fsck --repo="$REPO"
fi
printf '\nDemo sandbox: %s\n' "$SANDBOX"
