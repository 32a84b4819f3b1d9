#!/usr/bin/env bash
# Installs the Debian packages Arbor builds, tests and demos with, when any is missing.
# Idempotent and quiet; needs root (or sudo) only when something must be installed.
set -euo pipefail
packages=(libarchive-dev libssl-dev zlib1g-dev libcurl4-openssl-dev libcurl3-gnutls libdeflate-dev pkg-config ostree attr e2fsprogs python3 nginx-light debootstrap zstd xz-utils bzip2
          qemu-system-x86 busybox-static ostree-boot)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0
echo "installing: ${missing[*]}" >&2
SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"
$SUDO apt-get update -qq >/dev/null
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
