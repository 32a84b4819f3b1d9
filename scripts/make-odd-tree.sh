#!/bin/sh
# Build a large, deterministic tree full of awkward cases for interop tests:
# odd file names (spaces, quotes, backslashes, unicode, leading dashes,
# 255-byte names), many modes (setuid, setgid, sticky, 0000), ownership
# variety, user.* xattrs (binary, empty, 1000-byte values), hardlinks,
# empty files and dirs, a 40-level deep path, long, absolute, dangling and
# escaping symlinks, a directory with 2000 entries, and sizes from 0 bytes
# to several MiB (about 30 MiB in all with the default COUNT).
#
# Usage: scripts/make-odd-tree.sh DEST [COUNT]
#   DEST   directory to create; it must not exist yet
#   COUNT  rough number of entries (default 3000); about 400 hand-written
#          cases are always made, the big directory gets min(2000,
#          2*COUNT/3) entries and random filler makes up the rest
#
# The same COUNT always gives the same names, bytes, modes, xattrs, link
# structure and mtimes (a fixed seed drives everything). Ownership
# (uid/gid such as 1000:1000, 0:100, 65534:65534) is only applied when run
# as root; otherwise everything belongs to the caller, and the mode-0000
# files cannot be read back by a non-root ostree. Names never contain
# newlines or tabs, and are always valid UTF-8.
#
# One case is lossy on purpose: `ostree commit` drops xattrs whose value is
# empty (user.empty on xattrs/empty-value), so a checkout of the commit lacks
# that one xattr; everything else round-trips.
#
# Needs python3 and a filesystem with user xattrs (ext4, xfs, btrfs; tmpfs
# only on recent kernels).
set -eu

usage() { echo "usage: make-odd-tree.sh DEST [COUNT]" >&2; exit 2; }
[ $# -ge 1 ] && [ $# -le 2 ] || usage
DEST=$1
COUNT=${2:-3000}
case $COUNT in ''|*[!0-9]*) usage ;; esac

if [ -e "$DEST" ] || [ -L "$DEST" ]; then
    echo "make-odd-tree.sh: $DEST already exists" >&2
    exit 1
fi
if ! command -v python3 >/dev/null 2>&1; then
    echo "make-odd-tree.sh: python3 is required" >&2
    exit 1
fi

exec python3 - "$DEST" "$COUNT" <<'PYEOF'
import errno, hashlib, os, struct, sys

dest, count = sys.argv[1], int(sys.argv[2])
IS_ROOT = os.geteuid() == 0
FIXED_TIME = 1704067200  # 2024-01-01T00:00:00Z

# --- deterministic randomness (independent of Python's random module) -----
class Rng:
    def __init__(self, seed):
        self.seed = seed.encode()
        self.n = 0
        self.buf = b""
    def _more(self):
        self.buf += hashlib.sha256(self.seed + struct.pack(">Q", self.n)).digest()
        self.n += 1
    def u32(self):
        while len(self.buf) < 4:
            self._more()
        v, self.buf = struct.unpack(">I", self.buf[:4])[0], self.buf[4:]
        return v
    def below(self, n):
        return self.u32() % n
    def between(self, lo, hi):  # inclusive
        return lo + self.below(hi - lo + 1)
    def choice(self, seq):
        return seq[self.below(len(seq))]
    def chance(self, percent):
        return self.below(100) < percent

rng = Rng("arbor-odd-tree-v1")

def stream(tag, size):
    """size pseudo-random bytes, fixed for a given tag."""
    return hashlib.shake_256(b"arbor-odd-content:" + tag.encode()).digest(size)

def text(tag, size):
    words = [b"arbor", b"tree", b"commit", b"object", b"deploy", b"checksum",
             b"variant", b"dirtree", b"\xc3\xa9t\xc3\xa9", b"\xe6\x97\xa5\xe6\x9c\xac"]
    r = Rng("text:" + tag)
    out = bytearray()
    while len(out) < size:
        line = b" ".join(r.choice(words) for _ in range(r.between(1, 12)))
        out += line + b"\n"
    return bytes(out[:size])

