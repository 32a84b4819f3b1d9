#!/usr/bin/env bash
# The boot demo: a node's life under qemu, told by `arbor admin status`.
#   1. version 1 is deployed into a fresh disk and boots (Arbor's own prepare-root in the
#      initramfs, Arbor's bless-boot in the guest);
#   2. version 2 arrives with 3 boot tries, boots, passes its health check and is marked good;
#   3. version 3 arrives broken (its health check fails); it is tried 3 times, then the node
#      falls back to version 2 by itself, makes it the default again, and remembers that 3 failed;
#   4. an upgrade to the same broken version is refused.
# The boot loader is a host-side stand-in that follows systemd-boot's rules (scripts/boot/bootloader.py).
# Needs root; installs what is missing (qemu, busybox-static; the guest kernel is downloaded and
# unpacked under /var/tmp/arbor-boot, never installed). Usage: scripts/boot-demo.sh
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
# shellcheck source=scripts/boot/lib.sh
. scripts/boot/lib.sh

step() { printf '\n== %s\n' "$*"; }
status() { printf '$ arbor admin status\n'; boot_admin "$img" status | sed 's/^/  /'; }
boots() {  # one line per boot of the last boot_until/boot_once
    python3 - "${BOOT_UNTIL:-}" "$BOOT_RESULT" <<'EOF'
import json, sys
runs = json.loads(sys.argv[1])["sequence"] if sys.argv[1] else [json.loads(sys.argv[2])]
for b in runs:
    v = b.get("version", b.get("bootedVersion"))
    print(f'  boot: entry {b["entryBefore"]} -> {b["entryAfter"]}: version {v} booted, {b["outcome"]} ({b["seconds"]:.1f} s)')
EOF
}

start=$SECONDS
step "preparing: guest kernel, release build, initramfs with arbor-prepare-root"
boot_prepare
img=$BOOT_WORK/disk.img
boot_make_image "$img"
boot_init_sysroot "$img"

step "version 1: deploy and boot"
boot_commit "$img" 1 good >/dev/null
boot_deploy "$img" >/dev/null
BOOT_UNTIL=; boot_once "$img" >/dev/null || true; boots
status

step "version 2 arrives: upgrade with 3 boot tries (its entry is named ...+3.conf), boot"
boot_commit "$img" 2 good >/dev/null
boot_upgrade "$img" --boot-tries=3 | sed 's/^/  /'
BOOT_UNTIL=; boot_once "$img" >/dev/null || true; boots
echo "  (the guest's health check passed: arbor admin bless-boot good removed the counter)"
status

step "version 3 arrives broken: its health check fails; upgrade with 3 boot tries, then just boot"
boot_commit "$img" 3 fail >/dev/null
boot_upgrade "$img" --boot-tries=3 | sed 's/^/  /'
boot_until "$img" healthy 5 >/dev/null || true; boots
echo "  (no one touched the node: after 3 failed tries the boot loader skipped version 3, and"
echo "   version 2's bless-boot made it the default again and recorded version 3 as failed)"
status

step "the updater tries version 3 again"
printf '$ arbor admin upgrade\n'
boot_admin "$img" upgrade 2>&1 | sed 's/^/  /' || true

printf '\nboot-demo.sh: done in %d s\n' "$((SECONDS - start))"
