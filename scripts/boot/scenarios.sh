#!/usr/bin/env bash
# scenarios.sh: boot counting and automatic fallback, proven by real boots under qemu.
#
# One disk image goes through the life of a node; after every boot the host checks which version
# booted, the entry names, `arbor admin status --json` (in the guest and on the host), and that
# `ostree admin status` in the guest marks the same deployment booted:
#   S1  deploy v1, boot                                   v1, one plain entry
#   S2  upgrade to v2 (3 tries), boot                     v2, +3 -> +2-1 -> blessed plain
#   S4  admin rollback, boot; rollback again              v1 boots; v2 default again
#   S3  v3 whose init exits (kernel panic), 3 tries       v3 x3 (+2-1, +1-2, +0-3), then v2 by
#       itself; v2 becomes the default, v3 is remembered; a 5th boot is v2, v3's entry untouched;
#       upgrade to v3 again is refused
#   S5  v4 (3 tries), a manual menu choice of v2          v2 boots, v4's counter untouched; then v4
#   S3' v5 whose health check fails (3 tries)             v5 x3 (rebooted by bless-boot), then v4
#   S3" v6 that hangs (3 tries, the watchdog)             v6 x3, then v4
#   S3'" v6b whose initramfs panics before the root mount v6b x3, then v4
#   S8  v7 (3 tries), kargs --append on the counted entry counter kept, one entry, new argument;
#       then a boot where arbor-prepare-root --switch-root does the switch itself
#   K   kills: the loader killed after its rename; qemu killed during prepare-root, during the
#       health check and during bless-boot; host upgrades killed before and after the switch.
#       Each next boot yields the old or the new version and every entry is counted or good.
#   S9  [sysroot] readonly=true: /sysroot is mounted read-only; bless-boot still marks the entry
# Needs root; installs what is missing. Environment: see lib.sh (ARBOR_BIN_DIR skips the build).
set -euo pipefail
# shellcheck source=scripts/boot/lib.sh
. "$(dirname "$0")/lib.sh"

START=$SECONDS
boot_prepare
img=$BOOT_WORK/disk.img
boot_make_image "$img"
boot_init_sysroot "$img"
HANG_WATCHDOG=${ARBOR_BOOT_HANG_WATCHDOG:-12}

# --- helpers ---------------------------------------------------------------------------------
_entries() { (cd "$BOOT_MNT/boot/loader/entries" && ls | LC_ALL=C sort | tr '\n' ' ' | sed 's/ $//'); }
# entries: the current entry file names, sorted, space-separated.
entries() { boot_with_sysroot "$img" _entries; }
# host_status: `arbor admin status --json` on the host.
host_status() { boot_admin "$img" status --json; }
# field JSON PATH: a field of a JSON document.
field() { boot_field "$2" "$1"; }
# deployment JSON VERSION: "bootCounting triesLeft triesDone bootEntry" of that version's deployment.
deployment() {
    python3 - "$1" "$2" <<'EOF'
import json, sys
doc, version = json.loads(sys.argv[1]), sys.argv[2]
for d in doc.get("deployments", []):
    if d.get("version") == version:
        print(d["bootCounting"], json.dumps(d["triesLeft"]), json.dumps(d["triesDone"]), d["bootEntry"]); break
else:
    print("absent")
EOF
}
# version_of JSON NAME_FIELD: the version of the deployment named by a top-level field (booted, default...).
version_of() {
    python3 - "$1" "$2" <<'EOF'
import json, sys
doc, key = json.loads(sys.argv[1]), sys.argv[2]
name = doc.get(key)
print(next((d["version"] for d in doc.get("deployments", []) if f'{d["stateroot"]} {d["name"]}' == name), "none"))
EOF
}
# guest_agrees: in the last boot's RESULT, ostree's `*` line names arbor's booted deployment.
guest_agrees() {
    python3 - "$BOOT_RESULT" <<'EOF'
import json, sys
r = json.loads(sys.argv[1])
status, text = r.get("arborStatus") or {}, r.get("ostreeStatus") or ""
starred = [l[2:].split(" (")[0].strip() for l in text.splitlines() if l.startswith("* ")]
print("yes" if status.get("booted") and starred == [status["booted"]] else f"no: arbor {status.get('booted')} ostree {starred}")
EOF
}
# until_summary: "VERSION:OUTCOME:ENTRY_AFTER ..." of the last boot_until.
until_summary() {
    python3 - "$BOOT_UNTIL" <<'EOF'
import json, sys
print(" ".join(f'{b["version"]}:{b["outcome"]}:{b["entryAfter"]}' for b in json.loads(sys.argv[1])["sequence"]))
EOF
}
# one entry per deployment, each counted or plain: the entry count equals the deployment count.
consistent() {
    local s n
    s=$(host_status)
    n=$(python3 -c 'import json,sys; print(len(json.loads(sys.argv[1])["deployments"]))' "$s")
    boot_expect "$1: one entry per deployment" "$(entries | wc -w)" "$n"
}
healthy_boot() {  # WHAT VERSION [BOOTLOADER_ARGS...]
    local what=$1 v=$2
    shift 2
    boot_once "$img" "$@" >/dev/null || true
    boot_expect "$what: booted" "$(boot_field bootedVersion):$(boot_field outcome)" "$v:healthy"
    boot_expect "$what: ostree in the guest agrees" "$(guest_agrees)" yes
}