# --- bookkeeping: modes and mtimes are applied at the end -----------------
dir_modes = {}      # path -> mode
all_paths = []      # every created path, for the final utime pass

def p(*parts):
    return os.path.join(dest, *parts)

def mkdir(rel, mode=0o755, owner=None, xattrs=None):
    path = p(rel)
    parts = rel.split("/")
    for k in range(1, len(parts)):       # missing ancestors get 0755
        anc = p(*parts[:k])
        if not os.path.isdir(anc):
            os.mkdir(anc)
            dir_modes[anc] = 0o755
            all_paths.append(anc)
    os.mkdir(path)
    dir_modes[path] = mode
    if owner:
        chown(path, owner)
    for k, v in (xattrs or []):
        setx(path, k, v)
    all_paths.append(path)
    return rel

def chown(path, owner):
    if IS_ROOT:
        os.lchown(path, owner[0], owner[1])

def setx(path, name, value):
    try:
        os.setxattr(path, name, value)
    except OSError as e:
        if e.errno in (errno.ENOTSUP, errno.EOPNOTSUPP):
            sys.exit("make-odd-tree.sh: this filesystem does not support "
                     "user xattrs: " + path)
        raise

def mkfile(rel, data=b"", mode=0o644, owner=None, xattrs=None):
    path = p(rel)
    with open(path, "wb") as f:
        f.write(data)
    if owner:
        chown(path, owner)      # before chmod: chown clears setuid/setgid
    for k, v in (xattrs or []):
        setx(path, k, v)        # before chmod: read-only files refuse xattrs
    os.chmod(path, mode)
    all_paths.append(path)
    return rel

def mklink(rel, target, owner=None):
    path = p(rel)
    os.symlink(target, path)
    if owner:
        chown(path, owner)
    all_paths.append(path)
    return rel

def hardlink(existing_rel, rel):
    os.link(p(existing_rel), p(rel))
    all_paths.append(p(rel))
    return rel

OWNERS = [(0, 0), (1000, 1000), (0, 100), (65534, 65534), (1234, 5678), (1000, 0)]

# --- the fixed, hand-written part -----------------------------------------
os.mkdir(dest)
dir_modes[dest] = 0o755
all_paths.append(dest)

# Odd names, all in one directory so their byte order matters.
mkdir("names")
odd_names = [
    "with space", " leading space", "trailing space ", "two  spaces",
    "-leading-dash", "--double-dash", "-", "--",
    "back\\slash", "\\", "single'quote", 'double"quote', "'both\"",
    "#hash", "~tilde", "tilde~", "a=b", "100%", "%41", "a+b",
    "$dollar", "${HOME}", "semi;colon", "star*", "question?", "[brackets]",
    "{braces}", "(parens)", "<angle>", "|pipe", "&amp", "!bang", "@at",
    "`backtick`", ":colon", ",comma", ".hidden", "..dotdot-prefix", "...",
    "caf\u00e9", "cafe\u0301", "\u65e5\u672c", "\u65e5\u672c\u8a9e.txt",
    "\u00c5ngstr\u00f6m", "\u0395\u03bb\u03bb\u03b7\u03bd\u03b9\u03ba\u03ac",
    "\u0440\u0443\u0441\u0441\u043a\u0438\u0439", "\u05e2\u05d1\u05e8\u05d9\u05ea",
    "\U0001f333 tree", "zero\u200bwidth", "nbsp\u00a0here",
    "Case", "case", "CASE", "abc", "abc.d", "abc-", "abc~", "B", "a", "_", "Z",
    "1", "10", "2", "x" * 255, "\u65e5" * 85, "\u00e9" * 127 + "x",
]
for i, name in enumerate(odd_names):
    mkfile(os.path.join("names", name), ("%d:%s\n" % (i, name)).encode(), 0o644)
# The same odd names as directories and symlinks.
mkdir("names-dirs")
for i, name in enumerate(odd_names[:30]):
    mkdir(os.path.join("names-dirs", name))
    mkfile(os.path.join("names-dirs", name, "inside"), b"inside %d\n" % i)
