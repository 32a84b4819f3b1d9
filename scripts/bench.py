#!/usr/bin/env python3
"""Benchmark Arbor against the real `ostree` on the same trees, on the same machine, in one run.

Called by scripts/bench.sh (which builds the release binary and exports ARBOR); see
`scripts/bench.sh --help`. Standard library only.

Method
  * Every case runs one warm-up pair (not counted) and then N measured pairs. A pair is one run of
    each tool; the order alternates from pair to pair (ostree first, then arbor first, ...), so
    neither tool always follows the other's writes.
  * The timed region is the tool's command only, run under `/usr/bin/time -v`; everything else (fresh
    repositories, `cp -a` of prepared repositories and sysroots, `sync` to flush the setup's dirty
    pages) happens before or after it. The page cache is not dropped.
  * Outputs (repositories, checkouts, sysroots) are kept until the whole run ends, not removed
    between runs: on ext4 without a journal the inode allocator skips inodes freed in the last
    minutes, one by one, so a run right after removing thousands of files spends much of its time
    in the kernel skipping them (`recently_deleted` in `perf`), whichever tool it is. `--tidy`
    removes each output right away instead (less disk, noisier numbers).
  * Reported per case: the median wall time of each tool, the median of the per-pair ratios
    arbor/ostree, the peak memory (largest maximum RSS over the measured runs), the bytes on disk of
    the resulting repository (`du -sb`), user and system CPU time (medians), and for pulls the HTTP
    requests each tool made (nginx access log).
  * Read-only cases (checkout, fsck, diff) and prune read one repository written by `ostree`, so both
    tools read identical bytes; commit, tarball import and pull cases write fresh repositories, each
    tool its own, initialised by that tool.
"""

import argparse
import glob
import hashlib
import json
import os
import platform
import random
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request

TS = {"v1": "2024-01-01T00:00:00Z", "v2": "2024-01-02T00:00:00Z", "v3": "2024-01-03T00:00:00Z"}
TOOLS = ("ostree", "arbor")
KVER = "6.1.0-bench"

# (case, description). A case may produce several rows (deploy: deploy and upgrade).
CASES = [
    ("commit-bare", "commit v1 into a fresh bare repo"),
    ("commit-archive", "commit v1 into a fresh archive repo"),
    ("commit-v2", "commit v2 on top of v1 (bare, same branch)"),
    ("checkout", "checkout v2 with hardlinks (bare repo)"),
    ("checkout-copy", "checkout v2 with copies (bare repo, --force-copy)"),
    ("checkout-archive", "checkout v2 from an archive repo (copies, decompressed)"),
    ("fsck", "full fsck of a bare repo holding v1 and v2"),
    ("diff", "diff v1 v2"),
    ("prune", "prune --refs-only after deleting v1's ref (bare)"),
    ("pull-v2", "pull v2 over HTTP into an empty bare repo"),
    ("pull-v3", "pull v3 over HTTP into a bare repo holding v2"),
    ("tar-import", "commit --tree=tar=v1.tar into a fresh bare repo"),
    ("deploy", "admin deploy v1, then admin upgrade to v2, in a sandbox sysroot"),
]
CASE_NAMES = [c for c, _ in CASES]


def log(msg):
    print(f"bench: {msg}", file=sys.stderr, flush=True)


class BenchError(Exception):
    pass


def sh(cmd, cwd=None, capture=True, check=True, env=None):
    """Run an untimed helper command; raise BenchError with its stderr on failure."""
    p = subprocess.run([str(c) for c in cmd], cwd=cwd, env=env, stdin=subprocess.DEVNULL,
                       stdout=subprocess.PIPE if capture else subprocess.DEVNULL,
                       stderr=subprocess.PIPE, text=True)
    if check and p.returncode != 0:
        raise BenchError(f"{' '.join(map(str, cmd))} failed ({p.returncode}): {p.stderr.strip()[-800:]}")
    return p.stdout if capture else ""


def du_bytes(path):
    out = sh(["du", "-sb", path])
    return int(out.split()[0])


def tree_stats(path):
    files = dirs = links = 0
    size = 0
    for root, dnames, fnames in os.walk(path):
        dirs += 1
        for f in fnames:
            p = os.path.join(root, f)
            st = os.lstat(p)
            if os.path.islink(p):
                links += 1
            else:
                files += 1
                size += st.st_size
        for d in dnames:
            if os.path.islink(os.path.join(root, d)):
                links += 1
    return {"files": files, "dirs": dirs, "symlinks": links, "file_bytes": size}


def tree_signature(path):
    """A digest of a checked-out tree: every path with its type, mode, owner, size and link target."""
    h = hashlib.sha256()
    n = 0
    for root, dnames, fnames in os.walk(path):
        dnames.sort()
        for name in sorted(dnames + fnames):
            p = os.path.join(root, name)
            st = os.lstat(p)
            target = os.readlink(p) if os.path.islink(p) else ""
            size = st.st_size if not os.path.isdir(p) or os.path.islink(p) else 0
            h.update(f"{os.path.relpath(p, path)}\0{st.st_mode:o}\0{st.st_uid}\0{st.st_gid}\0{size}\0{target}\n"
                     .encode(errors="surrogateescape"))
            n += 1
    return f"{n} entries, {h.hexdigest()[:12]}"


def objects_signature(repo):
    """A digest of the set of object names in a repository."""
    names = []
    for root, _, fnames in os.walk(os.path.join(repo, "objects")):
        names += [os.path.basename(root) + f for f in fnames]
    names.sort()
    return f"{len(names)} objects, {hashlib.sha256(chr(10).join(names).encode()).hexdigest()[:12]}"


def median(xs):
    return statistics.median(xs) if xs else None


