#!/bin/sh
# Build the small sample tree that the checksums in Tests/Fixtures/ describe.
# Usage: scripts/make-sample-tree.sh DEST   (DEST must not exist yet)
# Needs `setfattr` (package `attr`) and a filesystem with user xattrs
# (ext4, xfs, btrfs; tmpfs only on recent kernels).
# Modes are set explicitly so the umask does not matter. Ownership is left
# alone: commit it with --owner-uid=0 --owner-gid=0 to match the fixtures.
set -eu
D=${1:?usage: make-sample-tree.sh DEST}
command -v setfattr >/dev/null 2>&1 || {
    echo "make-sample-tree.sh: setfattr not found (install the 'attr' package)" >&2
    exit 1
}
if [ -e "$D" ] || [ -L "$D" ]; then
    echo "make-sample-tree.sh: $D already exists" >&2
    exit 1
fi
mkdir "$D"
cd "$D"
printf 'Hello, OSTree!\n' > hello.txt;           chmod 0644 hello.txt
printf '#!/bin/sh\necho hi\n' > run.sh;          chmod 0755 run.sh
: > empty;                                        chmod 0644 empty
printf 'top secret\n' > secret;                  chmod 0600 secret
printf 'group writable\n' > shared.txt;          chmod 0664 shared.txt
ln -s hello.txt link
mkdir -p sub/dir
printf 'nested file\n' > sub/dir/nested.txt;     chmod 0644 sub/dir/nested.txt
ln -s ../../hello.txt sub/dir/uplink
printf 'has xattrs\n' > xattr.txt;               chmod 0644 xattr.txt
# Two user xattrs, deliberately set out of sorted order.
setfattr -n user.zeta  -v "last"  xattr.txt
setfattr -n user.alpha -v "first" xattr.txt
chmod 0700 sub/dir
chmod 0755 sub
chmod 0755 .
