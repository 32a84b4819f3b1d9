#!/usr/bin/env bash
# Installs what is missing, builds, and runs every test (unit tests and the interop tests
# against the real `ostree`). Usage: scripts/test.sh [--filter PATTERN]
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
swift build --build-tests
ARBOR_BIN="$(swift build --show-bin-path)/arbor"
export ARBOR_BIN
swift test --skip-build "$@"