def unimmutable_and_remove(path):
    """Remove PATH, clearing the immutable attribute deployments carry first."""
    if not os.path.lexists(path):
        return
    for d in (glob.glob(os.path.join(path, "ostree", "deploy", "*", "deploy", "*")) +
              glob.glob(os.path.join(path, "*", "ostree", "deploy", "*", "deploy", "*"))):
        if os.path.isdir(d) and not os.path.islink(d):
            subprocess.run(["chattr", "-i", d], stderr=subprocess.DEVNULL)
    if subprocess.run(["rm", "-rf", path], stderr=subprocess.DEVNULL).returncode != 0:
        subprocess.run(["chattr", "-R", "-i", path], stdout=subprocess.DEVNULL,
                       stderr=subprocess.DEVNULL)
        sh(["rm", "-rf", path])


def copy_tree(src, dst, link=False):
    """cp -a (or cp -al when link and on the same filesystem)."""
    if link and subprocess.run(["cp", "-al", src, dst], stderr=subprocess.DEVNULL).returncode == 0:
        return
    if os.path.lexists(dst):
        sh(["rm", "-rf", dst])
    sh(["cp", "-a", src, dst])


# ---------------------------------------------------------------------------------------------
# Measurement


class Measurement:
    def __init__(self, wall, rss_kb, user, sys_, rc, stdout_path, stderr_path):
        self.wall, self.rss_kb, self.user, self.sys, self.rc = wall, rss_kb, user, sys_, rc
        self.stdout_path, self.stderr_path = stdout_path, stderr_path

    def stderr_tail(self):
        try:
            with open(self.stderr_path, errors="replace") as f:
                lines = [l.rstrip() for l in f.read().splitlines() if l.strip()]
            return " | ".join(lines[-3:])[-600:]
        except OSError:
            return ""


def parse_time_v(path):
    out = {}
    with open(path, errors="replace") as f:
        for line in f:
            k, _, v = line.strip().rpartition(": ")
            out[k] = v
    def num(key, default=0.0):
        try:
            return float(out.get(key, default))
        except ValueError:
            return default
    return {"rss_kb": int(num("Maximum resident set size (kbytes)")),
            "user": num("User time (seconds)"), "sys": num("System time (seconds)"),
            "rc": int(num("Exit status", -1))}


def measure(argv, scratch, tag, env):
    """Run argv under /usr/bin/time -v; the timed region is this call only."""
    os.sync()  # flush the setup's dirty pages so that the tool does not pay for them
    tfile = os.path.join(scratch, f"{tag}.time")
    out = os.path.join(scratch, f"{tag}.stdout")
    err = os.path.join(scratch, f"{tag}.stderr")
    with open(out, "wb") as fo, open(err, "wb") as fe:
        t0 = time.perf_counter()
        p = subprocess.run(["/usr/bin/time", "-v", "-o", tfile] + [str(a) for a in argv],
                           stdin=subprocess.DEVNULL, stdout=fo, stderr=fe, env=env)
        wall = time.perf_counter() - t0
    try:
        t = parse_time_v(tfile)
    except OSError:
        t = {"rss_kb": 0, "user": 0.0, "sys": 0.0, "rc": p.returncode}
    rc = p.returncode if p.returncode != 0 else t["rc"]
    return Measurement(wall, t["rss_kb"], t["user"], t["sys"], rc, out, err)


# ---------------------------------------------------------------------------------------------
# nginx


class Nginx:
    def __init__(self, base, docroot):
        self.base, self.docroot = base, docroot
        self.proc = None
        self.port = None
        self.access_log = os.path.join(base, "access.log")

    def start(self):
        os.makedirs(self.base, exist_ok=True)
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
            s.bind(("127.0.0.1", 0))
            self.port = s.getsockname()[1]
        b = self.base
        temp = "\n".join(f"    {d}_temp_path {b}/{d}_temp;" for d in
                         ("client_body", "proxy", "fastcgi", "uwsgi", "scgi"))
        conf = f"""# generated by scripts/bench.py
worker_processes 2;
daemon off;
master_process on;
pid {b}/nginx.pid;
error_log {b}/error.log warn;
events {{ worker_connections 1024; }}
http {{
    log_format bench '$status $body_bytes_sent $connection "$request"';
    access_log {self.access_log} bench;
{temp}
    sendfile on;
    tcp_nopush on;
    keepalive_timeout 65;
    keepalive_requests 100000;
    default_type application/octet-stream;
    server {{
        listen 127.0.0.1:{self.port};
        root {self.docroot};
        location / {{ }}
    }}
}}
"""
        cpath = os.path.join(b, "nginx.conf")
        with open(cpath, "w") as f:
            f.write(conf)
        self.proc = subprocess.Popen(["nginx", "-e", os.path.join(b, "error.log"), "-p", b + "/",
                                      "-c", cpath], stdin=subprocess.DEVNULL,
                                     stdout=subprocess.DEVNULL, stderr=open(os.path.join(b, "stderr"), "wb"))
        deadline = time.time() + 10
        while time.time() < deadline:
            if self.proc.poll() is not None:
                raise BenchError(f"nginx exited: {open(os.path.join(b, 'stderr')).read()[-500:]}"
                                 f" {open(os.path.join(b, 'error.log')).read()[-500:] if os.path.exists(os.path.join(b, 'error.log')) else ''}")
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{self.port}/repo/config", timeout=1) as r:
                    if r.status == 200:
                        return
            except Exception:
                time.sleep(0.05)
        raise BenchError("nginx did not come up")

    def url(self):
        return f"http://127.0.0.1:{self.port}/repo"

    def log_lines(self):
        try:
            with open(self.access_log, errors="replace") as f:
                return f.read().splitlines()
        except OSError:
            return []

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGQUIT)  # graceful; the master waits for its workers
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.terminate()
                try:
                    self.proc.wait(timeout=5)
                except subprocess.TimeoutExpired:
                    self.proc.kill()
                    self.proc.wait()
        self.proc = None


# ---------------------------------------------------------------------------------------------
# Stand-in trees (for --quick / --standin)


