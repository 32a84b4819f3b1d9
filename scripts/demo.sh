#!/usr/bin/env bash
# The Arbor demo: installs what is missing, builds, then in a sandbox directory commits the two
# demo OS trees (trees/demo-1.0, trees/demo-1.1) as two versions of one branch, inspects the
# history and checks both versions out; then deploys 1.0 into a sandbox sysroot, upgrades to 1.1
# with a local /etc change carried over, and rolls back. Usage: scripts/demo.sh [SANDBOX]  (default: a new temp dir)
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
echo "== building arbor"
swift build -c release --static-swift-stdlib 2>&1 | tail -n 1
ARBOR="$(swift build -c release --static-swift-stdlib --show-bin-path)/arbor"
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

# Deployments: a sandbox sysroot laid out as OSTree lays out a real one.
SYSROOT="$SANDBOX/sysroot"
ETC() { printf '%s/ostree/deploy/demo/deploy/%s/etc' "$SYSROOT" "$("$ARBOR" admin status --sysroot="$SYSROOT" --json | sed -n 's/.*"name": "\(.*\)".*/\1/p' | head -n 1)"; }
# Deployment roots carry the immutable attribute: clear it before removing an old sandbox.
if [ -e "$SYSROOT" ]; then chattr -R -i "$SYSROOT" 2>/dev/null || true; rm -rf "$SYSROOT"; fi

step "an empty sysroot and a stateroot 'demo' (its /var is shared by every deployment)"
show "$ARBOR" admin init-fs "$SYSROOT"
show "$ARBOR" admin os-init --sysroot="$SYSROOT" demo

step "commit version 1.0 into the sysroot's own repository and deploy it"
show "$ARBOR" commit --repo="$SYSROOT/ostree/repo" -b demo/x86_64/stable -s "Demo OS 1.0" --add-metadata-string=version=1.0 --owner-uid=0 --owner-gid=0 trees/demo-1.0
show "$ARBOR" admin deploy --sysroot="$SYSROOT" --os=demo --karg=root=LABEL=root --karg=quiet demo/x86_64/stable
show cat "$SYSROOT/boot/loader/entries/ostree-1-demo.conf"

step "the administrator edits /etc in the deployment: adds a file, changes the hostname"
echo "ntp=pool.example.invalid" > "$(ETC)/local.conf"
echo "demo-node-7" > "$(ETC)/hostname"
show "$ARBOR" admin config-diff --sysroot="$SYSROOT"

step "version 1.1 arrives; upgrade deploys it next to 1.0, carrying the /etc changes over"
show "$ARBOR" commit --repo="$SYSROOT/ostree/repo" -b demo/x86_64/stable -s "Demo OS 1.1" --add-metadata-string=version=1.1 --owner-uid=0 --owner-gid=0 trees/demo-1.1
show "$ARBOR" admin upgrade --sysroot="$SYSROOT"
printf '$ cat etc/hostname etc/local.conf   (in the new deployment)\n'
cat "$(ETC)/hostname" "$(ETC)/local.conf"

step "status: 1.1 boots next, 1.0 is the rollback"
show "$ARBOR" admin status --sysroot="$SYSROOT"

step "1.1 misbehaves: roll back in one atomic step"
show "$ARBOR" admin rollback --sysroot="$SYSROOT"
show "$ARBOR" admin status --sysroot="$SYSROOT"

if command -v ostree >/dev/null; then
  step "the same sysroot, read by ostree"
  show ostree admin status --sysroot="$SYSROOT"
fi
printf '\nDemo sandbox: %s (sysroot in %s; remove with: chattr -R -i %s && rm -rf %s)\n' "$SANDBOX" "$SYSROOT" "$SANDBOX" "$SANDBOX"
