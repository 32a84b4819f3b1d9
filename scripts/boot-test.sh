#!/usr/bin/env bash
# The boot tests: the host boot loader's ordering (no qemu), arbor-prepare-root against Debian's
# ostree-prepare-root in mount namespaces (no qemu), then the qemu scenarios of boot counting and
# automatic fallback (scripts/boot/scenarios.sh). Needs root; installs what is missing (qemu,
# busybox-static, ostree-boot; the guest kernel is downloaded and unpacked, never installed).
# Usage: scripts/boot-test.sh    Environment: ARBOR_BIN_DIR (release binaries; built when unset).
set -euo pipefail
cd "$(dirname "$0")/.."
start=$SECONDS
echo "== boot loader ordering (systemd-boot's rules)"
python3 -m unittest -q Tests/Boot/test_bootloader.py
if [ -z "${ARBOR_BIN_DIR:-}" ]; then
  swift build -c release --static-swift-stdlib 2>&1 | tail -n 1
  ARBOR_BIN_DIR=$(swift build -c release --static-swift-stdlib --show-bin-path)
fi
export ARBOR_BIN_DIR
echo "== arbor-prepare-root against ostree-prepare-root"
ARBOR_PREPARE_ROOT=$ARBOR_BIN_DIR/arbor-prepare-root ARBOR_BIN=$ARBOR_BIN_DIR/arbor scripts/boot/compare-prepare-root.sh
echo "== boot scenarios under qemu"
scripts/boot/scenarios.sh
echo "boot-test.sh: ok ($((SECONDS - start)) s)"