mkdir("names-links")
for i, name in enumerate(odd_names[:30]):
    mklink(os.path.join("names-links", name), "../names/" + name)

# Modes.
mkdir("modes")
file_modes = [0o600, 0o640, 0o644, 0o664, 0o700, 0o750, 0o755, 0o775,
              0o4755, 0o2755, 0o6755, 0o4711, 0o1644, 0o444, 0o400, 0o000,
              0o777, 0o666, 0o7777]
for m in file_modes:
    mkfile("modes/file-%04o" % m, b"mode %04o\n" % m, m)
mkfile("modes/empty-0000", b"", 0o000)
for m in [0o700, 0o750, 0o755, 0o775, 0o1777, 0o2775, 0o3777, 0o711]:
    d = mkdir("modes/dir-%04o" % m, m)
    mkfile(d + "/f", b"in dir %04o\n" % m)
# A sticky /tmp-like dir with a few files owned by different users.
mkdir("modes/sticky-tmp", 0o1777)
for i, o in enumerate(OWNERS):
    mkfile("modes/sticky-tmp/user-%d-%d" % o, b"owned\n", 0o600, owner=o)

# Ownership.
mkdir("owners")
for o in OWNERS:
    mkfile("owners/file-%d-%d" % o, b"%d:%d\n" % o, 0o644, owner=o)
    mkdir("owners/dir-%d-%d" % o, 0o755, owner=o)
    mkfile("owners/dir-%d-%d/f" % o, b"x\n", 0o640, owner=o)
    mklink("owners/link-%d-%d" % o, "file-%d-%d" % o, owner=o)
mkfile("owners/setuid-1000", b"#!/bin/sh\nid\n", 0o4755, owner=(1000, 1000))
mkfile("owners/setgid-100", b"#!/bin/sh\nid\n", 0o2755, owner=(0, 100))

# Extended attributes (user.* only; symlinks cannot carry them).
mkdir("xattrs", xattrs=[("user.dir.note", b"a directory with xattrs")])
mkfile("xattrs/one", b"one\n", xattrs=[("user.one", b"1")])
mkfile("xattrs/empty-value", b"ev\n", xattrs=[("user.empty", b"")])
mkfile("xattrs/binary", b"bin\n",
       xattrs=[("user.binary", bytes(range(256))), ("user.nul", b"\x00"),
               ("user.nuls", b"a\x00b\x00\x00c")])
mkfile("xattrs/big-value", b"big\n", xattrs=[("user.big", stream("xattr-big", 1000))])
mkfile("xattrs/many", b"many\n",
       xattrs=[("user.k%02d" % (19 - i), b"v%d" % i) for i in range(20)])
mkfile("xattrs/unicode-name", b"u\n",
       xattrs=[("user.\u00e9t\u00e9", "\u65e5\u672c".encode()),
               ("user.with space", b"spaced")])
mkfile("xattrs/empty-file", b"", xattrs=[("user.on-empty", b"yes")])
mkfile("xattrs/setuid", b"s\n", 0o4755, xattrs=[("user.mode", b"4755")])
mkdir("xattrs/empty-dir", 0o700, xattrs=[("user.empty-dir", b"\xff\xfe")])
mkfile("xattrs/same-bytes-a", b"same\n", xattrs=[("user.v", b"a")])
mkfile("xattrs/same-bytes-b", b"same\n", xattrs=[("user.v", b"b")])
mkfile("xattrs/same-bytes-none", b"same\n")

