#!/bin/bash
# Fuzzes Arbor's parsers of untrusted input with libFuzzer (swiftc -sanitize=fuzzer,address).
#
# Usage: scripts/fuzz.sh [SECONDS_PER_TARGET] [TARGET...]
#   SECONDS_PER_TARGET  wall time per target (default 60)
#   TARGET              any of the targets below (default: all), with or without the fuzz_ prefix
#
# Targets (one file each in scripts/fuzz/, seeds in scripts/fuzz/corpus/TARGET/):
#   gvariant_commit   CommitObject.parse                 (commit objects)
#   gvariant_dirtree  DirTree.parse                      (dirtree objects; must re-serialise exactly)
#   gvariant_dirmeta  DirMeta.parse, GVariant.parse      (dirmeta; other types: decode/encode round trip)
#   filez_header      FileMeta.parseArchiveHeader, decodeArchiveObject, FileMeta.parseCanonical
#   summary           Summary.parse
#   config            RepoConfig(text:) and its editors  (text must round-trip)
#   origin            Origin(text:) and its editors      (text must round-trip)
#   boot_entry        boot entry names (BootCounter.parse), BootEntry(text:), KernelArgs.validate/split
#   tar               CommitBuilder.addTarball into a scratch repository (every libarchive format)
#   oci               CommitBuilder.addOCIImage: index.json / manifest / config JSON and a layer
#
# Environment: FUZZ_JOBS=N runs N targets at once (default 1); FUZZ_TIMEOUT is libFuzzer's
# per-input timeout in seconds (default 10); extra libFuzzer flags go in FUZZ_ARGS.
#
# Everything is built and kept under .build-fuzz/ (gitignored):
#   .build-fuzz/bin/fuzz_TARGET          the instrumented binaries
#   .build-fuzz/corpus/TARGET/           inputs found so far (kept between runs; seeds are read too)
#   .build-fuzz/artifacts/TARGET/        crash-*, timeout-*, oom-* inputs
#   .build-fuzz/logs/TARGET.log          libFuzzer's output
# The script exits 1 when any target produced an artifact.
#
# Reproducing a finding:   .build-fuzz/bin/fuzz_TARGET .build-fuzz/artifacts/TARGET/crash-...
# Minimising it:           ASAN_OPTIONS=detect_leaks=0 .build-fuzz/bin/fuzz_TARGET -minimize_crash=1 \
#                              -runs=100000 -exact_artifact_path=min.bin .build-fuzz/artifacts/TARGET/crash-...
# Replaying the corpus:    .build-fuzz/bin/fuzz_TARGET -runs=0 scripts/fuzz/corpus/TARGET
# Regenerating the seeds:  scripts/fuzz/make-corpus.sh
# Every fixed finding has a regression test in Tests/ArborCoreTests/FuzzRegressionTests.swift.
#
# How the binaries are built (Linux, Swift 6.3): the C helper target (Sources/CArborSystem) is
# compiled with clang -fsanitize=address,fuzzer-no-link; ArborCore (and ArborDeploy for the
# origin target) is compiled once, whole-module, with -sanitize=fuzzer,address -O -enable-testing
# into an object file and a .swiftmodule; each target file is then compiled with
# -parse-as-library against that module and linked with libcrypto, zlib and libdeflate
# (libarchive is loaded on first use, as in the real build). LeakSanitizer is off (Swift's lazily initialised globals read as leaks);
# memory blow-ups are still caught by -rss_limit_mb=2048 and -malloc_limit_mb=2048.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD

SECONDS_PER_TARGET=${1:-60}
[ $# -gt 0 ] && shift
ALL="gvariant_commit gvariant_dirtree gvariant_dirmeta filez_header summary config origin boot_entry tar oci"
TARGETS=()
for t in "${@:-}"; do
    [ -n "$t" ] && TARGETS+=("${t#fuzz_}")
done
[ ${#TARGETS[@]} -eq 0 ] && read -r -a TARGETS <<<"$ALL"
for t in "${TARGETS[@]}"; do
    case " $ALL " in *" $t "*) ;; *) echo "fuzz.sh: unknown target $t (targets: $ALL)" >&2; exit 2 ;; esac
done
case $SECONDS_PER_TARGET in ''|*[!0-9]*) echo "fuzz.sh: SECONDS_PER_TARGET must be a number" >&2; exit 2 ;; esac

