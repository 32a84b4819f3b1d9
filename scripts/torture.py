#!/usr/bin/env python3
"""Crash torture for arbor: SIGKILL every writing operation at random moments and check, after
every kill and after every recovery, that the repository and the sysroot are still whole.

Run through scripts/torture.sh, which finds or builds `arbor`. See that script for the options.

Operations: commit (directory), commit (tarball), pull (from a private nginx on 127.0.0.1),
prune, admin deploy, admin upgrade and admin rollback. For each one the uninterrupted duration is
measured once; then the operation is started again and again and SIGKILLed after a random delay
within that duration. After each kill the invariants are checked; then the operation is run to
completion (the recovery) and the invariants are checked again.

Invariants (any failure is a violation):
  repository  `arbor fsck` and `ostree fsck` pass (partial commits are allowed, and counted);
              every ref names a complete commit (present, not marked partial); every file
              under objects/ has a final object name, and every commit, dirtree and dirmeta
              hashes to its name; no ref the user had is gone or moved anywhere but to the
              operation's new commit.
  sysroot     boot/loader points at loader.0 or loader.1, whose entries are exactly the
              complete old set or the complete new set (both captured from uninterrupted runs);
              every entry's kernel, initramfs and bootlink resolve, every deployment has its
              origin and a ref keeping its commit; `ostree admin status` and `arbor admin
              status` work and list the entries' deployments in order; the administrator's
              /etc change and the stateroot's /var file are still there.
Recovery: the rerun exits 0 and leaves the operation's complete result (the ref on the new commit,
the new boot set, no staging leftovers, no unreachable commit after prune).
"""
import argparse
import hashlib
import json
import os
import random
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time

OBJ_NAME = re.compile(r'^[0-9a-f]{62}\.(file|filez|dirtree|dirmeta|commit|commitmeta|tombstone-commit)$')
ALL_OPS = ['commit-dir', 'commit-tar', 'pull', 'prune', 'deploy', 'upgrade', 'rollback']
HEX64 = re.compile(r'^[0-9a-f]{64}$')
OS = 'testos'
USER_ETC = 'torture-local.conf'
USER_ETC_TEXT = 'set by the administrator\n'
USER_VAR = 'lib/torture-state'
USER_VAR_TEXT = 'stateroot data\n'


# Set by SIGINT/SIGTERM: every lane stops after its current kill, and the table of what ran is printed.
STOP = threading.Event()


def log(msg):
    sys.stderr.write(msg + '\n')
    sys.stderr.flush()


class Violation(Exception):
    pass


class Runner:
    def __init__(self, arbor, ostree, verbose):
        self.arbor = arbor
        self.ostree = ostree
        self.verbose = verbose

    def run(self, args, timeout=600, env=None, check=False):
        e = dict(os.environ)
        e['SWIFT_BACKTRACE'] = 'enable=no'
        if env:
            e.update(env)
        try:
            p = subprocess.run(args, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                               timeout=timeout, env=e)
        except subprocess.TimeoutExpired:
            raise Violation('%s hung for more than %d s' % (' '.join(args), timeout))
        out = p.stdout.decode('utf-8', 'replace')
        err = p.stderr.decode('utf-8', 'replace')
        if check and p.returncode != 0:
            raise Violation('%s exited %d: %s' % (' '.join(args), p.returncode, err.strip()[-600:]))
        return p.returncode, out, err

    def arbor_ok(self, *args, **kw):
        return self.run([self.arbor] + list(args), check=True, **kw)[1].strip()

    def start(self, args):
        e = dict(os.environ)
        e['SWIFT_BACKTRACE'] = 'enable=no'
        return subprocess.Popen(args, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                stderr=subprocess.PIPE, env=e)


# ----------------------------------------------------------------------------------------------
# Trees

def churn(tree, count, rng):
    """Rewrites `count` files under usr/share/churn with fresh random bytes."""
    d = os.path.join(tree, 'usr/share/churn')
    os.makedirs(d, exist_ok=True)
    for i in range(count):
        with open(os.path.join(d, 'f%04d' % i), 'wb') as f:
            f.write(rng.randbytes(rng.randint(512, 6000)))


def copy_tree(src, dst):
    """Copies src's content into dst. Real copies: hardlinked ones would share inodes whose ctime
    changes whenever another lane links them again, and arbor rightly refuses a source file that
    changes while it is committed."""
    os.makedirs(dst, exist_ok=True)
    subprocess.run(['cp', '-a', src + '/.', dst + '/'], check=True)


# ----------------------------------------------------------------------------------------------
# Repository invariants

def refs_of(repo):
    """Every ref file under refs/ (heads, remotes, mirrors) as name -> content."""
    out = {}
    base = os.path.join(repo, 'refs')
    for d, dirs, files in os.walk(base):
        for n in files:
            p = os.path.join(d, n)
            rel = os.path.relpath(p, base)
            with open(p, 'rb') as f:
                out[rel] = f.read().decode('utf-8', 'replace')
    return out


def ref_value(repo, ref):
    try:
        with open(os.path.join(repo, 'refs', ref)) as f:
            return f.read().strip()
    except FileNotFoundError:
        return None


