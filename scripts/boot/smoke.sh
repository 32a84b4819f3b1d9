#!/usr/bin/env bash
# smoke.sh: the boot loop end to end, in about a minute (needs root; installs what is missing).
#
#   v1 (good): init-fs, os-init, commit, deploy, boot           -> BOOTED-VERSION=1
#   v2 (good): commit, upgrade, boot                            -> BOOTED-VERSION=2
#   the menu's second entry (a manual choice), boot             -> BOOTED-VERSION=1
#
# Each boot must reach the deployment's init and end by itself; with an arbor that has
# `admin bless-boot`, each must also be healthy. Prints every RESULT line and a summary.
# Environment: see lib.sh (ARBOR_BIN_DIR skips the release build).
set -euo pipefail
# shellcheck source=scripts/boot/lib.sh
. "$(dirname "$0")/lib.sh"

boot_prepare
img=$BOOT_WORK/disk.img
boot_make_image "$img"
boot_init_sysroot "$img"

# Whether this arbor can bless: otherwise the guest reports BLESS-FAILED and powers off.
if "$ARBOR" admin --help 2>/dev/null | grep -q bless-boot; then want=healthy; else want=unhealthy; fi

check_boot() {
    local what=$1 version=$2
    boot_expect "$what: booted version" "$(boot_field bootedVersion)" "$version"
    boot_expect "$what: outcome" "$(boot_field outcome)" "$want"
    boot_expect "$what: guest powered off" "$(boot_field guestEnd)" poweroff
    boot_expect "$what: /run/ostree-booted" \
        "$(boot_field markers | python3 -c 'import json,sys; print("OSTREE-BOOTED-MARKER=yes" in json.load(sys.stdin))')" True
}

boot_commit "$img" 1 good >/dev/null
boot_deploy "$img" >/dev/null
boot_once "$img" || true
check_boot "v1" 1

boot_commit "$img" 2 good >/dev/null
boot_upgrade "$img" >/dev/null
boot_once "$img" || true
check_boot "v2" 2

boot_once "$img" --entry=1 || true
check_boot "menu entry 1" 1

boot_entries "$img"
if [ "$BOOT_FAILURES" -eq 0 ]; then echo "smoke.sh: ok"; else echo "smoke.sh: $BOOT_FAILURES failure(s)"; exit 1; fi