# Hardlinks: within a dir, across dirs, with odd names, modes and xattrs.
mkdir("hardlinks")
mkdir("hardlinks/other")
mkdir("hardlinks/deeper/still")
mkfile("hardlinks/pair-a", b"pair\n")
hardlink("hardlinks/pair-a", "hardlinks/pair-b")
mkfile("hardlinks/trio-1", stream("trio", 5000), 0o600)
hardlink("hardlinks/trio-1", "hardlinks/other/trio-2")
hardlink("hardlinks/trio-1", "hardlinks/deeper/still/trio 3 \u00e9")
mkfile("hardlinks/suid", b"suid\n", 0o4755, owner=(1000, 1000))
hardlink("hardlinks/suid", "hardlinks/other/suid-too")
mkfile("hardlinks/with-xattr", b"hx\n", xattrs=[("user.h", b"shared")])
hardlink("hardlinks/with-xattr", "hardlinks/other/with-xattr")
mkfile("hardlinks/empty", b"")
hardlink("hardlinks/empty", "hardlinks/other/empty")
hardlink("names/" + odd_names[8], "hardlinks/other/" + odd_names[8])

# Empty files and directories.
mkdir("empty")
mkfile("empty/file", b"")
mkfile("empty/file-0600", b"", 0o600)
mkfile("empty/file-exec", b"", 0o755)
mkdir("empty/dir")
mkdir("empty/dir-0700", 0o700)
mkdir("empty/nested/a/b/c")
mkdir("empty/sticky", 0o1777)

# A 40-level deep path, and a deep path with long unicode names.
deep = "deep"
mkdir(deep)
for i in range(40):
    deep += "/level-%02d" % i
    mkdir(deep)
mkfile(deep + "/bottom.txt", b"40 levels down\n")
mklink(deep + "/to-top", "../" * 41 + "names/a")
deep = "deep-unicode"
mkdir(deep)
for i in range(32):
    deep += "/\u00e9tage-%02d-\u65e5\u672c" % i
    mkdir(deep)
mkfile(deep + "/fond", b"bottom\n")

# Symlinks of every awkward sort.
mkdir("symlinks")
mkdir("symlinks/target-dir")
mkfile("symlinks/target-dir/file", b"target\n")
links = {
    "relative": "target-dir/file",
    "to-dir": "target-dir",
    "to-dir-slash": "target-dir/",
    "dot": ".",
    "dotdot": "..",
    "absolute-passwd": "/etc/passwd",
    "absolute-root": "/",
    "escape-shadow": "../../../../etc/shadow",
    "escape-deep": "../" * 20 + "usr/bin/env",
    "dangling": "does/not/exist",
    "self-loop": "self-loop",
    "loop-a": "loop-b",
    "loop-b": "loop-a",
    "chain-1": "chain-2",
    "chain-2": "target-dir/file",
    "long-dangling": "/".join("long-component-%03d" % i for i in range(55))[:1000],
    "long-4000": ("x" * 200 + "/") * 19 + "end",
    "unicode-target": "../names/\u65e5\u672c\u8a9e.txt",
    "space target": "../names/with space",
    "quotes": "../names/single'quote",
    "backslash": "..\\names\\back\\slash",
    "dash-target": "-leading-dash",
    "double-slash": "target-dir//file",
    "trailing-dot": "target-dir/.",
}
for name, target in links.items():
    mklink("symlinks/" + name, target)

# Sizes around page and GVariant boundaries, plus some large files.
mkdir("sizes")
for size in [0, 1, 2, 255, 256, 4095, 4096, 4097, 8191, 8192, 65535, 65536,
             65537, 131072]:
    mkfile("sizes/random-%d" % size, stream("size-%d" % size, size))
mkfile("sizes/random-1MiB", stream("1m", 1 << 20))
mkfile("sizes/random-1MiB+1", stream("1m+1", (1 << 20) + 1))
mkfile("sizes/random-2MiB+12345", stream("2m", (2 << 20) + 12345))
mkfile("sizes/random-6MiB", stream("6m", 6 << 20), 0o755)
mkfile("sizes/zeros-5MiB", bytes(5 << 20))
mkfile("sizes/text-3MiB", text("3m", 3 << 20))
mkfile("sizes/copy-of-1MiB", stream("1m", 1 << 20))
mkfile("sizes/copy-of-1MiB-0600", stream("1m", 1 << 20), 0o600)

fixed_entries = len(all_paths)