max_len() {
    case $1 in
        gvariant_dirmeta|origin|boot_entry) echo 2048 ;;
        gvariant_commit|filez_header|config) echo 4096 ;;
        gvariant_dirtree|summary) echo 8192 ;;
        oci) echo 16384 ;;
        tar) echo 65536 ;;
    esac
}

OUT=$ROOT/.build-fuzz
mkdir -p "$OUT/bin" "$OUT/obj" "$OUT/modules/CArborSystem" "$OUT/logs"

SAN=(-sanitize=fuzzer,address)
SWIFTFLAGS=(-O -g -parse-as-library "${SAN[@]}")
CMODS=()
for m in COpenSSL CZlib CDeflate; do
    CMODS+=(-Xcc "-fmodule-map-file=$ROOT/Sources/$m/module.modulemap")
done
# SwiftPM synthesises a module map for each C target; do the same here.
for m in CArborSystem CArchive; do
    mkdir -p "$OUT/modules/$m"
    cat > "$OUT/modules/$m/module.modulemap.new" <<MAP
module $m {
    header "$ROOT/Sources/$m/include/$m.h"
    export *
}
MAP
    if ! cmp -s "$OUT/modules/$m/module.modulemap.new" "$OUT/modules/$m/module.modulemap"; then
        mv "$OUT/modules/$m/module.modulemap.new" "$OUT/modules/$m/module.modulemap"
    else
        rm "$OUT/modules/$m/module.modulemap.new"
    fi
    CMODS+=(-Xcc "-fmodule-map-file=$OUT/modules/$m/module.modulemap")
done
# libarchive is loaded with dlopen by Sources/CArchive, as in the real build.
LIBS=(-lcrypto -lz -ldeflate -ldl)

# Rebuilds $1 when it is missing or older than any of the remaining files.
stale() {
    local out=$1; shift
    [ -e "$out" ] || return 0
    local f
    for f in "$@"; do [ "$f" -nt "$out" ] && return 0; done
    return 1
}

# Linker noise: Swift's ASan runtime exports clash harmlessly with the fuzzer's.
quiet() { grep -v "Cannot export local symbol '__asan\|warning: Cannot export local symbol" || true; }

build_system() {
    local src=$ROOT/Sources/CArborSystem/system.c
    if stale "$OUT/obj/system.o" "$src" "$ROOT/Sources/CArborSystem/include/CArborSystem.h"; then
        echo "== building CArborSystem"
        clang -O1 -g -fsanitize=address,fuzzer-no-link -I "$ROOT/Sources/CArborSystem/include" \
            -c "$src" -o "$OUT/obj/system.o"
    fi
    src=$ROOT/Sources/CArchive/archive-loader.c
    if stale "$OUT/obj/archive-loader.o" "$src" "$ROOT/Sources/CArchive/include/CArchive.h"; then
        echo "== building CArchive"
        clang -O1 -g -fsanitize=address,fuzzer-no-link -I "$ROOT/Sources/CArchive/include" \
            -c "$src" -o "$OUT/obj/archive-loader.o"
    fi
}

# build_module NAME: whole-module build of Sources/NAME into obj/NAME.o and modules/NAME.swiftmodule.
build_module() {
    local name=$1
    local srcs
    mapfile -t srcs < <(find "$ROOT/Sources/$name" -name '*.swift' | sort)
    if stale "$OUT/obj/$name.o" "${srcs[@]}" "$OUT/obj/system.o" "$OUT/obj/archive-loader.o" \
        $( [ "$name" = ArborDeploy ] && echo "$OUT/obj/ArborCore.o" ); then
        echo "== building $name (whole module, instrumented; takes a minute or two)"
        swiftc "${SWIFTFLAGS[@]}" -wmo -enable-testing -module-name "$name" -I "$OUT/modules" "${CMODS[@]}" \
            -emit-module -emit-module-path "$OUT/modules/$name.swiftmodule" \
            -c -o "$OUT/obj/$name.o" "${srcs[@]}" 2>&1 | quiet
        [ "${PIPESTATUS[0]}" -eq 0 ] || { echo "fuzz.sh: building $name failed" >&2; exit 1; }
    fi
}