# --- S1: deploy v1 ---------------------------------------------------------------------------
echo "== S1 deploy v1"
boot_commit "$img" 1 good >/dev/null
boot_deploy "$img" --boot-tries=3 >/dev/null
boot_expect "S1 first deploy is not counted" "$(entries)" "ostree-1-demo.conf"
healthy_boot S1 1
boot_expect "S1 entries" "$(entries)" "ostree-1-demo.conf"

# --- S2: upgrade to v2, counted, blessed -----------------------------------------------------
echo "== S2 upgrade to v2 (3 tries)"
boot_commit "$img" 2 good >/dev/null
boot_upgrade "$img" --boot-tries=3 >/dev/null
boot_expect "S2 counted" "$(entries)" "ostree-1-demo.conf ostree-2-demo+3.conf"
healthy_boot S2 2
boot_expect "S2 the loader counted the attempt" "$(boot_field entryAfter)" "ostree-2-demo+2-1.conf"
boot_expect "S2 blessed in the guest" "$(entries)" "ostree-1-demo.conf ostree-2-demo.conf"
boot_expect "S2 guest status: v2 good" "$(deployment "$(boot_field arborStatus)" 2)" "good null null ostree-2-demo.conf"
boot_expect "S2 guest status: booted" "$(version_of "$(boot_field arborStatus)" booted)" 2

# --- S4: rollback by command -----------------------------------------------------------------
echo "== S4 admin rollback"
boot_admin "$img" rollback >/dev/null
healthy_boot S4 1
boot_admin "$img" rollback >/dev/null
boot_expect "S4 default after rolling back again" "$(version_of "$(host_status)" default)" 2

# --- S3: v3 panics (init exits); fallback to v2 ------------------------------------------------
echo "== S3 v3 whose init exits (kernel panic), 3 tries"
v3=$(boot_commit "$img" 3 exit)
boot_upgrade "$img" --boot-tries=3 >/dev/null
boot_expect "S3 counted" "$(entries)" "ostree-1-demo.conf ostree-2-demo+3.conf"
boot_until "$img" healthy 5 >/dev/null || true
boot_expect "S3 boots" "$(until_summary)" \
    "3:kernel-panic:ostree-2-demo+2-1.conf 3:kernel-panic:ostree-2-demo+1-2.conf 3:kernel-panic:ostree-2-demo+0-3.conf 2:healthy:ostree-1-demo.conf"
