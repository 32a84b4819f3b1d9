#!/usr/bin/env python3
"""Regenerate Sources/arbor/symbol-order.txt: the functions arbor runs, hottest first.

The linker (lld --symbol-ordering-file) places these functions next to each other at the start
of the executable's code. Without it, the few thousand functions a command runs are spread over
~10 MB of statically linked Swift runtime, Foundation and arbor code, and the kernel maps 64 KB
around every page touched ("fault-around"): about 5 MB of resident code for a small command.
Packed together they take a fraction of that, which lowers every command's peak memory and
start-up time.

How: build the release binary, run a scenario that covers every command family (init, commit
from directories and tarballs in each mode, checkout, ls/cat/show/log/diff/refs, fsck, prune,
summary, export, pull over HTTP from a local static server, pull-local, and the admin
deploy/upgrade/rollback/status/cleanup cycle) under valgrind's callgrind, and keep every
function of the executable that ran. Functions used by more commands come first; the order
within a group follows the profile. A stale list only costs locality: names that no longer
exist are ignored by the linker.

Usage: scripts/symbol-order.py [--output FILE]
Needs valgrind (Debian: valgrind) and python3; run as root (bare-mode ownership).
"""
import argparse
import collections
import http.server
import os
import re
import shutil
import subprocess
import sys
import tarfile
import tempfile
import threading

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def log(msg):
    print(f"symbol-order: {msg}", file=sys.stderr, flush=True)


def sh(argv, **kw):
    return subprocess.run(argv, check=True, stdout=subprocess.PIPE, text=True, **kw).stdout


class Profiler:
    def __init__(self, binary, work):
        self.binary = binary
        self.work = work
        self.runs = []  # one list of function names per profiled command

    def plain(self, *args):
        sh([self.binary, *map(str, args)])

    def prof(self, *args, ok=(0,)):
        out = os.path.join(self.work, f"cg.{len(self.runs)}")
        argv = ["valgrind", "--tool=callgrind", "--demangle=no", "--compress-strings=no",
                "--dump-instr=no", "--separate-recs=1", f"--callgrind-out-file={out}", self.binary,
                *map(str, args)]
        p = subprocess.run(argv, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        if p.returncode not in ok:
            sys.exit(f"symbol-order: `arbor {' '.join(map(str, args))}` exited {p.returncode}:\n{p.stderr[-2000:]}")
        names = []
        seen = set()
        # Each thread may have its own file (out, out-01, ...).
        for f in sorted(x for x in os.listdir(self.work) if x == os.path.basename(out) or x.startswith(os.path.basename(out) + "-")):
            with open(os.path.join(self.work, f), errors="replace") as fh:
                for line in fh:
                    if line.startswith("fn="):
                        name = re.sub(r"'\d+$", "", line[3:].strip())
                        if name not in seen:
                            seen.add(name)
                            names.append(name)
            os.unlink(os.path.join(self.work, f))
        self.runs.append(names)


class QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *a):
        pass