def commit_path(repo, c):
    return os.path.join(repo, 'objects', c[:2], c[2:] + '.commit')


def is_partial(repo, c):
    return os.path.exists(os.path.join(repo, 'state', c + '.commitpartial'))


def staging_leftovers(repo):
    try:
        return sorted(n for n in os.listdir(os.path.join(repo, 'tmp')) if 'staging' in n)
    except FileNotFoundError:
        return []


class RepoChecker:
    def __init__(self, runner):
        self.r = runner
        self.partials_seen = 0

    def check(self, repo, what):
        """Returns a list of violation strings for the repository."""
        bad = []
        code, out, err = self.r.run([self.r.arbor, 'fsck', '--repo=' + repo, '--json'])
        try:
            report = json.loads(out)
        except ValueError:
            report = None
        if code != 0 or not report or not report.get('ok'):
            bad.append('%s: arbor fsck failed (exit %d): %s %s' % (what, code, out.strip()[-800:], err.strip()[-400:]))
        elif report.get('partialCommits'):
            self.partials_seen += 1
        code, out, err = self.r.run([self.r.ostree, 'fsck', '--repo=' + repo])
        if code != 0:
            bad.append('%s: ostree fsck failed (exit %d): %s %s' % (what, code, out.strip()[-800:], err.strip()[-400:]))
        # Every ref names a complete commit.
        for name, content in sorted(refs_of(repo).items()):
            c = content.strip()
            if not HEX64.match(c) or content != c + '\n':
                bad.append('%s: ref %s holds %r' % (what, name, content[:100]))
            elif not os.path.exists(commit_path(repo, c)):
                bad.append('%s: ref %s names missing commit %s' % (what, name, c))
            elif is_partial(repo, c):
                bad.append('%s: ref %s names partial commit %s' % (what, name, c))
        # Every object file's name is final and metadata hashes to it.
        objs = os.path.join(repo, 'objects')
        for d in sorted(os.listdir(objs)):
            dp = os.path.join(objs, d)
            if not re.match(r'^[0-9a-f]{2}$', d) or not os.path.isdir(dp) or os.path.islink(dp):
                bad.append('%s: stray entry objects/%s' % (what, d))
                continue
            for n in os.listdir(dp):
                if not OBJ_NAME.match(n):
                    bad.append('%s: stray file objects/%s/%s' % (what, d, n))
                    continue
                rest, suffix = n.split('.', 1)
                if suffix in ('commit', 'dirtree', 'dirmeta'):
                    with open(os.path.join(dp, n), 'rb') as f:
                        h = hashlib.sha256(f.read()).hexdigest()
                    if h != d + rest:
                        bad.append('%s: objects/%s/%s hashes to %s' % (what, d, n, h))
        return bad


def check_refs_kept(before, after, allowed, what):
    """Every ref in `before` still exists and names its commit or an allowed new one."""
    bad = []
    for name, content in before.items():
        now = after.get(name)
        if now is None:
            bad.append('%s: ref %s is gone' % (what, name))
        elif now != content and not allowed(name, content.strip(), now.strip()):
            bad.append('%s: ref %s moved from %s to %s' % (what, name, content.strip(), now.strip()))
    return bad


# ----------------------------------------------------------------------------------------------
# Sysroot invariants

def read(p):
    with open(p, 'rb') as f:
        return f.read().decode('utf-8', 'replace')


def boot_state(s):
    """The current boot set: loader target, entries, and the deployment each entry resolves to.
    Raises Violation when it is not complete."""
    loader = os.path.join(s, 'boot/loader')
    if not os.path.islink(loader):
        raise Violation('boot/loader is not a symlink')
    target = os.readlink(loader)
    if target not in ('loader.0', 'loader.1'):
        raise Violation('boot/loader points at %r' % target)
    edir = os.path.join(s, 'boot', target, 'entries')
    if not os.path.isdir(edir):
        raise Violation('boot/%s/entries is missing' % target)
    entries = {}
    resolved = {}
    versions = {}
    for n in sorted(os.listdir(edir)):
        text = read(os.path.join(edir, n))
        entries[n] = text
        keys = {}
        for line in text.splitlines():
            k, _, v = line.partition(' ')
            keys[k] = v
        for k in ('title', 'version', 'options', 'linux'):
            if k not in keys:
                raise Violation('entry %s has no %s line' % (n, k))
        for k in ('linux', 'initrd'):
            if k in keys and not os.path.isfile(os.path.join(s, 'boot', keys[k].lstrip('/'))):
                raise Violation('entry %s: %s %s is missing' % (n, k, keys[k]))
        m = re.search(r'(?:^| )ostree=(\S+)', keys['options'])
        if not m:
            raise Violation('entry %s has no ostree= argument' % n)
        bl = m.group(1)
        if not bl.startswith('/ostree/boot.' + target[-1] + '/'):
            raise Violation('entry %s: bootlink %s is not under boot.%s' % (n, bl, target[-1]))
        real = os.path.realpath(os.path.join(s, bl.lstrip('/')))
        dep_base = os.path.realpath(os.path.join(s, 'ostree/deploy')) + '/'
        if not real.startswith(dep_base) or not os.path.isdir(real):
            raise Violation('entry %s: bootlink %s resolves to %s' % (n, bl, real))
        rel = os.path.relpath(real, dep_base)  # STATEROOT/deploy/CHECKSUM.SERIAL
        if not os.path.isfile(real + '.origin'):
            raise Violation('deployment %s has no origin file' % rel)
        resolved[n] = rel
        versions[n] = int(keys['version'])
    if not entries:
        raise Violation('no boot entries')
    order = [resolved[n] for n in sorted(entries, key=lambda n: -versions[n])]
    return {'loader': target, 'entries': entries, 'resolved': resolved, 'order': order}