def make_standin(dest, quick):
    """ROOTFS-like trees made of /usr/share subsets: v1, v2 = v1 + more, v3 = v2 patched, v1.tar."""
    if quick:
        base, extra = ["man/man5", "i18n/charmaps"], ["perl5"]
    else:
        base, extra = ["doc", "locale", "man"], ["perl5"]
    os.makedirs(dest, exist_ok=True)
    v1, v2, v3 = (os.path.join(dest, v) for v in ("v1", "v2", "v3"))
    os.makedirs(os.path.join(v1, "usr/share"))
    for d in base:
        src = os.path.join("/usr/share", d)
        if os.path.isdir(src):
            os.makedirs(os.path.dirname(os.path.join(v1, "usr/share", d)), exist_ok=True)
            sh(["cp", "-a", src, os.path.join(v1, "usr/share", d)])
    os.makedirs(os.path.join(v1, "etc"))
    os.makedirs(os.path.join(v1, "usr/lib"))
    with open(os.path.join(v1, "usr/lib/os-release"), "w") as f:
        f.write('PRETTY_NAME="Arbor bench stand-in"\nID=bench\nVERSION_ID=1\n')
    os.symlink("../usr/lib/os-release", os.path.join(v1, "etc/os-release"))
    for name, text in (("hostname", "bench\n"), ("motd", "stand-in v1\n"), ("issue", "bench \\n \\l\n"),
                       ("bench.conf", "a=1\n")):
        with open(os.path.join(v1, "etc", name), "w") as f:
            f.write(text)
    sh(["cp", "-a", v1, v2])
    for d in extra:
        src = os.path.join("/usr/share", d)
        if os.path.isdir(src):
            os.makedirs(os.path.dirname(os.path.join(v2, "usr/share", d)), exist_ok=True)
            sh(["cp", "-a", src, os.path.join(v2, "usr/share", d)])
    with open(os.path.join(v2, "etc/motd"), "w") as f:
        f.write("stand-in v2\n")
    sh(["cp", "-a", v2, v3])
    os.makedirs(os.path.join(v3, "etc/arbor-patch"))
    for i in range(1, 6):
        with open(os.path.join(v3, f"etc/arbor-patch/added-{i}"), "w") as f:
            f.write(f"patch file {i}\n")
    for name in ("motd", "issue", "hostname"):
        with open(os.path.join(v3, "etc", name), "a") as f:
            f.write("patched\n")
    victims = []
    for root, _, files in os.walk(os.path.join(v3, "usr/share")):
        victims += [os.path.join(root, f) for f in files if not os.path.islink(os.path.join(root, f))]
    for p in sorted(victims)[:5]:
        os.unlink(p)
    sh(["tar", "--xattrs", "--xattrs-include=*", "--numeric-owner", "--format=pax", "--sort=name",
        "-C", v1, "-cf", os.path.join(dest, "v1.tar"), "."])
    return dest


# ---------------------------------------------------------------------------------------------
# The benchmark