def scenario(p, work):
    trees = os.path.join(ROOT, "trees")
    v1, v2 = os.path.join(trees, "demo-1.0"), os.path.join(trees, "demo-1.1")
    tarball = os.path.join(work, "demo-1.0.tar")
    with tarfile.open(tarball, "w") as t:
        t.add(v1, arcname=".")
    bare, arch, pulled, local = (os.path.join(work, n) for n in ("bare", "archive", "pulled", "local"))

    p.prof("--help")
    p.prof("help", "commit")
    p.prof("init", f"--repo={bare}", "--mode=bare")
    p.prof("commit", f"--repo={bare}", "-b", "os/stable", "-s", "one", "--add-metadata-string=version=1.0", v1)
    p.prof("commit", f"--repo={bare}", "-b", "os/stable", "-s", "two", f"--tree=dir={v2}")
    p.prof("commit", f"--repo={bare}", "-b", "os/tar", "-s", "tar", f"--tree=tar={tarball}")
    p.plain("init", f"--repo={arch}", "--mode=archive")
    p.prof("commit", f"--repo={arch}", "-b", "os/stable", "-s", "one", v1)
    p.prof("commit", f"--repo={arch}", "-b", "os/stable", "-s", "two", v2)
    p.prof("commit", f"--repo={arch}", "-b", "os/tar", "-s", "tar", f"--tree=tar={tarball}")
    for repo in (bare, arch):
        p.prof("log", f"--repo={repo}", "os/stable")
        p.prof("refs", f"--repo={repo}")
        p.prof("refs", f"--repo={repo}", "--json")
        p.prof("ls", f"--repo={repo}", "-R", "os/stable")
        p.prof("cat", f"--repo={repo}", "os/stable", "/usr/lib/os-release")
        p.prof("show", f"--repo={repo}", "os/stable")
        p.prof("rev-parse", f"--repo={repo}", "os/stable^")
        p.prof("diff", f"--repo={repo}", "os/stable^", "os/stable")
        p.prof("fsck", f"--repo={repo}")
    # Files of every size class: commit hashes small ones in memory, compresses medium ones whole
    # and streams large ones; pull inflates small ones in memory and receives large ones in files.
    big = os.path.join(work, "big-tree")
    shutil.copytree(v2, big, symlinks=True)
    os.makedirs(os.path.join(big, "var", "lib", "big"))
    for name, size in (("small", 40_000), ("medium", 600_000), ("large", 3_000_000)):
        with open(os.path.join(big, "var", "lib", "big", name), "w") as f:
            n = 0
            while f.tell() < size:
                f.write(f"line {n} {n * 2654435761 % 4294967296:08x} of the {name} file\n")
                n += 1
    p.prof("commit", f"--repo={bare}", "-b", "os/big", "-s", "big", big)
    p.prof("commit", f"--repo={arch}", "-b", "os/big", "-s", "big", big)
    p.prof("fsck", f"--repo={arch}")
    p.prof("checkout", f"--repo={bare}", "os/stable", os.path.join(work, "co-links"))
    p.prof("checkout", f"--repo={bare}", "-C", "os/stable", os.path.join(work, "co-copy"))
    p.prof("checkout", f"--repo={arch}", "os/stable", os.path.join(work, "co-archive"))
    p.prof("export", f"--repo={arch}", f"--output={os.path.join(work, 'export.tar')}", "os/stable")
    p.prof("summary", f"--repo={arch}", "-u")
    p.prof("refs", f"--repo={bare}", "--delete", "os/tar")
    p.prof("prune", f"--repo={bare}", "--refs-only")

    # pull over HTTP from a static server, then an incremental pull
    class Handler(QuietHandler):
        def __init__(self, *a, **kw):
            super().__init__(*a, directory=arch, **kw)
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        url = f"http://127.0.0.1:{server.server_address[1]}"
        p.plain("init", f"--repo={pulled}", "--mode=bare")
        p.prof("remote", "add", f"--repo={pulled}", "--no-sign-verify", "origin", url)
        p.prof("remote", "list", f"--repo={pulled}")
        p.prof("pull", f"--repo={pulled}", "origin", "os/tar")
        p.prof("pull", f"--repo={pulled}", "origin", "os/stable")
        p.prof("pull", f"--repo={pulled}", "origin", "os/stable")
        p.prof("pull", f"--repo={pulled}", "origin", "os/big")
    finally:
        server.shutdown()
    p.plain("init", f"--repo={local}", "--mode=bare-user")
    p.prof("pull-local", f"--repo={local}", arch, "os/stable")

    sysroot = os.path.join(work, "sysroot")
    repo = os.path.join(sysroot, "ostree", "repo")
    p.prof("admin", "init-fs", sysroot)
    p.prof("admin", "os-init", f"--sysroot={sysroot}", "demo")
    p.plain("commit", f"--repo={repo}", "-b", "demo/stable", "-s", "1.0", "--add-metadata-string=version=1.0",
            "--owner-uid=0", "--owner-gid=0", v1)
    p.prof("admin", "deploy", f"--sysroot={sysroot}", "--os=demo", "--karg=root=LABEL=root", "demo/stable")
    p.prof("admin", "status", f"--sysroot={sysroot}")
    p.prof("admin", "config-diff", f"--sysroot={sysroot}")
    p.plain("commit", f"--repo={repo}", "-b", "demo/stable", "-s", "1.1", "--add-metadata-string=version=1.1",
            "--owner-uid=0", "--owner-gid=0", v2)
    p.prof("admin", "upgrade", f"--sysroot={sysroot}")
    p.prof("admin", "status", f"--sysroot={sysroot}", "--json")
    p.prof("admin", "rollback", f"--sysroot={sysroot}")
    p.prof("admin", "cleanup", f"--sysroot={sysroot}")
    # errors are a path too: an unknown ref, a missing repository
    p.prof("rev-parse", f"--repo={bare}", "no/such/ref", ok=(1,))
    p.prof("log", f"--repo={os.path.join(work, 'missing')}", "x", ok=(1,))


