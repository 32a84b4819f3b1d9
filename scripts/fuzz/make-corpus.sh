#!/bin/sh
# Regenerates the seed corpus in scripts/fuzz/corpus/ from the test fixtures (real objects
# written by ostree 2022.7) and a few hand-made inputs. Run from anywhere; needs tar, gzip,
# xxd, setfattr (package attr) and a filesystem with user xattrs for $TMPDIR (or /tmp).
# The committed corpus is the output of this script; keep it small (well under 1 MB).
set -eu
cd "$(dirname "$0")/../.."
C=scripts/fuzz/corpus
FX=Tests/Fixtures
W=$(mktemp -d "${TMPDIR:-/tmp}/arbor-corpus-XXXXXX")
trap 'rm -rf "$W"' EXIT
# Seeds named regression-* are findings of earlier runs, kept by hand: leave them alone.
find "$C" -type f ! -name 'regression-*' -delete 2>/dev/null || true
for t in gvariant_commit gvariant_dirtree gvariant_dirmeta filez_header summary config origin tar oci; do
    mkdir -p "$C/$t"
done

# hexdump -C text back to bytes.
unhex() { grep '|' "$1" | sed -e 's/^[0-9a-f]*  //' -e 's/ *|.*$//' | xxd -r -p; }

# objects/ab/cdef.commit -> abcdef.commit
objname() { echo "$(basename "$(dirname "$1")")$(basename "$1")"; }

tar -xzf "$FX/sample-archive-repo.tar.gz" -C "$W"
R=$W/repo-archive
for f in "$R"/objects/*/*.commit; do cp "$f" "$C/gvariant_commit/$(objname "$f")"; done
for f in "$R"/objects/*/*.dirtree; do cp "$f" "$C/gvariant_dirtree/$(objname "$f")"; done
for f in "$R"/objects/*/*.dirmeta; do cp "$f" "$C/gvariant_dirmeta/$(objname "$f")"; done
for f in "$R"/objects/*/*.filez; do cp "$f" "$C/filez_header/$(objname "$f")"; done
cp "$R/summary" "$C/summary/sample-summary"
unhex "$FX/hexdumps/summary.txt" > "$C/summary/hexdump-summary"
cp "$R/config" "$C/config/archive-repo-config"
# Canonical file headers with their 8-byte prefix, as the filez target reads them.
for f in "$FX"/hexdumps/file-header.*.txt; do
    n=$(basename "$f" .txt)
    unhex "$f" > "$W/body"
    len=$(stat -c %s "$W/body")
    { printf "\\$(printf %03o $((len >> 24 & 255)))\\$(printf %03o $((len >> 16 & 255)))\\$(printf %03o $((len >> 8 & 255)))\\$(printf %03o $((len & 255)))\\000\\000\\000\\000"; cat "$W/body"; } > "$C/filez_header/$n"
done
# The dirmeta target also reads (first byte = type selector) + a GVariant; some typed seeds.
# Selector 0: a{sv}, 1: v, 2: (tuuuusa(ayay)), 9: the commit type.
{ printf '\000'; unhex "$FX/hexdumps/commit.924353b2d392dbe1a6f0515623b063fc4e5b2c5f9558b9b61400c9873aaf0454.txt" | head -c 40; } > "$C/gvariant_dirmeta/typed-asv"
{ printf '\011'; unhex "$FX/hexdumps/commit.924353b2d392dbe1a6f0515623b063fc4e5b2c5f9558b9b61400c9873aaf0454.txt"; } > "$C/gvariant_dirmeta/typed-commit"
{ printf '\001'; printf 'hello\000\000s'; } > "$C/gvariant_dirmeta/typed-variant"

cat > "$C/config/full-config" <<'CFG'
# A repository config with every section Arbor reads.
[core]
repo_version=1
mode=archive-z2
fsync = false
tombstone-commits=true
collection-id=org.example.Os

[archive]
zlib-level=1

[remote "origin"]
url=http://127.0.0.1:8080/repo
gpg-verify=false
sign-verify=true
verification-ed25519-file=/etc/arbor/keys
CFG
printf '[core]\r\nrepo_version=1\r\nmode=bare\r\n' > "$C/config/crlf-config"

cat > "$C/origin/plain" <<'ORI'
[origin]
refspec=origin:os/x86_64/stable
ORI
cat > "$C/origin/pinned" <<'ORI'
# written by ostree
[origin]
refspec=abc123
override-commit=924353b2d392dbe1a6f0515623b063fc4e5b2c5f9558b9b61400c9873aaf0454
unlocked=development

[libostree-transient]
pinned=true
ORI
printf '[origin]\r\nrefspec=os:stable\r\n\r\n[libostree-transient]\r\npinned=true\r\n' > "$C/origin/crlf"

# Tarballs of the sample tree: plain (pax with xattrs), gzip, and one with odd members.
sh scripts/make-sample-tree.sh "$W/tree" >/dev/null 2>&1 || mkdir -p "$W/tree/sub"
tar -b1 --xattrs --format=pax -C "$W/tree" -cf "$C/tar/sample.tar" .
tar -b1 --format=gnu -C "$W/tree" -czf "$C/tar/sample.tar.gz" .
mkdir -p "$W/odd/a/b"
printf 'x\n' > "$W/odd/a/b/file"
ln "$W/odd/a/b/file" "$W/odd/a/hard"
ln -s /etc/passwd "$W/odd/abs-link"
: > "$W/odd/a/.wh.gone"
: > "$W/odd/.wh..wh..opq"
mkfifo "$W/odd/fifo"
tar -b1 --format=ustar -C "$W/odd" -cf "$C/tar/odd.tar" .
tar -b1 --format=ustar -C "$W/odd" -cf "$C/tar/no-root.tar" a/b/file

# OCI: index, manifest, config and a layer, joined by the target's separator line.
mkdir -p "$W/layer/etc"
printf 'hello\n' > "$W/layer/etc/hello"
tar --format=ustar -C "$W/layer" -czf "$W/layer.tar.gz" etc
{
    printf '%s\n' '{"schemaVersion":2,"manifests":[{"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"@MANIFEST_DIGEST@","size":@MANIFEST_SIZE@,"annotations":{"org.opencontainers.image.ref.name":"latest"},"platform":{"architecture":"amd64","os":"linux"}}]}'
    printf '%s\n' '--8<--'
    printf '%s\n' '{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"@CONFIG_DIGEST@","size":@CONFIG_SIZE@},"layers":[{"mediaType":"application/vnd.oci.image.layer.v1.tar+gzip","digest":"@LAYER_DIGEST@","size":@LAYER_SIZE@}]}'
    printf '%s\n' '--8<--'
    printf '%s\n' '{"architecture":"amd64","os":"linux","rootfs":{"type":"layers","diff_ids":["sha256:0000000000000000000000000000000000000000000000000000000000000000"]}}'
    printf '%s\n' '--8<--'
    cat "$W/layer.tar.gz"
} > "$C/oci/one-layer"
{
    printf '%s\n' '{"schemaVersion":2,"manifests":[{"mediaType":"application/vnd.oci.image.index.v1+json","digest":"@MANIFEST_DIGEST@","size":@MANIFEST_SIZE@}]}'
    printf '%s\n' '--8<--'
    printf '%s\n' '{"schemaVersion":2,"manifests":[{"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"sha256:1111111111111111111111111111111111111111111111111111111111111111","size":10,"platform":{"architecture":"arm64","os":"linux"}}]}'
    printf '%s\n' '--8<--'
    printf '%s\n' '{}'
} > "$C/oci/nested-index"
du -sh "$C"