class Bench:
    def __init__(self, args, arbor, scratch):
        self.args = args
        self.bins = {"ostree": shutil.which("ostree") or "ostree", "arbor": arbor}
        self.scratch = scratch
        self.env = dict(os.environ, LC_ALL="C.UTF-8")  # under LC_ALL=C ostree prints non-ASCII names as ?
        self.env.pop("ARBOR_REPO", None)
        self.notes = []
        self.rows = []          # result rows, in order
        self.checks = []        # cross-tool output comparisons
        self.cache = {}
        self.nginx = None
        self.seq = 0
        self.arbor_admin = self._has_admin()

    # -- command lines ------------------------------------------------------------------------

    def c(self, tool, sub, repo=None, *args):
        argv = [self.bins[tool]] + sub.split()
        if repo is not None:
            argv.append(f"--repo={repo}")
        return argv + [str(a) for a in args]

    def init(self, tool, repo, mode):
        os.makedirs(repo)
        sh(self.c(tool, "init", repo, f"--mode={mode}"), env=self.env)

    def commit_args(self, branch, version, source):
        return ["-b", branch, "-s", f"bench {version}", f"--timestamp={TS[version]}", f"--tree={source}"]

    def remote_add(self, tool, repo, url):
        flag = "--no-gpg-verify" if tool == "ostree" else "--no-sign-verify"
        sh(self.c(tool, "remote add", repo, flag, "origin", url), env=self.env)

    def path(self, *parts):
        return os.path.join(self.scratch, *parts)

    def fresh(self, name):
        self.seq += 1
        return self.path(f"{name}.{self.seq}")

    def _has_admin(self):
        p = subprocess.run([self.bins["arbor"], "admin", "init-fs", "--help"], stdout=subprocess.PIPE,
                           stderr=subprocess.STDOUT, text=True, stdin=subprocess.DEVNULL)
        return "admin init-fs" in p.stdout

    # -- shared fixtures (prepared once, outside timing) ---------------------------------------

    def fixture(self, name):
        if name not in self.cache:
            log(f"preparing {name}")
            self.cache[name] = getattr(self, "_fx_" + name.replace("-", "_"))()
        return self.cache[name]

    def _fx_bare12(self):
        """bare repo written by ostree: bench/v1 and bench/v2 as separate branches."""
        repo = self.path("fx-bare12")
        self.init("ostree", repo, "bare")
        for v in ("v1", "v2"):
            sh(self.c("ostree", "commit", repo, *self.commit_args(f"bench/{v}", v, f"dir={self.trees[v]}")), env=self.env)
        return repo

    def _fx_prune_template(self):
        repo = self.path("fx-prune")
        sh(["cp", "-a", self.fixture("bare12"), repo])
        sh(self.c("ostree", "refs", repo, "--delete", "bench/v1"), env=self.env)
        return repo

    def _fx_server(self):
        """archive repo written by ostree with bench/v1, bench/v2, bench/v3 and a summary, served by nginx."""
        www = self.path("www")
        os.makedirs(www)
        repo = os.path.join(www, "repo")
        self.init("ostree", repo, "archive")
        for v in ("v1", "v2", "v3"):
            sh(self.c("ostree", "commit", repo, *self.commit_args(f"bench/{v}", v, f"dir={self.trees[v]}")), env=self.env)
        sh(self.c("ostree", "summary", repo, "-u"), env=self.env)
        os.chmod(self.scratch, 0o755)  # nginx workers run unprivileged
        self.nginx = Nginx(self.path("nginx"), www)
        self.nginx.start()
        log(f"nginx (pid {self.nginx.proc.pid}) serves {repo} at {self.nginx.url()}")
        return repo

    def _fx_v1_bare(self):
        """per tool: a bare repo holding v1 on branch bench, written by that tool."""
        out = {}
        for tool in TOOLS:
            repo = self.path(f"fx-v1-{tool}")
            self.init(tool, repo, "bare")
            sh(self.c(tool, "commit", repo, *self.commit_args("bench", "v1", f"dir={self.trees['v1']}")), env=self.env)
            out[tool] = repo
        return out

    def _fx_pulled_v2(self):
        """per tool: a bare repo that pulled bench/v2 from the server with that tool."""
        self.fixture("server")
        out = {}
        for tool in TOOLS:
            repo = self.path(f"fx-pulled-v2-{tool}")
            self.init(tool, repo, "bare")
            self.remote_add(tool, repo, self.nginx.url())
            sh(self.c(tool, "pull", repo, "origin", "bench/v2"), env=self.env)
            out[tool] = repo
        return out

    def _fx_deploy_trees(self):
        """v1, v2 made deployable: /etc moved to /usr/etc, a kernel and os-release where missing."""
        out = {}
        size = 64 * 1024 if self.args.quick else None
        for v in ("v1", "v2"):
            d = self.path(f"fx-deploy-{v}")
            copy_tree(self.trees[v], d, link=True)  # hardlinks: only new entries are written below
            if os.path.isdir(os.path.join(d, "etc")) and not os.path.islink(os.path.join(d, "etc")):
                if os.path.lexists(os.path.join(d, "usr/etc")):
                    raise BenchError(f"{self.trees[v]} has both /etc and /usr/etc")
                os.makedirs(os.path.join(d, "usr"), exist_ok=True)
                os.rename(os.path.join(d, "etc"), os.path.join(d, "usr/etc"))
                self.note_once("deploy: the deployed trees are v1/v2 with /etc moved to /usr/etc "
                               "(ostree 2022.7 refuses a tree without /usr/etc)")
            if not glob.glob(os.path.join(d, "usr/lib/modules/*/vmlinuz")):
                kdir = os.path.join(d, "usr/lib/modules", KVER)
                os.makedirs(kdir, exist_ok=True)
                rnd = random.Random(7)
                ksize, isize = (size, size) if size else (8 << 20, 16 << 20)
                with open(os.path.join(kdir, "vmlinuz"), "wb") as f:
                    f.write(rnd.randbytes(ksize))
                with open(os.path.join(kdir, "initramfs.img"), "wb") as f:
                    f.write(rnd.randbytes(isize))
                self.note_once(f"deploy: the trees have no kernel; a fake usr/lib/modules/{KVER}/vmlinuz "
                               f"({ksize >> 10} KiB) and initramfs.img ({isize >> 10} KiB) were added to the deployed trees")
            if not (os.path.exists(os.path.join(d, "usr/lib/os-release")) or
                    os.path.exists(os.path.join(d, "usr/etc/os-release"))):
                os.makedirs(os.path.join(d, "usr/lib"), exist_ok=True)
                with open(os.path.join(d, "usr/lib/os-release"), "w") as f:
                    f.write('PRETTY_NAME="bench"\nID=bench\n')
                self.note_once("deploy: usr/lib/os-release (ID=bench) added to the deployed trees")
            out[v] = d
        return out

    def _fx_sysroots(self):
        """per tool: a sysroot made by that tool (init-fs, os-init bench) whose repo holds
        bench/os = v1 and bench/v2 = v2."""
        trees = self.fixture("deploy-trees")
        out = {}
        for tool in TOOLS:
            if tool == "arbor" and not self.arbor_admin:
                continue
            s = self.path(f"fx-sysroot-{tool}")
            os.makedirs(s)
            sh([self.bins[tool], "admin", "init-fs", s], env=self.env)
            sh([self.bins[tool], "admin", "os-init", f"--sysroot={s}", "bench"], env=self.env)
            repo = os.path.join(s, "ostree/repo")
            sh(self.c(tool, "commit", repo, *self.commit_args("bench/os", "v1", f"dir={trees['v1']}")), env=self.env)
            v2 = sh(self.c(tool, "commit", repo, *self.commit_args("bench/v2", "v2", f"dir={trees['v2']}")),
                    env=self.env).strip().splitlines()[-1]
            out[tool] = (s, v2)
        return out

    def note_once(self, text):
        if text not in self.notes:
            self.notes.append(text)

    # -- the cases: each returns (setup, steps, teardown) callables ----------------------------
    # setup(tool) -> state; steps(tool, state) -> [(row, argv, before, after, http)];
    # before(state) runs untimed before the step; after(state) -> bytes on disk (or None).

    def case_commit(self, mode, version, base_fixture=None):
        def setup(tool):
            repo = self.fresh(f"repo-{tool}")
            if base_fixture:
                sh(["cp", "-a", self.fixture(base_fixture)[tool], repo])
            else:
                self.init(tool, repo, mode)
            return repo
        def steps(tool, repo):
            src = f"dir={self.trees[version]}" if version != "tar" else f"tar={self.tar1}"
            v = "v1" if version == "tar" else version
            return [(None, self.c(tool, "commit", repo, *self.commit_args("bench", v, src)),
                     None, lambda r: {"bytes": du_bytes(r)}, False)]
        return setup, steps, unimmutable_and_remove

    def case_checkout(self, flags, repo_fixture):
        def setup(tool):
            self.fixture(repo_fixture)
            return self.fresh(f"co-{tool}")
        def steps(tool, dest):
            return [(None, self.c(tool, "checkout", self.fixture(repo_fixture), *flags, "bench/v2", dest),
                     None, lambda d: {"sig": "checked-out tree: " + tree_signature(d)}, False)]
        return setup, steps, unimmutable_and_remove

    def case_readonly(self, sub, *args):
        def setup(tool):
            return self.fixture("bare12")
        def steps(tool, repo):
            return [(None, self.c(tool, sub, repo, *args), None, None, False)]
        return setup, steps, lambda st: None

    def case_prune(self):
        def setup(tool):
            repo = self.fresh(f"prune-{tool}")
            sh(["cp", "-a", self.fixture("prune-template"), repo])
            return repo
        def steps(tool, repo):
            return [(None, self.c(tool, "prune", repo, "--refs-only"), None,
                     lambda r: {"bytes": du_bytes(r), "sig": "objects left: " + objects_signature(r)}, False)]
        return setup, steps, unimmutable_and_remove

    def case_pull(self, ref, base_fixture):
        def setup(tool):
            self.fixture("server")
            repo = self.fresh(f"pull-{tool}")
            if base_fixture:
                sh(["cp", "-a", self.fixture(base_fixture)[tool], repo])
            else:
                self.init(tool, repo, "bare")
                self.remote_add(tool, repo, self.nginx.url())
            return repo
        def steps(tool, repo):
            def after(r):
                commit = sh(["ostree", "rev-parse", f"--repo={r}", f"origin:{ref}"], env=self.env).strip()
                return {"bytes": du_bytes(r), "sig": f"origin:{ref} = {commit[:12]}…, " + objects_signature(r)}
            return [(None, self.c(tool, "pull", repo, "origin", ref), None, after, True)]
        return setup, steps, unimmutable_and_remove

    def case_deploy(self):
        def setup(tool):
            if tool == "arbor" and not self.arbor_admin:
                return None
            tmpl, v2 = self.fixture("sysroots")[tool]
            s = self.fresh(f"sysroot-{tool}")
            sh(["cp", "-a", tmpl, s])
            return (s, v2)
        def move_ref(state):
            s, v2 = state
            ref = os.path.join(s, "ostree/repo/refs/heads/bench/os")
            with open(ref + ".tmp", "w") as f:
                f.write(v2 + "\n")
            os.rename(ref + ".tmp", ref)
        def status(s):
            # what `ostree admin status` (the reference) sees: deployments in boot order
            out = sh(["ostree", "admin", "status", f"--sysroot={s}"], env=self.env)
            deps = re.findall(r"^\*?\s*bench ([0-9a-f]{64})\.\d+", out, re.M)
            return "ostree admin status: " + (" > ".join(d[:12] for d in deps) or "no deployments")
        def steps(tool, state):
            s = state[0]
            b = self.bins[tool]
            return [("deploy", [b, "admin", "deploy", f"--sysroot={s}", "--os=bench", "--karg=root=LABEL=root", "bench/os"],
                     None, lambda st: {"bytes": du_bytes(st[0]), "sig": status(st[0])}, False),
                    ("upgrade", [b, "admin", "upgrade", f"--sysroot={s}", "--os=bench"],
                     move_ref, lambda st: {"bytes": du_bytes(st[0]), "sig": status(st[0])}, False)]
        def teardown(state):
            if state:
                unimmutable_and_remove(state[0])
        return setup, steps, teardown

    def build_case(self, name):
        return {
            "commit-bare": lambda: self.case_commit("bare", "v1"),
            "commit-archive": lambda: self.case_commit("archive", "v1"),
            "commit-v2": lambda: self.case_commit("bare", "v2", base_fixture="v1-bare"),
            "checkout": lambda: self.case_checkout([], "bare12"),
            "checkout-copy": lambda: self.case_checkout(["--force-copy"], "bare12"),
            "checkout-archive": lambda: self.case_checkout([], "server"),
            "fsck": lambda: self.case_readonly("fsck"),
            "diff": lambda: self.case_readonly("diff", "bench/v1", "bench/v2"),
            "prune": lambda: self.case_prune(),
            "pull-v2": lambda: self.case_pull("bench/v2", None),
            "pull-v3": lambda: self.case_pull("bench/v3", "pulled-v2"),
            "tar-import": lambda: self.case_commit("bare", "tar"),
            "deploy": lambda: self.case_deploy(),
        }[name]()

    # -- the runner ---------------------------------------------------------------------------

    def run_case(self, name, desc):
        setup, steps, teardown = self.build_case(name)
        warm, runs = self.args.warmup, self.args.runs
        data = {}       # row -> tool -> lists
        failed = {}     # tool -> error text
        skipped = set()
        if name == "deploy" and not self.arbor_admin:
            skipped.add("arbor")
        for it in range(warm + runs):
            order = TOOLS if it % 2 == 0 else TOOLS[::-1]
            label = "warm-up" if it < warm else f"run {it - warm + 1}/{runs}"
            summary = []
            for tool in order:
                if tool in failed or tool in skipped:
                    continue
                state = None
                try:
                    state = setup(tool)
                    for row, argv, before, after, http in steps(tool, state):
                        if before:
                            before(state)
                        n0 = len(self.nginx.log_lines()) if http else 0
                        tag = f"{name}-{row or 'x'}-{tool}-{it}"
                        m = measure(argv, self.path("logs"), tag, self.env)
                        rec = data.setdefault(row, {}).setdefault(tool, {
                            "wall": [], "rss_kb": [], "user": [], "sys": [], "bytes": [], "requests": [],
                            "response_bytes": [], "non_200": [], "sig": None, "stdout_sha": None, "stdout_first": None,
                            "stdout_lines": None})
                        if m.rc != 0:
                            failed[tool] = f"exit {m.rc}: {m.stderr_tail()}"
                            log(f"{name}{'/' + row if row else ''}: {tool} failed: {failed[tool]}")
                            break
                        summary.append(f"{tool}{' ' + row if row else ''} {m.wall:.3f}s")
                        if it < warm:
                            continue
                        rec["wall"].append(m.wall)
                        rec["rss_kb"].append(m.rss_kb)
                        rec["user"].append(m.user)
                        rec["sys"].append(m.sys)
                        with open(m.stdout_path, "rb") as f:
                            out = f.read()
                        rec["stdout_sha"] = hashlib.sha256(out).hexdigest()
                        rec["stdout_lines"] = out.count(b"\n")
                        first = out.decode(errors="replace").strip().splitlines()
                        rec["stdout_first"] = first[-1] if first else ""
                        if http:
                            time.sleep(0.2)  # let nginx finish writing its log lines
                            lines = self.nginx.log_lines()[n0:]
                            rec["requests"].append(len(lines))
                            rec["response_bytes"].append(sum(int(l.split()[1]) for l in lines if l.split()[1].isdigit()))
                            rec["non_200"].append(sum(1 for l in lines if not l.startswith("200 ")))
                        if after:
                            extra = after(state)
                            if extra.get("bytes") is not None:
                                rec["bytes"].append(extra["bytes"])
                            if extra.get("sig"):
                                rec["sig"] = extra["sig"]
                except (BenchError, OSError) as e:
                    failed[tool] = f"setup: {e}"
                    log(f"{name}: {tool} setup failed: {e}")
                finally:
                    try:
                        # Kept otherwise: the scratch directory goes at the end of the whole run.
                        if self.args.tidy:
                            teardown(state)
                    except BenchError as e:
                        log(f"{name}: teardown: {e}")
            log(f"{name} {label}: " + ", ".join(summary))
        rows = [None] if name != "deploy" else ["deploy", "upgrade"]
        for row in rows:
            self.rows.append(self.summarise(name, row, desc, data.get(row, {}), failed, skipped))

    def summarise(self, name, row, desc, data, failed, skipped):
        label = name if row is None else f"{name}: {row}"
        if name == "deploy":
            desc = {"deploy": "admin deploy v1 (fresh sysroot holding v1 and v2)",
                    "upgrade": "admin upgrade to v2 right after deploying v1"}[row]
        res = {"case": label, "description": desc}
        for tool in TOOLS:
            rec = data.get(tool)
            if tool in skipped:
                res[tool] = {"status": "n/a", "error": "arbor admin is not available in this build"}
                continue
            if tool in failed or not rec or not rec["wall"]:
                res[tool] = {"status": "error", "error": failed.get(tool, "no measurement")}
                continue
            res[tool] = {
                "status": "ok",
                "median_s": median(rec["wall"]), "runs_s": rec["wall"],
                "user_s": median(rec["user"]), "sys_s": median(rec["sys"]),
                "peak_rss_mb": max(rec["rss_kb"]) / 1024.0, "rss_mb_runs": [k / 1024.0 for k in rec["rss_kb"]],
                "bytes": int(median(rec["bytes"])) if rec["bytes"] else None,
                "requests": int(median(rec["requests"])) if rec["requests"] else None,
                "response_bytes": int(median(rec["response_bytes"])) if rec["response_bytes"] else None,
                "non_200": int(median(rec["non_200"])) if rec["non_200"] else None,
                "stdout_sha256": rec["stdout_sha"], "stdout_lines": rec["stdout_lines"],
                "stdout_last_line": rec["stdout_first"],
                "result": rec["sig"],
            }
        o, a = res["ostree"], res["arbor"]
        if o["status"] == "ok" and a["status"] == "ok":
            pairs = [y / x for x, y in zip(o["runs_s"], a["runs_s"]) if x > 0]
            res["ratio"] = median(pairs)
            res["ratio_runs"] = pairs
            res["mem_ratio"] = a["peak_rss_mb"] / o["peak_rss_mb"] if o["peak_rss_mb"] else None
            # Cross-checks of what the tools printed.
            if name in ("commit-bare", "commit-archive", "commit-v2", "tar-import"):
                same = o["stdout_last_line"] == a["stdout_last_line"]
                res["check"] = ("same commit checksum" if same else
                                f"commit checksums differ: ostree {o['stdout_last_line'][:16]}… arbor {a['stdout_last_line'][:16]}…")
            elif o.get("result") or a.get("result"):
                res["check"] = (f"same result ({o['result']})" if o.get("result") == a.get("result") else
                                f"results differ: ostree {o.get('result')}; arbor {a.get('result')}")
            elif name == "diff":
                same = o["stdout_sha256"] == a["stdout_sha256"]
                res["check"] = (f"identical output ({o['stdout_lines']} lines)" if same else
                                f"outputs differ (ostree {o['stdout_lines']} lines, arbor {a['stdout_lines']} lines)")
        else:
            res["ratio"] = res["mem_ratio"] = None
        return res

    # -- machine --------------------------------------------------------------------------------

    def machine(self):
        cpu = "unknown"
        try:
            for line in open("/proc/cpuinfo"):
                if line.startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
        except OSError:
            pass
        mem_kb = 0
        for line in open("/proc/meminfo"):
            if line.startswith("MemTotal:"):
                mem_kb = int(line.split()[1])
        fs = subprocess.run(["findmnt", "-no", "FSTYPE", "-T", self.scratch], stdout=subprocess.PIPE,
                            stderr=subprocess.DEVNULL, text=True).stdout.strip()
        if not fs:
            fs = subprocess.run(["stat", "-f", "-c", "%T", self.scratch], stdout=subprocess.PIPE, text=True).stdout.strip()
        ov = subprocess.run(["ostree", "--version"], stdout=subprocess.PIPE, text=True).stdout
        m = re.search(r"Version:\s*'?([^'\n]+)", ov)
        return {
            "nproc": os.cpu_count(),
            "cpu": cpu,
            "memory_gib": round(mem_kb / 1048576, 1),
            "kernel": platform.release(),
            "os": os_pretty(),
            "workdir_fs": fs,
            "ostree_version": m.group(1) if m else ov.strip()[:40],
            "arbor": arbor_version(self.bins["arbor"]),
        }