def text_sections(map_file):
    """Input sections of the executable's .text from an lld map: [(size, [(symbol, size)])]."""
    sections, current, in_text, out_column = [], None, False, None
    with open(map_file, errors="replace") as f:
        next(f, None)  # header
        for line in f:
            parts = line.split()
            if len(parts) < 5:
                continue
            # Columns: VMA LMA Size Align, then the name indented by level (output section,
            # input section, symbol).
            level = (len(line) - len(line.split(None, 4)[4])) if len(parts) >= 5 else 0
            if out_column is None:
                out_column = level
            if level == out_column:  # an output section
                in_text = parts[4] == ".text"
                current = None
                continue
            if not in_text:
                continue
            if level == out_column + 8:
                current = (int(parts[2], 16), [])
                sections.append(current)
            elif current is not None and level == out_column + 16:
                current[1].append((parts[4], int(parts[2], 16)))
    return sections


def main():
    ap = argparse.ArgumentParser(description="Regenerate arbor's linker symbol order from a profile.")
    ap.add_argument("--output", default=os.path.join(ROOT, "Sources", "arbor", "symbol-order.txt"))
    args = ap.parse_args()
    if not shutil.which("valgrind"):
        sys.exit("symbol-order: valgrind is needed (Debian: apt-get install -y valgrind)")
    work = tempfile.mkdtemp(prefix="arbor-symbol-order.")
    try:
        build = ["swift", "build", "-c", "release", "--static-swift-stdlib"]
        map_file = os.path.join(work, "arbor.map")
        log("building the release binary (with a link map)")
        subprocess.run(build + ["-Xlinker", f"-Map={map_file}"], cwd=ROOT, check=True, stdout=sys.stderr)
        binary = os.path.join(sh(build + ["--show-bin-path"], cwd=ROOT).strip(), "arbor")
        # valgrind cannot read the debug information lld writes; symbols are enough.
        stripped = os.path.join(work, "arbor")
        shutil.copy(binary, stripped)
        sh(["strip", "--strip-debug", stripped])
        prof = Profiler(stripped, work)
        log("profiling (a minute or two under valgrind)")
        scenario(prof, work)
        sections = text_sections(map_file)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    count = collections.Counter()
    first = {}
    for i, names in enumerate(prof.runs):
        for j, n in enumerate(names):
            count[n] += 1
            first.setdefault(n, (i, j))
    # The linker moves whole input sections. Most functions have their own (-function-sections),
    # but prebuilt libraries keep some in one large .text (the standard library's is 1.6 MB):
    # moving such a section for a few hot functions would bring its cold bulk along. A section
    # is moved when it is small (one fault-around window) or mostly run.
    window = 64 << 10
    allowed = {}
    for size, symbols in sections:
        hot = sum(sz for name, sz in symbols if name in count)
        ok = size <= window or hot * 2 >= size
        for name, _ in symbols:
            allowed[name] = allowed.get(name, True) and ok
    ordered = sorted((n for n in count if allowed.get(n)), key=lambda n: (-count[n], first[n]))
    with open(args.output + ".tmp", "w") as f:
        f.write("".join(n + "\n" for n in ordered))
    os.replace(args.output + ".tmp", args.output)
    log(f"{len(ordered)} functions from {len(prof.runs)} profiled commands -> {os.path.relpath(args.output, ROOT)}")


if __name__ == "__main__":
    main()