boot_expect "S3 ostree in the guest agrees" "$(guest_agrees)" yes
st=$(boot_field arborStatus)
boot_expect "S3 guest status: v3 bad" "$(deployment "$st" 3)" "bad 0 3 ostree-1-demo+0-3.conf"
boot_expect "S3 guest status: v2 booted and default again" "$(version_of "$st" booted)/$(version_of "$st" default)" 2/2
boot_expect "S3 guest status: v3 remembered" "$(field "$st" failedCommits.0.checksum)" "$v3"
healthy_boot "S3 next boot" 2
boot_expect "S3 v3's bad entry untouched" "$(entries)" "ostree-1-demo+0-3.conf ostree-2-demo.conf"
st=$(host_status)
boot_expect "S3 host status" "$(deployment "$st" 3) / next $(version_of "$st" nextBoot)" "bad 0 3 ostree-1-demo+0-3.conf / next 2"
if out=$(boot_admin "$img" upgrade 2>&1); then rc=0; else rc=$?; fi
boot_expect "S3 upgrade to the failed v3 refused" "$rc:$(grep -c 'failed to boot' <<<"$out")" "1:1"

# --- S5: a manual menu choice leaves a counted entry alone -------------------------------------
echo "== S5 v4 (3 tries), manual choice of v2"
boot_commit "$img" 4 good >/dev/null
boot_upgrade "$img" --boot-tries=3 >/dev/null
boot_expect "S5 counted" "$(entries)" "ostree-1-demo.conf ostree-2-demo+3.conf"
healthy_boot "S5 menu entry 1" 2 --entry=1
boot_expect "S5 v4's counter untouched" "$(entries)" "ostree-1-demo.conf ostree-2-demo+3.conf"
healthy_boot "S5 default" 4
boot_expect "S5 v4 blessed" "$(entries)" "ostree-1-demo.conf ostree-2-demo.conf"

# --- S3': health check fails --------------------------------------------------------------------
echo "== S3' v5 whose health check fails, 3 tries"
boot_commit "$img" 5 fail >/dev/null
boot_upgrade "$img" --boot-tries=3 >/dev/null
boot_until "$img" healthy 5 >/dev/null || true
boot_expect "S3' boots" "$(until_summary)" \
    "5:unhealthy:ostree-2-demo+2-1.conf 5:unhealthy:ostree-2-demo+1-2.conf 5:unhealthy:ostree-2-demo+0-3.conf 4:healthy:ostree-1-demo.conf"
boot_expect "S3' ostree in the guest agrees" "$(guest_agrees)" yes
boot_expect "S3' entries" "$(entries)" "ostree-1-demo+0-3.conf ostree-2-demo.conf"

# --- S3": hangs -----------------------------------------------------------------------------------
echo "== S3\" v6 that hangs, 3 tries (watchdog ${HANG_WATCHDOG} s)"
boot_commit "$img" 6 hang >/dev/null
boot_upgrade "$img" --boot-tries=3 >/dev/null
ARBOR_BOOT_WATCHDOG=$HANG_WATCHDOG boot_until "$img" healthy 5 >/dev/null || true
boot_expect "S3\" boots" "$(until_summary)" \
    "6:watchdog:ostree-2-demo+2-1.conf 6:watchdog:ostree-2-demo+1-2.conf 6:watchdog:ostree-2-demo+0-3.conf 4:healthy:ostree-1-demo.conf"
boot_expect "S3\" entries" "$(entries)" "ostree-1-demo+0-3.conf ostree-2-demo.conf"

# --- S3'": the initramfs panics before the root is mounted --------------------------------------
echo "== S3'\" v6b whose initramfs panics, 3 tries"
boot_commit "$img" 6b initramfs-panic >/dev/null
boot_upgrade "$img" --boot-tries=3 >/dev/null
boot_until "$img" healthy 5 >/dev/null || true
boot_expect "S3'\" boots" "$(until_summary)" \
    "None:kernel-panic:ostree-2-demo+2-1.conf None:kernel-panic:ostree-2-demo+1-2.conf None:kernel-panic:ostree-2-demo+0-3.conf 4:healthy:ostree-1-demo.conf"
boot_expect "S3'\" entries" "$(entries)" "ostree-1-demo+0-3.conf ostree-2-demo.conf"