def os_pretty():
    try:
        for line in open("/etc/os-release"):
            if line.startswith("PRETTY_NAME="):
                return line.split("=", 1)[1].strip().strip('"')
    except OSError:
        pass
    return platform.platform()


def arbor_version(binary):
    """The git commit of the checkout the binary was built in (read-only git calls)."""
    d = os.path.dirname(os.path.realpath(binary))
    while d != "/" and not os.path.exists(os.path.join(d, ".git")):
        d = os.path.dirname(d)
    info = {"binary": binary}
    try:
        st = os.stat(binary)
        info["built"] = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(st.st_mtime))
        with open(binary, "rb") as f:
            info["binary_sha256"] = hashlib.sha256(f.read()).hexdigest()[:16]
    except OSError:
        pass
    if d != "/":
        env = dict(os.environ, GIT_OPTIONAL_LOCKS="0")
        head = subprocess.run(["git", "-C", d, "rev-parse", "--short=12", "HEAD"], stdout=subprocess.PIPE,
                              stderr=subprocess.DEVNULL, text=True, env=env).stdout.strip()
        dirty = subprocess.run(["git", "-C", d, "status", "--porcelain", "--untracked-files=no"],
                               stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, env=env).stdout.strip()
        if head:
            info["commit"] = head + ("+dirty" if dirty else "")
            info["source"] = d
    return info