def fingerprint(state, serials=True):
    res = state['resolved'] if serials else {k: re.sub(r'\.\d+$', '.*', v) for k, v in state['resolved'].items()}
    return json.dumps([state['loader'], state['entries'], res], sort_keys=True)


def describe(state):
    return '%s: %s' % (state['loader'], ', '.join(d.split('/')[-1][:12] + d[-2:] for d in state['order']))


class SysrootChecker:
    def __init__(self, runner, repo_checker):
        self.r = runner
        self.repo = repo_checker

    def status_names(self, s):
        code, out, err = self.r.run([self.r.ostree, 'admin', 'status', '--sysroot=' + s])
        if code != 0:
            raise Violation('ostree admin status failed: %s' % err.strip()[-400:])
        onames = []
        for line in out.splitlines():
            if (line.startswith('  ') and not line.startswith('    ')) or line.startswith('* '):
                onames.append(line[2:].split(' (')[0].strip())
        code, out, err = self.r.run([self.r.arbor, 'admin', 'status', '--sysroot=' + s, '--json'])
        if code != 0:
            raise Violation('arbor admin status failed: %s' % err.strip()[-400:])
        anames = ['%s %s' % (d.get('stateroot'), d.get('name')) for d in json.loads(out)['deployments']]
        if anames != onames:
            raise Violation('arbor and ostree admin status disagree: %s vs %s' % (anames, onames))
        return anames

    def check(self, s, what, allowed_sets, strict=True):
        """Violations of the sysroot (and its repository); `allowed_sets` are fingerprints."""
        bad = []
        try:
            st = boot_state(s)
            fp = fingerprint(st, serials=strict)
            if fp not in allowed_sets:
                bad.append('%s: boot set is neither the old nor the new one (%s)' % (what, describe(st)))
            names = self.status_names(s)
            want = ['%s %s' % (d.split('/')[0], d.split('/')[-1]) for d in st['order']]
            if names != want:
                bad.append('%s: status lists %s, the entries %s' % (what, names, want))
            repo = os.path.join(s, 'ostree/repo')
            kept = {v.strip() for k, v in refs_of(repo).items() if k.startswith('heads/ostree/')}
            for d in st['order']:
                c = d.split('/')[-1].split('.')[0]
                if c not in kept:
                    bad.append('%s: no ostree/ ref keeps deployment %s' % (what, d))
            default = os.path.join(s, 'ostree/deploy', st['order'][0])
            try:
                if read(os.path.join(default, 'etc', USER_ETC)) != USER_ETC_TEXT:
                    bad.append('%s: the administrator\'s /etc change was altered' % what)
            except OSError:
                bad.append('%s: the administrator\'s /etc change is gone from %s' % (what, st['order'][0]))
            try:
                if read(os.path.join(s, 'ostree/deploy', OS, 'var', USER_VAR)) != USER_VAR_TEXT:
                    bad.append('%s: the stateroot /var file changed' % what)
            except OSError:
                bad.append('%s: the stateroot /var file is gone' % what)
        except Violation as v:
            bad.append('%s: %s' % (what, v))
            st = None
        bad += self.repo.check(os.path.join(s, 'ostree/repo'), what + ' (sysroot repo)')
        return bad, st


# ----------------------------------------------------------------------------------------------
# nginx