# --- a directory with many entries (4-byte GVariant offsets) --------------
big = min(2000, count * 2 // 3)
if big:
    mkdir("bigdir")
    for i in range(big):
        r = rng.below(20)
        name = "entry-%05d-%s" % (i, hashlib.sha256(b"%d" % i).hexdigest()[:rng.between(4, 40)])
        if r == 0:
            mklink("bigdir/" + name, "entry-%05d" % ((i * 7) % big))
        elif r == 1:
            mkdir("bigdir/" + name)
        else:
            mkfile("bigdir/" + name, b"%d\n" % i if rng.chance(80) else b"",
                   rng.choice([0o644, 0o644, 0o600, 0o755]))

# --- random filler ---------------------------------------------------------
filler = max(0, count - fixed_entries - big)
pieces = ["data", "conf", "lib", "x", "\u00e9t\u00e9", "\u65e5\u672c", "a b",
          "-opt", "q'uote", 'd"q', "b\\s", "#1", "~bak", "k=v", "50%", "c++",
          "README", ".dot", "UPPER", "mixedCase", "\U0001f333"]
dirs = ["filler"]
mkdir("filler")
for i in range(max(1, filler // 25)):
    parent = rng.choice(dirs)
    if parent.count("/") > 5:
        parent = "filler"
    d = mkdir("%s/%s-d%d" % (parent, rng.choice(pieces), i),
              rng.choice([0o755, 0o755, 0o750, 0o700, 0o775, 0o1777, 0o2775]),
              owner=rng.choice(OWNERS) if rng.chance(20) else None,
              xattrs=[("user.dir", b"%d" % i)] if rng.chance(10) else None)
    dirs.append(d)
regular = []
made = len(dirs)
i = 0
while made < filler:
    i += 1
    parent = rng.choice(dirs)
    name = "%s/%s%s-%d" % (parent, rng.choice(pieces),
                           rng.choice(["", ".txt", ".bin", ".so.1", " copy"]), i)
    kind = rng.below(100)
    if kind < 8 and regular:
        hardlink(rng.choice(regular), name)
    elif kind < 16:
        mklink(name, rng.choice([
            "../" * rng.between(0, 3) + rng.choice(pieces),
            "/usr/lib/" + rng.choice(pieces),
            rng.choice(regular) if regular else "nothing",
        ]), owner=rng.choice(OWNERS) if rng.chance(10) else None)
    else:
        s = rng.below(100)
        if s < 45:
            size = rng.below(101)
        elif s < 85:
            size = rng.between(100, 4096)
        elif s < 98:
            size = rng.between(4096, 65536)
        else:
            size = rng.between(65536, 200000)
        c = rng.below(10)
        if c == 0 and regular:
            with open(p(rng.choice(regular)), "rb") as f:   # duplicate content
                data = f.read()
        elif c < 5:
            data = text("filler-%d" % i, size)
        elif c < 6:
            data = bytes(size)
        else:
            data = stream("filler-%d" % i, size)
        xattrs = None
        if rng.chance(10):
            xattrs = [("user.n%d" % k, stream("fx-%d-%d" % (i, k), rng.between(1, 64)))
                      for k in range(rng.between(1, 4))]
        mode = rng.choice([0o644] * 6 + [0o600, 0o640, 0o664, 0o755, 0o700,
                                         0o750, 0o775, 0o4755, 0o2755, 0o444])
        owner = rng.choice(OWNERS) if rng.chance(15) else None
        regular.append(mkfile(name, data, mode, owner=owner, xattrs=xattrs))
    made += 1

# --- final pass: directory modes (deepest first), then fixed mtimes -------
for path in sorted(dir_modes, key=lambda s: -s.count("/")):
    os.chmod(path, dir_modes[path])
for path in sorted(set(all_paths), key=lambda s: -s.count("/")):
    os.utime(path, (FIXED_TIME, FIXED_TIME), follow_symlinks=False)

print("make-odd-tree.sh: created %s (%d entries%s)"
      % (dest, len(set(all_paths)) - 1, "" if IS_ROOT else ", ownership not applied"),
      file=sys.stderr)
PYEOF