# ---------------------------------------------------------------------------------------------
# Output


def fmt_s(x):
    if x is None:
        return "—"
    return f"{x:.3f}" if x < 10 else f"{x:.2f}"


def fmt_ratio(x):
    return "—" if x is None else f"{x:.2f}"


def fmt_bytes(n):
    if n is None:
        return "—"
    for unit, div in (("GB", 1e9), ("MB", 1e6), ("kB", 1e3)):
        if n >= div:
            return f"{n / div:.1f} {unit}"
    return f"{n} B"


def cell(res, tool, key, fmt):
    r = res[tool]
    if r["status"] != "ok":
        return r["status"]
    return fmt(r.get(key))


def markdown(report):
    m = report["machine"]
    s = report["settings"]
    out = []
    out.append("## Arbor vs ostree")
    out.append("")
    a = m["arbor"]
    out.append(f"- Machine: {m['nproc']} × {m['cpu']}, {m['memory_gib']} GiB RAM, Linux {m['kernel']} ({m['os']}), "
               f"workdir on {m['workdir_fs']}")
    out.append(f"- ostree {m['ostree_version']}; arbor {a.get('commit', '?')} (release build {a['binary']}"
               f"{', built ' + a['built'] if 'built' in a else ''})")
    t = report["trees"]
    out.append(f"- Trees: {s['rootfs']}: " + "; ".join(
        f"{v} {t[v]['files']} files, {t[v]['dirs']} dirs, {t[v]['symlinks']} symlinks, {fmt_bytes(t[v]['file_bytes'])}"
        for v in ("v1", "v2", "v3") if v in t) + f"; tarball {os.path.basename(s['tar'])} ({fmt_bytes(t.get('tar_bytes'))})")
    out.append(f"- Method: {s['warmup']} warm-up pair(s), then {s['runs']} measured pairs per case, interleaved "
               f"(order alternates ostree-first / arbor-first); medians; ratio = median of the per-pair ratios "
               f"arbor/ostree (lower is better); peak = largest max RSS of the measured runs (`/usr/bin/time -v`); "
               f"bytes = `du -sb` of the resulting repository (sysroot for deploy); page cache not dropped.")
    out.append("")
    out.append("| case | ostree median s | arbor median s | ratio (median of pairs) | ostree peak MB | arbor peak MB "
               "| mem ratio | repo bytes ostree / arbor | requests ostree / arbor |")
    out.append("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
    for r in report["results"]:
        o, ar = r["ostree"], r["arbor"]
        def pair(key, fmt):
            if o["status"] != "ok" and ar["status"] != "ok":
                return "—"
            ov = fmt(o.get(key)) if o["status"] == "ok" else o["status"]
            av = fmt(ar.get(key)) if ar["status"] == "ok" else ar["status"]
            return "—" if ov == "—" and av == "—" else f"{ov} / {av}"
        out.append("| " + " | ".join([
            r["case"],
            cell(r, "ostree", "median_s", fmt_s),
            cell(r, "arbor", "median_s", fmt_s),
            fmt_ratio(r.get("ratio")),
            cell(r, "ostree", "peak_rss_mb", lambda x: f"{x:.1f}"),
            cell(r, "arbor", "peak_rss_mb", lambda x: f"{x:.1f}"),
            fmt_ratio(r.get("mem_ratio")),
            pair("bytes", fmt_bytes),
            pair("requests", lambda x: "—" if x is None else str(x)),
        ]) + " |")
    out.append("")
    out.append("CPU time (medians, seconds):")
    out.append("")
    out.append("| case | ostree user | ostree sys | arbor user | arbor sys |")
    out.append("| --- | ---: | ---: | ---: | ---: |")
    for r in report["results"]:
        out.append("| " + " | ".join([r["case"], cell(r, "ostree", "user_s", fmt_s), cell(r, "ostree", "sys_s", fmt_s),
                                      cell(r, "arbor", "user_s", fmt_s), cell(r, "arbor", "sys_s", fmt_s)]) + " |")
    notes = list(report["notes"])
    for r in report["results"]:
        if r.get("check"):
            notes.append(f"{r['case']}: {r['check']}")
        for tool in TOOLS:
            if r[tool]["status"] == "ok" and r[tool].get("non_200"):
                notes.append(f"{r['case']}: {tool} got {r[tool]['non_200']} non-200 responses")
            if r[tool]["status"] == "error":
                notes.append(f"{r['case']}: {tool} {r[tool]['status']}: {r[tool]['error']}")
    if notes:
        out.append("")
        out.append("Notes:")
        out.append("")
        out += [f"- {n}" for n in notes]
    out.append("")
    out.append(f"Rerun: `{s['command']}`")
    return "\n".join(out)


# ---------------------------------------------------------------------------------------------


def parse_args(argv):
    p = argparse.ArgumentParser(
        prog="bench.sh",
        description="Benchmark Arbor against ostree on the same trees, interleaved, and print a Markdown "
                    "table (or JSON). ROOTFS_DIR holds v1/ v2/ v3/ and v1.tar (scripts/make-rootfs.sh DIR).",
        epilog="Cases: " + ", ".join(CASE_NAMES) + ". Environment: ARBOR=/path/to/arbor skips the build.")
    p.add_argument("rootfs", nargs="?", metavar="ROOTFS_DIR")
    p.add_argument("--json", action="store_true", help="print JSON instead of Markdown")
    p.add_argument("--runs", type=int, default=None, help="measured pairs per case (default 5; 1 with --quick)")
    p.add_argument("--warmup", type=int, default=None, help="warm-up pairs per case (default 1; 0 with --quick)")
    p.add_argument("--cases", default=None, help="comma-separated subset of the cases")
    p.add_argument("--workdir", default="/var/tmp", help="where the scratch directory goes (default /var/tmp)")
    p.add_argument("--quick", action="store_true",
                   help="small stand-in trees (unless ROOTFS_DIR is given), one run, no warm-up: checks the harness")
    p.add_argument("--standin", action="store_true",
                   help="without ROOTFS_DIR: build stand-in trees from /usr/share/{doc,locale,man,perl5}")
    p.add_argument("--keep", action="store_true", help="keep the scratch directory")
    p.add_argument("--tidy", action="store_true",
                   help="remove each run's output right after it instead of at the end (less disk, noisier)")
    p.add_argument("--render", metavar="JSON_FILE",
                   help="print the Markdown of a report saved with --json; runs nothing")
    a = p.parse_args(argv)
    if a.render:
        return a
    if a.runs is None:
        a.runs = 1 if a.quick else 5
    if a.warmup is None:
        a.warmup = 0 if a.quick else 1
    if a.runs < 1 or a.warmup < 0:
        p.error("--runs must be ≥ 1 and --warmup ≥ 0")
    if a.cases:
        a.cases = [c.strip() for c in a.cases.split(",") if c.strip()]
        bad = [c for c in a.cases if c not in CASE_NAMES]
        if bad:
            p.error(f"unknown case(s) {', '.join(bad)}; known: {', '.join(CASE_NAMES)}")
    else:
        a.cases = list(CASE_NAMES)
    if not a.rootfs and not (a.quick or a.standin):
        p.error("ROOTFS_DIR is required (or --quick / --standin)")
    return a


def find_tar(d):
    for name in ("v1.tar", "v1.tar.gz", "v1.tgz", "v1.tar.zst", "v1.tar.xz", "v1.tar.bz2"):
        if os.path.isfile(os.path.join(d, name)):
            return os.path.join(d, name)
    return None


def main(argv):
    args = parse_args(argv)
    if args.render:
        with open(args.render) as f:
            print(markdown(json.load(f)))
        return 0
    arbor = os.environ.get("ARBOR")
    if not arbor or not os.access(arbor, os.X_OK):
        sys.exit("bench.py: set ARBOR to the arbor binary (scripts/bench.sh builds it and sets it)")
    if os.geteuid() != 0:
        sys.exit("bench.py: must run as root (bare repositories keep ownership; admin deploy)")
    for tool in ("ostree", "/usr/bin/time"):
        if not shutil.which(tool):
            sys.exit(f"bench.py: {tool} is missing")
    os.makedirs(args.workdir, exist_ok=True)
    scratch = tempfile.mkdtemp(prefix="arbor-bench.", dir=args.workdir)
    os.makedirs(os.path.join(scratch, "logs"))
    bench = None

    def on_term(signum, frame):
        raise KeyboardInterrupt
    signal.signal(signal.SIGTERM, on_term)
    try:
        bench = Bench(args, arbor, scratch)
        notes = bench.notes
        if args.rootfs:
            rootfs = os.path.abspath(args.rootfs)
            for v in ("v1", "v2", "v3"):
                if not os.path.isdir(os.path.join(rootfs, v)):
                    sys.exit(f"bench.py: {rootfs}/{v} is missing (scripts/make-rootfs.sh {args.rootfs})")
        else:
            log("building stand-in trees from /usr/share")
            rootfs = make_standin(os.path.join(scratch, "rootfs"), args.quick)
            notes.append("stand-in trees made from /usr/share subsets (not a real root filesystem)")
        bench.trees = {v: os.path.join(rootfs, v) for v in ("v1", "v2", "v3")}
        tar = find_tar(rootfs)
        if not tar and "tar-import" in args.cases:
            tar = os.path.join(scratch, "v1.tar")
            log("no v1.tar in ROOTFS_DIR: making one")
            sh(["tar", "--xattrs", "--xattrs-include=*", "--numeric-owner", "--format=pax", "-C",
                bench.trees["v1"], "-cf", tar, "."])
            notes.append("v1.tar was made by bench.py (ROOTFS_DIR had none)")
        bench.tar1 = tar
        trees = {v: tree_stats(p) for v, p in bench.trees.items()}
        trees["tar_bytes"] = os.path.getsize(tar) if tar else None
        if not bench.arbor_admin and "deploy" in args.cases:
            notes.append("deploy: `arbor admin` is not available in this build: arbor reported as n/a")
        for name, desc in CASES:
            if name in args.cases:
                log(f"case {name}: {desc}")
                bench.run_case(name, desc)
        cmd = "scripts/bench.sh" + \
              ("" if args.runs == (1 if args.quick else 5) else f" --runs {args.runs}") + \
              (" --quick" if args.quick else "") + (" --standin" if args.standin and not args.rootfs else "") + \
              ("" if args.cases == CASE_NAMES else f" --cases {','.join(args.cases)}") + \
              (f" {args.rootfs}" if args.rootfs else "")
        report = {
            "machine": bench.machine(),
            "settings": {"runs": args.runs, "warmup": args.warmup, "rootfs": rootfs if args.rootfs else "stand-in",
                         "tar": tar or "", "timestamps": TS, "command": cmd,
                         "order": "pairs alternate ostree-first / arbor-first"},
            "trees": trees,
            "notes": notes,
            "results": bench.rows,
        }
        if args.json:
            print(json.dumps(report, indent=2, ensure_ascii=False))
        else:
            print(markdown(report))
    except KeyboardInterrupt:
        log("interrupted")
        return 130
    finally:
        if bench and bench.nginx:
            bench.nginx.stop()
        if args.keep:
            log(f"kept {scratch}")
        else:
            unimmutable_and_remove(scratch)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