class Nginx:
    def __init__(self, dir, root):
        self.dir = dir
        self.root = root
        self.proc = None
        self.port = 0

    def start(self):
        os.makedirs(self.dir, exist_ok=True)
        last = ''
        for _ in range(8):
            s = socket.socket()
            s.bind(('127.0.0.1', 0))
            port = s.getsockname()[1]
            s.close()
            d = self.dir
            conf = '''daemon off;
user root;
worker_processes 1;
pid %(d)s/nginx.pid;
error_log %(d)s/error.log;
events { worker_connections 1024; }
http {
    access_log off;
    keepalive_requests 1000000;
    client_body_temp_path %(d)s/body;
    proxy_temp_path %(d)s/proxy;
    fastcgi_temp_path %(d)s/fastcgi;
    uwsgi_temp_path %(d)s/uwsgi;
    scgi_temp_path %(d)s/scgi;
    server {
        listen 127.0.0.1:%(port)d;
        root %(root)s;
    }
}
''' % {'d': d, 'port': port, 'root': self.root}
            with open(os.path.join(d, 'nginx.conf'), 'w') as f:
                f.write(conf)
            self.proc = subprocess.Popen(['nginx', '-c', d + '/nginx.conf', '-p', d, '-e', d + '/error.log'],
                                         stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            for _ in range(100):
                try:
                    socket.create_connection(('127.0.0.1', port), timeout=0.2).close()
                    self.port = port
                    return 'http://127.0.0.1:%d/' % port
                except OSError:
                    if self.proc.poll() is not None:
                        break
                    time.sleep(0.05)
            self.stop()
            try:
                last = read(d + '/error.log')
            except OSError:
                pass
        raise RuntimeError('nginx did not start: ' + last[-500:])

    def stop(self):
        if self.proc and self.proc.poll() is None:
            os.kill(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                os.kill(self.proc.pid, signal.SIGKILL)
                self.proc.wait()
        self.proc = None


# ----------------------------------------------------------------------------------------------
# Operations

class Op:
    """One tortured operation. Subclasses set up state and define the command and checks."""
    name = ''
    sysroot = False

    def __init__(self, t):
        self.t = t  # the Torture
        self.r = t.r
        self.rc = RepoChecker(t.r)
        self.sc = SysrootChecker(t.r, self.rc)
        t.op_count += 1
        self.rng = random.Random('%s/%d' % (t.args.seed, t.op_count))

    def setup(self):
        pass

    def prepare(self, i):
        """Makes the next run of the operation do real work (new content)."""
        pass

    def command(self):
        raise NotImplementedError

    def check_killed(self, what):
        raise NotImplementedError

    def recover(self, what):
        raise NotImplementedError

    def reset(self):
        pass


class RepoOp(Op):
    """Operations on one repository; the ref `main` may move, every other ref must stay."""
    mode = 'bare'

    def snapshot(self):
        self.before = refs_of(self.repo)
        self.old = ref_value(self.repo, self.moving) if self.moving else None

    def allowed_move(self, name, old, new):
        return False

    def trim(self, repo, depth):
        """Drops history beyond `depth` parents before the next kill: every iteration commits on
        top, and the fsck of both tools after every kill would otherwise check an ever longer
        history (the long mode ran for hours). Not part of what is killed."""
        self.r.arbor_ok('prune', '--repo=' + repo, '--refs-only', '--depth=%d' % depth)

    def check_killed(self, what):
        bad = self.rc.check(self.repo, what)
        bad += check_refs_kept(self.before, refs_of(self.repo), self.allowed_move, what)
        return bad


class CommitOp(RepoOp):
    moving = 'heads/main'

    def __init__(self, t, tar):
        super().__init__(t)
        self.tar = tar
        self.name = 'commit (tarball)' if tar else 'commit (directory)'
        self.repo = os.path.join(t.work, 'repo-commit-tar' if tar else 'repo-commit-dir')
        self.tree = os.path.join(t.work, 'tree-commit-tar' if tar else 'tree-commit-dir')
        self.tarball = os.path.join(t.work, 'tree-commit.tar')
        self.ts = 1700000000

    def setup(self):
        self.r.arbor_ok('init', '--repo=' + self.repo, '--mode=' + self.mode)
        os.makedirs(self.tree)
        copy_tree(self.t.demo10, self.tree)
        self.r.arbor_ok('commit', '--repo=' + self.repo, '-b', 'user/keep', '--timestamp=1600000000', self.tree)
        copy_tree(self.t.odd, self.tree + '/usr/share/odd')
        churn(self.tree, self.t.churn, self.rng)
        self.r.arbor_ok('commit', '--repo=' + self.repo, '-b', 'main', '--timestamp=1650000000', self.tree)

    def prepare(self, i):
        self.trim(self.repo, 1)
        churn(self.tree, self.t.churn, self.rng)
        self.ts += 10
        if self.tar:
            if os.path.exists(self.tarball):
                os.unlink(self.tarball)
            subprocess.run(['tar', '-C', self.tree, '-cf', self.tarball, '.'], check=True)
        self.snapshot()

    recovering = False

    def command(self):
        src = ['--tree=tar=' + self.tarball] if self.tar else [self.tree]
        return [self.r.arbor, 'commit', '--repo=' + self.repo, '-b', 'main', '-s', 'torture',
                '--timestamp=%d' % self.ts] + src

    def parent(self, c):
        out = self.r.arbor_ok('show', '--repo=' + self.repo, '--json', c)
        return json.loads(out).get('parent')

    def allowed_move(self, name, old, new):
        # main may move to a complete new commit whose parent is the old one (after a recovery:
        # or whose grandparent is, when the killed run had already moved the ref).
        if name != 'heads/main' or not os.path.exists(commit_path(self.repo, new)):
            return False
        p = self.parent(new)
        return p == old or (self.recovering and p is not None and self.parent(p) == old)

    def recover(self, what):
        code, out, err = self.r.run(self.command())
        if code != 0:
            return False, ['%s: rerun failed (exit %d): %s' % (what, code, err.strip()[-400:])]
        self.recovering = True
        try:
            bad = self.check_killed(what)
        finally:
            self.recovering = False
        new = ref_value(self.repo, 'heads/main')
        if new != out.strip():
            bad.append('%s: main is %s, the rerun printed %s' % (what, new, out.strip()))
        elif new == self.old:
            bad.append('%s: main did not move' % what)
        elif self.parent(new) != self.old and self.parent(self.parent(new)) != self.old:
            bad.append('%s: main %s does not descend from %s' % (what, new, self.old))
        left = staging_leftovers(self.repo)
        if left:
            bad.append('%s: staging leftovers after a completed commit: %s' % (what, left))
        return True, bad


class PruneOp(RepoOp):
    name = 'prune'
    moving = None

    def __init__(self, t):
        super().__init__(t)
        self.repo = os.path.join(t.work, 'repo-prune')
        self.tree = os.path.join(t.work, 'tree-prune')
        self.ts = 1700000000
        self.orphan = None

    def setup(self):
        self.r.arbor_ok('init', '--repo=' + self.repo, '--mode=bare')
        os.makedirs(self.tree)
        copy_tree(self.t.demo10, self.tree)
        self.r.arbor_ok('commit', '--repo=' + self.repo, '-b', 'user/keep', '--timestamp=1600000000', self.tree)
        copy_tree(self.t.odd, self.tree + '/usr/share/odd')
        churn(self.tree, self.t.churn, self.rng)
        self.r.arbor_ok('commit', '--repo=' + self.repo, '-b', 'main', '--timestamp=1650000000', self.tree)
        churn(self.tree, self.t.churn, self.rng)
        self.r.arbor_ok('commit', '--repo=' + self.repo, '-b', 'main', '--timestamp=1650000100', self.tree)

    def prepare(self, i):
        # Garbage to collect: an orphan commit with fresh content (and a ref that is deleted).
        churn(self.tree, self.t.churn, self.rng)
        self.ts += 10
        self.orphan = self.r.arbor_ok('commit', '--repo=' + self.repo, '--orphan', '--timestamp=%d' % self.ts, self.tree)
        self.snapshot()

    def command(self):
        return [self.r.arbor, 'prune', '--repo=' + self.repo, '--refs-only']

    def recover(self, what):
        code, out, err = self.r.run(self.command())
        if code != 0:
            return False, ['%s: rerun failed (exit %d): %s' % (what, code, err.strip()[-400:])]
        bad = self.check_killed(what)
        if os.path.exists(commit_path(self.repo, self.orphan)):
            bad.append('%s: the unreachable commit %s survived a completed prune' % (what, self.orphan))
        return True, bad


class PullOp(RepoOp):
    name = 'pull'
    moving = 'remotes/origin/main'

    def __init__(self, t):
        super().__init__(t)
        self.server = os.path.join(t.work, 'repo-server')
        self.repo = os.path.join(t.work, 'repo-pull')
        self.tree = os.path.join(t.work, 'tree-pull')
        self.ts = 1700000000
        self.nginx = None

    def setup(self):
        self.r.arbor_ok('init', '--repo=' + self.server, '--mode=archive')
        os.makedirs(self.tree)
        copy_tree(self.t.demo10, self.tree)
        copy_tree(self.t.odd, self.tree + '/usr/share/odd')
        churn(self.tree, self.t.churn, self.rng)
        self.r.arbor_ok('commit', '--repo=' + self.server, '-b', 'main', '--timestamp=1650000000', self.tree)
        self.r.arbor_ok('summary', '--repo=' + self.server, '-u')
        self.nginx = Nginx(os.path.join(self.t.work, 'nginx'), self.server)
        self.t.nginx = self.nginx
        url = self.nginx.start()
        self.r.arbor_ok('init', '--repo=' + self.repo, '--mode=bare')
        self.r.arbor_ok('remote', 'add', '--repo=' + self.repo, '--no-sign-verify', 'origin', url)
        self.r.arbor_ok('pull', '--repo=' + self.repo, 'origin', 'main')
        c = ref_value(self.repo, 'remotes/origin/main')
        self.r.arbor_ok('refs', '--repo=' + self.repo, '--create=user/keep', c)

    def prepare(self, i):
        self.trim(self.repo, 0)
        self.trim(self.server, 1)
        churn(self.tree, self.t.churn, self.rng)
        self.ts += 10
        self.new = self.r.arbor_ok('commit', '--repo=' + self.server, '-b', 'main', '--timestamp=%d' % self.ts, self.tree)
        self.r.arbor_ok('summary', '--repo=' + self.server, '-u')
        self.snapshot()

    def command(self):
        return [self.r.arbor, 'pull', '--repo=' + self.repo, '-q', 'origin', 'main']

    def allowed_move(self, name, old, new):
        return name == self.moving and new == self.new

    def recover(self, what):
        code, out, err = self.r.run(self.command())
        if code != 0:
            return False, ['%s: rerun failed (exit %d): %s' % (what, code, err.strip()[-400:])]
        bad = self.check_killed(what)
        if ref_value(self.repo, self.moving) != self.new:
            bad.append('%s: origin:main is %s after the pull, the server has %s' % (what, ref_value(self.repo, self.moving), self.new))
        if is_partial(self.repo, self.new):
            bad.append('%s: %s still partial after a completed pull' % (what, self.new))
        left = staging_leftovers(self.repo)
        if left:
            bad.append('%s: staging leftovers after a completed pull: %s' % (what, left))
        return True, bad


class SysrootOp(Op):
    """deploy, upgrade, rollback on the shared sysroot. Expected boot sets are learnt from
    uninterrupted runs: old fingerprint -> new fingerprint."""
    sysroot = True

    def __init__(self, t, kind):
        super().__init__(t)
        self.kind = kind
        self.name = 'admin ' + kind
        self.s = t.sysroot
        self.expected = {}  # strict fingerprint before -> (strict after, loose after)

    def command(self):
        a = [self.r.arbor, 'admin', self.kind, '--sysroot=' + self.s]
        if self.kind == 'deploy':
            a += ['--os=' + OS, OS + '/stable']
        return a

    def reset(self):
        if self.kind in ('deploy', 'upgrade'):
            self.r.arbor_ok('admin', 'undeploy', '--sysroot=' + self.s, '0')
            self.r.arbor_ok('admin', 'cleanup', '--sysroot=' + self.s)

    def state(self):
        return boot_state(self.s)

    def learn(self):
        """Runs the operation uninterrupted until the current state has a known outcome; returns
        the duration of the first run."""
        dur = None
        for _ in range(4):
            before = fingerprint(self.state())
            if before in self.expected:
                return dur
            t0 = time.monotonic()
            self.r.run(self.command(), check=True)
            d = time.monotonic() - t0
            dur = d if dur is None else dur
            after = self.state()
            self.expected[before] = (fingerprint(after), fingerprint(after, serials=False))
            self.r.arbor_ok('admin', 'cleanup', '--sysroot=' + self.s)
            self.reset()
        raise RuntimeError('%s: the sysroot does not return to a known state' % self.name)

    def prepare(self, i):
        self.learn()
        self.pre_state = self.state()
        self.pre = fingerprint(self.pre_state)
        self.post, self.post_loose = self.expected[self.pre]
        self.repo_before = refs_of(os.path.join(self.s, 'ostree/repo'))

    def repo_refs_kept(self, what):
        # Refs outside ostree/ (the per-deployment refs are rewritten by design) must stay.
        before = {k: v for k, v in self.repo_before.items() if not k.startswith('heads/ostree/')}
        return check_refs_kept(before, refs_of(os.path.join(self.s, 'ostree/repo')), lambda *a: False, what)

    def check_killed(self, what):
        bad, st = self.sc.check(self.s, what, {self.pre, self.post})
        bad += self.repo_refs_kept(what)
        # Deployments of the old set that the new set keeps must still be there.
        keep = set(self.pre_state['order']) & set(json.loads(self.post)[2].values())
        for d in keep:
            if not os.path.isdir(os.path.join(self.s, 'ostree/deploy', d)):
                bad.append('%s: deployment %s is gone' % (what, d))
        self.killed_state = fingerprint(st) if st else None
        return bad

    def recover(self, what):
        if self.killed_state == self.post:
            ran = True  # the killed run had completed the switch: only cleanup is left
        else:
            code, out, err = self.r.run(self.command())
            if code != 0:
                return False, ['%s: rerun failed (exit %d): %s' % (what, code, err.strip()[-400:])]
        code, out, err = self.r.run([self.r.arbor, 'admin', 'cleanup', '--sysroot=' + self.s])
        if code != 0:
            return False, ['%s: admin cleanup failed (exit %d): %s' % (what, code, err.strip()[-400:])]
        bad, st = self.sc.check(self.s, what, {self.post_loose}, strict=False)
        bad += self.repo_refs_kept(what)
        if st:
            dirs = sorted(n for n in os.listdir(os.path.join(self.s, 'ostree/deploy', OS, 'deploy')) if not n.endswith('.origin'))
            listed = sorted(d.split('/')[-1] for d in st['order'])
            if dirs != listed:
                bad.append('%s: after cleanup the deployments on disk are %s, the boot set has %s' % (what, dirs, listed))
        return True, bad


# ----------------------------------------------------------------------------------------------

class Torture:
    def __init__(self, args):
        self.args = args
        self.rng = random.Random(args.seed)
        self.op_count = 0
        self.r = Runner(args.arbor, args.ostree, args.verbose)
        self.nginx = None
        root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
        self.demo10 = os.path.join(root, 'trees/demo-1.0')
        self.demo11 = os.path.join(root, 'trees/demo-1.1')
        self.odd_script = os.path.join(root, 'scripts/make-odd-tree.sh')
        self.churn = args.churn

    def setup_common(self):
        self.work = tempfile.mkdtemp(prefix='arbor-torture-', dir=self.args.workdir)
        log('torture: work directory %s' % self.work)
        self.odd = os.path.join(self.work, 'odd')
        subprocess.run(['sh', self.odd_script, self.odd, str(self.args.odd)], check=True, stdout=subprocess.DEVNULL)
        if not self.args.long:
            # Short mode keeps the many small files and drops the few multi-MiB ones: the kills
            # still land among thousands of objects, and the disk has less to write.
            for d, dirs, files in os.walk(self.odd):
                for n in files:
                    p = os.path.join(d, n)
                    if os.lstat(p).st_size > 256 * 1024:
                        os.unlink(p)

    def setup_sysroot(self):
        s = self.sysroot = os.path.join(self.work, 'sysroot')
        self.r.arbor_ok('admin', 'init-fs', s)
        self.r.arbor_ok('admin', 'os-init', '--sysroot=' + s, OS)
        repo = os.path.join(s, 'ostree/repo')
        trees = []
        for name, src in (('1.0', self.demo10), ('1.1', self.demo11)):
            t = os.path.join(self.work, 'os-' + name)
            os.makedirs(t)
            copy_tree(src, t)
            copy_tree(self.odd, t + '/usr/share/odd')
            churn(t, self.churn, self.rng)
            trees.append(t)
        self.r.arbor_ok('commit', '--repo=' + repo, '-b', OS + '/stable', '--add-metadata-string=version=1.0',
                        '--owner-uid=0', '--owner-gid=0', '--timestamp=1700000000', trees[0])
        self.r.arbor_ok('refs', '--repo=' + repo, '--create=user/keep', OS + '/stable')
        self.r.arbor_ok('admin', 'deploy', '--sysroot=' + s, '--os=' + OS, '--karg=root=LABEL=root', '--karg=quiet', OS + '/stable')
        st = boot_state(s)
        d = os.path.join(s, 'ostree/deploy', st['order'][0])
        with open(os.path.join(d, 'etc', USER_ETC), 'w') as f:
            f.write(USER_ETC_TEXT)
        with open(os.path.join(s, 'ostree/deploy', OS, 'var', USER_VAR), 'w') as f:
            f.write(USER_VAR_TEXT)
        self.r.arbor_ok('commit', '--repo=' + repo, '-b', OS + '/stable', '--add-metadata-string=version=1.1',
                        '--owner-uid=0', '--owner-gid=0', '--timestamp=1700001000', trees[1])

    def torture(self, op, kills):
        res = {'operation': op.name, 'kills': 0, 'violations': 0, 'recoveries': 0, 'finished_before_kill': 0,
               'partial_after_kill': 0, 'typical_seconds': 0.0, 'details': []}
        t0 = time.monotonic()
        # Measure the uninterrupted duration once.
        if op.sysroot:
            dur = op.learn() or 0
            if not dur:
                t1 = time.monotonic()
                op.r.run(op.command(), check=True)
                dur = time.monotonic() - t1
                op.r.arbor_ok('admin', 'cleanup', '--sysroot=' + op.s)
                op.reset()
        else:
            op.prepare(-1)
            t1 = time.monotonic()
            op.r.run(op.command(), check=True)
            dur = time.monotonic() - t1
        res['typical_seconds'] = round(dur, 3)
        durations = [dur]
        attempts = 0
        while res['kills'] < kills and attempts < kills * 4 and not STOP.is_set():
            attempts += 1
            i = res['kills']
            op.prepare(i)
            delay = op.rng.uniform(0, dur)
            start = time.monotonic()
            p = op.r.start(op.command())
            try:
                p.wait(timeout=delay)
            except subprocess.TimeoutExpired:
                pass
            if p.poll() is not None:
                p.communicate()
                # Quicker than measured: learn the typical duration from the runs that finished.
                durations.append(time.monotonic() - start)
                dur = sorted(durations)[len(durations) // 2]
                res['finished_before_kill'] += 1
                if p.returncode != 0:
                    res['violations'] += 1
                    res['details'].append('%s: an uninterrupted run failed: exit %d' % (op.name, p.returncode))
                op.reset()
                continue
            os.kill(p.pid, signal.SIGKILL)
            p.communicate()
            res['kills'] += 1
            what = '%s, kill %d after %.3f s' % (op.name, i + 1, delay)
            partial_before = op.rc.partials_seen
            bad = op.check_killed(what)
            if op.rc.partials_seen > partial_before:
                res['partial_after_kill'] += 1
            ok, bad2 = op.recover(what + ', recovery')
            if ok and not bad2:
                res['recoveries'] += 1
            bad += bad2
            if bad:
                res['violations'] += len(bad)
                for b in bad:
                    log('VIOLATION ' + b)
                res['details'] += bad[:20]
            op.reset()
            if self.args.verbose:
                log('%s: %d violations so far' % (what, res['violations']))
        res['seconds'] = round(time.monotonic() - t0, 1)
        res['typical_seconds_final'] = round(dur, 3)
        log('torture: %-20s kills %4d  violations %3d  recoveries %4d  (typical %.2f s, %d finished before the kill, %d partial after the kill, %.0f s)'
            % (op.name, res['kills'], res['violations'], res['recoveries'], dur, res['finished_before_kill'],
               res['partial_after_kill'], res['seconds']))
        return res

    def run(self):
        t0 = time.monotonic()
        self.setup_common()
        wanted = self.args.ops.split(',') if self.args.ops else ALL_OPS
        for w in wanted:
            if w not in ALL_OPS:
                raise SystemExit('torture: unknown operation %s' % w)
        repo_ops = [k for k in ALL_OPS[:4] if k in wanted]
        sys_ops = [k for k in ALL_OPS[4:] if k in wanted]
        results = {}
        errors = []

        def repo_lane():
            for key in repo_ops:
                if STOP.is_set():
                    return
                op = {'commit-dir': lambda: CommitOp(self, tar=False), 'commit-tar': lambda: CommitOp(self, tar=True),
                      'pull': lambda: PullOp(self), 'prune': lambda: PruneOp(self)}[key]()
                op.setup()
                try:
                    results[key] = self.torture(op, self.args.kills)
                finally:
                    if isinstance(op, PullOp):
                        op.nginx.stop()

        def sys_lane():
            if not sys_ops:
                return
            self.setup_sysroot()
            for key in sys_ops:
                if STOP.is_set():
                    return
                op = SysrootOp(self, key)
                if key == 'rollback':
                    # Rollback needs two deployments: deploy the newer commit first.
                    self.r.arbor_ok('admin', 'upgrade', '--sysroot=' + self.sysroot)
                results[key] = self.torture(op, self.args.kills)

        def guarded(f):
            def g():
                try:
                    f()
                except BaseException as e:  # reported by the main thread
                    errors.append(e)
            return g

        lanes = [repo_lane, sys_lane]
        if self.args.jobs > 1:
            threads = [threading.Thread(target=guarded(f)) for f in lanes]
            for th in threads:
                th.start()
            while any(th.is_alive() for th in threads):
                for th in threads:
                    th.join(timeout=0.5)
        else:
            for f in lanes:
                guarded(f)()
        if errors:
            raise errors[0]
        if STOP.is_set():
            for r in results.values():
                r['interrupted'] = True
        log('torture: done in %.0f s' % (time.monotonic() - t0))
        return [results[k] for k in ALL_OPS if k in results]

    def cleanup(self):
        if self.nginx:
            self.nginx.stop()
        w = getattr(self, 'work', None)
        if w and not self.args.keep:
            subprocess.run(['chattr', '-R', '-f', '-i', w], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            shutil.rmtree(w, ignore_errors=True)


def table(results):
    rows = [('operation', 'kills', 'invariant violations', 'recoveries')]
    for r in results:
        rows.append((r['operation'], str(r['kills']), str(r['violations']), str(r['recoveries'])))
    w = [max(len(row[i]) for row in rows) for i in range(4)]
    lines = []
    for n, row in enumerate(rows):
        lines.append('| ' + ' | '.join(c.ljust(w[i]) if i == 0 else c.rjust(w[i]) for i, c in enumerate(row)) + ' |')
        if n == 0:
            lines.append('| ' + ' | '.join('-' * w[i] if i == 0 else '-' * (w[i] - 1) + ':' for i in range(4)) + ' |')
    return '\n'.join(lines)


def main():
    ap = argparse.ArgumentParser(description='SIGKILL arbor operations at random moments and check the invariants.')
    ap.add_argument('--short', action='store_true', help='10 kills per operation, small trees (the default)')
    ap.add_argument('--long', action='store_true', help='200 kills per operation')
    ap.add_argument('--json', action='store_true', help='print the results as JSON (the table goes to stderr)')
    ap.add_argument('--kills', type=int, help='kills per operation (overrides --short/--long)')
    ap.add_argument('--ops', help='comma-separated subset: commit-dir,commit-tar,pull,prune,deploy,upgrade,rollback')
    ap.add_argument('--seed', type=int, default=None)
    ap.add_argument('--keep', action='store_true', help='keep the work directory')
    ap.add_argument('--verbose', action='store_true')
    ap.add_argument('--jobs', type=int, default=2, help='1: one operation at a time; 2: repository and sysroot operations side by side')
    ap.add_argument('--arbor', required=True)
    ap.add_argument('--ostree', default=shutil.which('ostree') or '/usr/bin/ostree')
    ap.add_argument('--workdir', default=os.environ.get('TORTURE_TMP', '/var/tmp'))
    args = ap.parse_args()
    if args.short and args.long:
        ap.error('--short and --long exclude each other')
    if args.kills is None:
        args.kills = 200 if args.long else 10
    args.odd = 2000
    args.churn = 600 if args.long else 250
    if args.seed is None:
        args.seed = int.from_bytes(os.urandom(4), 'little')
    log('torture: %s mode, %d kills per operation, seed %d' % ('long' if args.long else 'short', args.kills, args.seed))
    t = Torture(args)

    def on_signal(sig, frame):
        if STOP.is_set():
            raise KeyboardInterrupt()
        log('torture: stopping after the current kill (again to abort)')
        STOP.set()
    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    try:
        results = t.run()
    finally:
        t.cleanup()
    total = sum(r['violations'] for r in results)
    text = table(results)
    if STOP.is_set():
        text += '\n(interrupted: partial run)'
    if args.json:
        sys.stderr.write(text + '\n')
        json.dump({'mode': 'long' if args.long else 'short', 'seed': args.seed, 'kills_per_operation': args.kills,
                   'operations': results, 'violations': total}, sys.stdout, indent=2)
        sys.stdout.write('\n')
    else:
        print(text)
        print('total invariant violations: %d' % total)
    return 1 if total else (130 if STOP.is_set() else 0)


if __name__ == '__main__':
    sys.exit(main())