# --- S8: kargs on a counted entry ------------------------------------------------------------------
echo "== S8 v7 (3 tries), kargs on the counted entry"
boot_commit "$img" 7 good >/dev/null
boot_upgrade "$img" --boot-tries=3 >/dev/null
boot_admin "$img" kargs --append=arbor.test=1 >/dev/null
boot_expect "S8 counter kept, no twin" "$(entries)" "ostree-1-demo.conf ostree-2-demo+3.conf"
healthy_boot S8 7
boot_expect "S8 the new argument reached the kernel" "$(boot_field options | grep -c 'arbor.test=1')" 1
boot_expect "S8 blessed" "$(entries)" "ostree-1-demo.conf ostree-2-demo.conf"
# The initramfs hands the switch to arbor-prepare-root --switch-root (arbor.switch-root).
boot_admin "$img" kargs --append=arbor.switch-root >/dev/null
healthy_boot "S8 arbor-prepare-root --switch-root" 7
boot_expect "S8 the switch was arbor-prepare-root's" \
    "$(boot_field markers | python3 -c 'import json,sys; m=json.load(sys.stdin); print("PREPARE-ROOT-SWITCH" in m, "PREPARE-ROOT-DONE" in m)')" "True False"
boot_admin "$img" kargs --delete=arbor.switch-root >/dev/null

# --- K: kills ---------------------------------------------------------------------------------------
echo "== K kills (v8, 5 tries)"
boot_commit "$img" 8 good >/dev/null
boot_upgrade "$img" --boot-tries=5 >/dev/null
boot_once "$img" --kill-after-rename >/dev/null || true
boot_expect "K loader killed after its rename: an attempt" "$(entries)" "ostree-1-demo.conf ostree-2-demo+4-1.conf"
# During prepare-root, during the health check (it runs right after BLESS-START), during
# bless-boot's rename (right after the check passed).
for marker in PREPARE-ROOT-START BLESS-START HEALTH-CHECK-PASSED; do
    boot_once "$img" --kill-on="$marker" >/dev/null || true
    boot_expect "K qemu killed at $marker" "$(boot_field outcome)" killed
    consistent "K after $marker"
done
e=$(entries)
case "$e" in
    "ostree-1-demo.conf ostree-2-demo+1-4.conf" | "ostree-1-demo.conf ostree-2-demo.conf") ok=yes ;;
    *) ok="no: $e" ;;
esac
boot_expect "K entries after the kills: counted or good" "$ok" yes
healthy_boot "K next boot" 8
boot_expect "K blessed" "$(entries)" "ostree-1-demo.conf ostree-2-demo.conf"
boot_commit "$img" 9 good >/dev/null
for fault in sync switch; do
    ARBOR_DEPLOY_FAULT=$fault boot_upgrade "$img" --boot-tries=3 >/dev/null 2>&1 || true
    consistent "K upgrade killed at $fault"
    if [ "$fault" = sync ]; then want=8; else want=9; fi
    healthy_boot "K boot after an upgrade killed at $fault" "$want"
    boot_admin "$img" cleanup >/dev/null
done

# --- S9: a read-only sysroot ---------------------------------------------------------------------
echo "== S9 [sysroot] readonly=true: bless-boot writes through a private mount namespace"
_readonly() { printf '\n[sysroot]\nreadonly=true\n' >> "$BOOT_MNT/ostree/repo/config"; }
boot_with_sysroot "$img" _readonly
boot_commit "$img" 10 good >/dev/null
boot_upgrade "$img" --boot-tries=3 >/dev/null
healthy_boot "S9 read-only sysroot" 10
boot_expect "S9 /sysroot was read-only in the guest" "$(grep -o 'SYSROOT-MOUNT=[a-z]*' "$(boot_field log)" | tail -n 1)" "SYSROOT-MOUNT=ro"
boot_expect "S9 blessed" "$(entries)" "ostree-1-demo.conf ostree-2-demo.conf"

echo "scenarios.sh: $((SECONDS - START)) s"
if [ "$BOOT_FAILURES" -eq 0 ]; then echo "scenarios.sh: ok"; else echo "scenarios.sh: $BOOT_FAILURES failure(s)"; exit 1; fi