build_target() {
    local t=$1
    local src=$ROOT/scripts/fuzz/fuzz_$t.swift
    local objs=("$OUT/obj/ArborCore.o" "$OUT/obj/system.o" "$OUT/obj/archive-loader.o")
    case $t in origin|boot_entry) objs+=("$OUT/obj/ArborDeploy.o") ;; esac
    if stale "$OUT/bin/fuzz_$t" "$src" "${objs[@]}"; then
        echo "== building fuzz_$t"
        swiftc "${SWIFTFLAGS[@]}" -I "$OUT/modules" "${CMODS[@]}" "$src" "${objs[@]}" "${LIBS[@]}" \
            -o "$OUT/bin/fuzz_$t" 2>&1 | quiet
        [ "${PIPESTATUS[0]}" -eq 0 ] || { echo "fuzz.sh: building fuzz_$t failed" >&2; exit 1; }
    fi
}

build_system
build_module ArborCore
for t in "${TARGETS[@]}"; do
    case $t in origin|boot_entry) build_module ArborDeploy ;; esac
done
for t in "${TARGETS[@]}"; do build_target "$t"; done

# run_target T: fuzzes one target for SECONDS_PER_TARGET; leaves a result line in logs/T.result.
run_target() {
    local t=$1
    local corpus=$OUT/corpus/$t artifacts=$OUT/artifacts/$t scratch=$OUT/tmp/$t
    local seeds=$ROOT/scripts/fuzz/corpus/$t
    mkdir -p "$corpus" "$artifacts" "$scratch"
    local before
    before=$(find "$artifacts" -type f | wc -l)
    local dict=()
    [ -f "$ROOT/scripts/fuzz/$t.dict" ] && dict=(-dict="$ROOT/scripts/fuzz/$t.dict")
    local start end
    start=$(date +%s)
    # libFuzzer exits non-zero on a finding; the table reports it.
    TMPDIR=$scratch ASAN_OPTIONS=detect_leaks=0:allocator_may_return_null=1 SWIFT_BACKTRACE=enable=no \
        "$OUT/bin/fuzz_$t" -max_total_time="$SECONDS_PER_TARGET" -max_len="$(max_len "$t")" \
        -rss_limit_mb=2048 -malloc_limit_mb=2048 -timeout="${FUZZ_TIMEOUT:-10}" -print_final_stats=1 \
        -artifact_prefix="$artifacts/" "${dict[@]}" ${FUZZ_ARGS:-} "$corpus" "$seeds" \
        >"$OUT/logs/$t.log" 2>&1 || true
    end=$(date +%s)
    rm -rf "$scratch"
    local execs corp after
    execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$OUT/logs/$t.log" | tail -n1)
    corp=$(find "$corpus" -type f | wc -l)
    after=$(find "$artifacts" -type f | wc -l)
    echo "$t $((end - start)) ${execs:-?} $corp $((after - before))" > "$OUT/logs/$t.result"
}

JOBS=${FUZZ_JOBS:-1}
running=0
for t in "${TARGETS[@]}"; do
    echo "== fuzzing $t for ${SECONDS_PER_TARGET}s"
    run_target "$t" &
    running=$((running + 1))
    if [ "$running" -ge "$JOBS" ]; then wait -n; running=$((running - 1)); fi
done
wait

status=0
printf '\n%-18s %8s %14s %8s %8s\n' target seconds executions corpus crashes
for t in "${TARGETS[@]}"; do
    read -r name secs execs corp crashes < "$OUT/logs/$t.result"
    printf '%-18s %8s %14s %8s %8s\n' "$name" "$secs" "$execs" "$corp" "$crashes"
    [ "$crashes" != 0 ] && status=1
done
if [ "$status" -ne 0 ]; then
    echo
    echo "Findings (reproduce with .build-fuzz/bin/fuzz_TARGET FILE; logs in .build-fuzz/logs/):"
    for t in "${TARGETS[@]}"; do
        read -r _ _ _ _ crashes < "$OUT/logs/$t.result"
        [ "$crashes" = 0 ] && continue
        ls -1t "$OUT/artifacts/$t" | head -n "$crashes" | sed "s|^|    .build-fuzz/artifacts/$t/|"
        grep -m1 -A3 "^==[0-9]*==ERROR\|Fatal error\|^Assertion\|ALARM\|out-of-memory" "$OUT/logs/$t.log" | sed 's/^/        /' || true
    done
fi
exit $status
