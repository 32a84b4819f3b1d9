#!/usr/bin/env python3
"""Write a directory as a reproducible initramfs: a newc cpio archive, optionally gzip'd.

    mkcpio.py [--gzip] [--node PATH:TYPE:MAJOR:MINOR:MODE]... DIR OUT

The archive depends only on the names, types, permission bits, symlink targets and contents
of what DIR holds: entries are sorted by name (bytewise), owned by 0:0, dated 0 (or
SOURCE_DATE_EPOCH), numbered from 1 in that order, every file with one link; the gzip header
carries no name and no time. So two builds from the same inputs are the same bytes, and trees
that carry the result keep a stable boot checksum.

--node adds a device node that the staging directory does not need to hold (mknod needs root):
TYPE is c or b, MODE octal, e.g. dev/console:c:5:1:600.
"""
import argparse
import gzip
import os
import stat
import sys

TRAILER = "TRAILER!!!"


class Writer:
    def __init__(self, out, mtime):
        self.out = out
        self.mtime = mtime
        self.ino = 0

    def entry(self, name, mode, data=b"", rdev=(0, 0), nlink=1):
        self.ino += 1
        encoded = name.encode("utf-8", "surrogateescape") + b"\0"
        fields = [
            self.ino if name != TRAILER else 0,
            mode,
            0,  # uid
            0,  # gid
            nlink,
            self.mtime if name != TRAILER else 0,
            len(data),
            0, 0,  # device of the archived file: meaningless in an initramfs
            rdev[0], rdev[1],
            len(encoded),
            0,  # check
        ]
        header = b"070701" + b"".join(b"%08X" % f for f in fields)
        self.out.write(header + encoded)
        self.pad(len(header) + len(encoded))
        self.out.write(data)
        self.pad(len(data))

    def pad(self, n):
        if n % 4:
            self.out.write(b"\0" * (4 - n % 4))


def collect(root):
    """(archive name, absolute path) of everything under root, parents before children."""
    items = []
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames.sort()
        rel = os.path.relpath(dirpath, root)
        for name in dirnames + filenames:
            path = os.path.join(dirpath, name)
            arc = name if rel == "." else os.path.join(rel, name)
            items.append((arc, path))
        # Symlinks to directories are listed in dirnames but not descended into by os.walk.
    return items


def parse_node(spec):
    try:
        path, kind, major, minor, mode = spec.split(":")
        fmt = {"c": stat.S_IFCHR, "b": stat.S_IFBLK}[kind]
        return path.strip("/"), fmt | int(mode, 8), (int(major), int(minor))
    except (ValueError, KeyError):
        raise SystemExit(f"mkcpio.py: error: bad --node {spec!r} (PATH:c|b:MAJOR:MINOR:MODE)")


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--gzip", action="store_true", help="gzip the archive (no name, no time)")
    ap.add_argument("--node", action="append", default=[], help="PATH:c|b:MAJOR:MINOR:MODE")
    ap.add_argument("dir")
    ap.add_argument("out")
    args = ap.parse_args()

    mtime = int(os.environ.get("SOURCE_DATE_EPOCH", "0"))
    entries = {}
    for arc, path in collect(args.dir):
        st = os.lstat(path)
        perm = stat.S_IMODE(st.st_mode)
        if stat.S_ISDIR(st.st_mode):
            entries[arc] = (stat.S_IFDIR | perm, b"", (0, 0), 2)
        elif stat.S_ISLNK(st.st_mode):
            target = os.readlink(path).encode("utf-8", "surrogateescape")
            entries[arc] = (stat.S_IFLNK | 0o777, target, (0, 0), 1)
        elif stat.S_ISREG(st.st_mode):
            with open(path, "rb") as f:
                entries[arc] = (stat.S_IFREG | perm, f.read(), (0, 0), 1)
        elif stat.S_ISCHR(st.st_mode) or stat.S_ISBLK(st.st_mode):
            rdev = (os.major(st.st_rdev), os.minor(st.st_rdev))
            entries[arc] = (stat.S_IFMT(st.st_mode) | perm, b"", rdev, 1)
        else:
            raise SystemExit(f"mkcpio.py: error: cannot archive {path} (not a file, directory, symlink or device)")
    for spec in args.node:
        path, mode, rdev = parse_node(spec)
        parent = os.path.dirname(path)
        if parent and parent not in entries:
            raise SystemExit(f"mkcpio.py: error: --node {spec}: no directory {parent} in {args.dir}")
        entries[path] = (mode, b"", rdev, 1)

    tmp = args.out + ".tmp"
    with open(tmp, "wb") as raw:
        out = gzip.GzipFile(filename="", mode="wb", fileobj=raw, compresslevel=6, mtime=0) if args.gzip else raw
        w = Writer(out, mtime)
        # Sorted bytewise, so a parent ("a") always precedes its children ("a/b").
        for arc in sorted(entries, key=lambda n: n.encode("utf-8", "surrogateescape")):
            mode, data, rdev, nlink = entries[arc]
            w.entry(arc, mode, data, rdev, nlink)
        w.entry(TRAILER, 0)
        if args.gzip:
            out.close()
    os.replace(tmp, args.out)


if __name__ == "__main__":
    sys.exit(main())
