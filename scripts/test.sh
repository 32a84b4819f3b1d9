#!/usr/bin/env bash
# Installs what is missing, builds, and runs every test: unit tests, interop tests against the
# real `ostree` (on trees/, generated trees and a debootstrap root filesystem), the short torture
# run, the benchmark harness in its quick mode (so that it cannot rot), and the boot tests
# (scripts/boot-test.sh: arbor-prepare-root against ostree-prepare-root, boot counting under qemu).
#
# Usage: scripts/test.sh [--filter PATTERN]     (a filter runs only those XCTest cases)
# Environment: ARBOR_ROOTFS=DIR  where the debootstrap trees live (built there when missing;
#              default /var/tmp/arbor-rootfs); ARBOR_SKIP_ROOTFS=1 skips building them.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
swift build --build-tests
ARBOR_BIN="$(swift build --show-bin-path)/arbor"
export ARBOR_BIN

if [ $# -eq 0 ] && [ "${ARBOR_SKIP_ROOTFS:-}" != 1 ]; then
  ARBOR_ROOTFS=${ARBOR_ROOTFS:-/var/tmp/arbor-rootfs}
  echo "== debootstrap root filesystems in $ARBOR_ROOTFS (kept between runs)"
  scripts/make-rootfs.sh "$ARBOR_ROOTFS" >/dev/null
  export ARBOR_ROOTFS
fi

if [ $# -eq 0 ]; then
  echo "== benchmark harness, quick mode"
  ARBOR="$ARBOR_BIN" scripts/bench.sh --quick >/dev/null
  echo "bench.sh --quick: ok"
  echo "== boot tests"
  scripts/boot-test.sh   # builds the release binaries the guests run
fi

# Last, so that its summary closes the output.
swift test --skip-build --disable-swift-testing "$@"
