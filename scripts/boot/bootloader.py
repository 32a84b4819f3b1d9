#!/usr/bin/env python3
"""The boot tests' boot loader: systemd-boot's entry rules on the host, then qemu.

    bootloader.py boot IMAGE [--entry=K|PATTERN] [--watchdog=S] [--kill-on=MARKER]
                             [--kill-after-rename] [--log=FILE] [--append=ARGS]
                             [--drive-cache=MODE] [--console]
                             [--expect-version=V] [--expect-outcome=O[,O...]]
    bootloader.py until IMAGE --outcome=O[,O...] [--max=N] [boot options]
    bootloader.py entries IMAGE|SYSROOT_DIR [--json]     (the sorted menu, nothing renamed)

`boot` is one power-on of a machine whose firmware runs systemd-boot with its boot counting:

 1. loop-mount IMAGE (a whole-disk ext4 sysroot) read-write; follow boot/loader to
    loader.N/entries;
 2. read every entry as systemd-boot does (see the pure part below: file-name filter,
    `key value` lines, the +LEFT[-DONE] counter, entries whose kernel is missing dropped), sort
    them with its comparison, and take the first, or the K-th (0-based) as a manual choice in
    the menu would, or the first whose id matches PATTERN (as LoaderEntryOneShot would);
 3. if the entry is counted, rename it to +max(LEFT-1,0)-(DONE+1) and sync, before anything
    else (`--kill-after-rename` stops right here, as a power cut would);
 4. copy its `linux` and `initrd` files out (paths relative to /boot, the partition a boot
    loader sees; relative to the file system root as a fallback), unmount;
 5. run qemu (TCG, -cpu max, -no-reboot, 512 MB, the image as an NVMe disk, the entry's
    `options` as the kernel command line) under a watchdog: SIGKILL after --watchdog seconds (default 60), or
    the moment --kill-on's MARKER appears on the serial console. The console goes to the log
    (default under $ARBOR_BOOT_CACHE/logs), each line stamped with seconds since qemu started;
 6. classify the attempt and print one line `RESULT {json}` on stdout:
      healthy              ARBOR-HEALTHY was printed (the guest blessed its boot);
      unhealthy            the guest powered off or rebooted without it;
      kernel-panic         the kernel panicked (init died, or a broken initramfs);
      prepare-root-failed  arbor-prepare-root printed its error;
      watchdog             the watchdog ended the attempt;
      killed               --kill-on or --kill-after-rename ended it;
      error                qemu itself failed.

Exit status: 0 when the attempt was made and classified (whatever the outcome), 1 when an
--expect-* check failed or `until` did not reach its outcome, 2 on a harness error.

The pure part (parse_tries, strverscmp_improved, parse_entry, compare, sort_entries,
select_entry) has no side effects; Tests/Boot/test_bootloader.py checks it.
"""
import argparse
import contextlib
import fnmatch
import json
import os
import re
import select
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from typing import Callable, List, Optional

# ---------------------------------------------------------------------------------------------
# Pure part: systemd-boot's rules (src/boot/boot.c, src/fundamental/string-util-fundamental.c,
# src/boot/efi-string.c), transcribed.
# ---------------------------------------------------------------------------------------------

SUFFIX = ".conf"
INT_MAX = 2**31 - 1
UINT64_MAX = 2**64 - 1


def ascii_lower(s: str) -> str:
    """strtolower16: only A-Z are folded."""
    return "".join(chr(ord(c) + 32) if "A" <= c <= "Z" else c for c in s)


def parse_number(s: str, i: int):
    """parse_number16 with a tail: at least one digit, no overflow of uint64.
    Returns (value, index after the digits) or None."""
    if i >= len(s) or not "0" <= s[i] <= "9":
        return None
    u = 0
    while i < len(s) and "0" <= s[i] <= "9":
        u = u * 10 + (ord(s[i]) - 48)
        if u > UINT64_MAX:
            return None
        i += 1
    return u, i


@dataclass
class Tries:
    left: int
    done: int
    id: str          # name without the counter, before lower-casing
    next_name: str   # the name after one more attempt


def parse_tries(filename: str, suffix: str = SUFFIX) -> Optional[Tries]:
    """boot_entry_parse_tries: the counter after the *last* '+', LEFT digits, an optional
    -DONE, then exactly the suffix (case-insensitive). None when the name carries no counter."""
    plus = filename.rfind("+")
    if plus < 0:
        return None
    counter = plus + 1
    parsed = parse_number(filename, counter)
    if parsed is None or parsed[0] > INT_MAX:
        return None
    left, j = parsed
    done = 0
    if j < len(filename) and filename[j] == "-":
        parsed = parse_number(filename, j + 1)
        if parsed is None or parsed[0] > INT_MAX:
            return None
        done, j = parsed
    if ascii_lower(filename[j:]) != ascii_lower(suffix):
        return None
    prefix = filename[:counter]  # up to and including the '+'
    return Tries(
        left=left,
        done=done,
        id=filename[:plus] + suffix,
        next_name=f"{prefix}{max(left - 1, 0)}-{min(done + 1, INT_MAX)}{suffix}",
    )


def _valid_version_char(c: str) -> bool:
    return ("0" <= c <= "9") or ("a" <= c <= "z") or ("A" <= c <= "Z") or c in "~-^."


def _cmp(a, b) -> int:
    return (a > b) - (a < b)


def strverscmp_improved(a: Optional[str], b: Optional[str]) -> int:
    """systemd's strverscmp_improved, returning -1, 0 or 1 (None counts as "")."""
    a = (a or "") + "\0"
    b = (b or "") + "\0"
    i = j = 0

    def digit(c):
        return "0" <= c <= "9"

    def alpha(c):
        return ("a" <= c <= "z") or ("A" <= c <= "Z")

    while True:
        while a[i] != "\0" and not _valid_version_char(a[i]):
            i += 1
        while b[j] != "\0" and not _valid_version_char(b[j]):
            j += 1
        if a[i] == "~" or b[j] == "~":
            r = _cmp(a[i] != "~", b[j] != "~")
            if r:
                return r
            i += 1
            j += 1
        if a[i] == "\0" or b[j] == "\0":
            return _cmp(a[i], b[j])
        for sep in "-^.":
            if a[i] == sep or b[j] == sep:
                r = _cmp(a[i] != sep, b[j] != sep)
                if r:
                    return r
                i += 1
                j += 1
        if digit(a[i]) or digit(b[j]):
            ii, jj = i, j
            while digit(a[ii]):
                ii += 1
            while digit(b[jj]):
                jj += 1
            r = _cmp(i != ii, j != jj)
            if r:
                return r
            while a[i] == "0":
                i += 1
            while b[j] == "0":
                j += 1
            r = _cmp(ii - i, jj - j)
            if r:
                return r
            r = _cmp(a[i:ii], b[j:jj])
            if r:
                return r
        else:
            ii, jj = i, j
            while alpha(a[ii]):
                ii += 1
            while alpha(b[jj]):
                jj += 1
            n = min(ii - i, jj - j)
            r = _cmp(a[i:i + n], b[j:j + n])
            if r:
                return r
            r = _cmp(ii - i, jj - j)
            if r:
                return r
        i, j = ii, jj


def entry_lines(text: str):
    """line_get_key_value with separators space and tab: (key, value) pairs; blank lines,
    comments and keys without a value skipped; one level of matching quotes removed."""
    for line in re.split(r"[\r\n]", text):
        line = line.strip(" \t")
        if not line or line.startswith("#"):
            continue
        k = 0
        while k < len(line) and line[k] not in " \t":
            k += 1
        if k == len(line):
            continue
        key, value = line[:k], line[k:].lstrip(" \t")
        if value[0] in "\"'" and value[-1] == value[0]:
            value = value[1:-1]
        yield key, value


def valid_type1_filename(name: str) -> bool:
    """Entry files: not hidden, `.conf` in any case, not `auto-...`."""
    return (bool(name) and not name.startswith(".")
            and ascii_lower(name).endswith(SUFFIX) and not ascii_lower(name).startswith("auto-"))


@dataclass
class BootEntry:
    filename: str
    id: str
    type: str = "undefined"          # linux | efi | uki | bad | ignore | undefined
    title: Optional[str] = None
    version: Optional[str] = None
    machine_id: Optional[str] = None
    sort_key: Optional[str] = None
    linux: Optional[str] = None
    initrd: List[str] = field(default_factory=list)
    options: Optional[str] = None
    devicetree: Optional[str] = None
    tries_left: int = -1             # -1: not counted
    tries_done: int = -1
    next_name: Optional[str] = None

    @property
    def counted(self) -> bool:
        return self.tries_left >= 0

    @property
    def bad(self) -> bool:
        return self.tries_left == 0

    def to_json(self):
        return {
            "filename": self.filename, "id": self.id, "title": self.title, "version": self.version,
            "sortKey": self.sort_key, "counted": self.counted, "triesLeft": self.tries_left if self.counted else None,
            "triesDone": self.tries_done if self.counted else None, "bad": self.bad, "nextName": self.next_name,
            "linux": self.linux, "initrd": self.initrd, "options": self.options,
        }


def parse_entry(filename: str, text: str, loader_exists: Optional[Callable[[str], bool]] = None,
                machine_arch: str = "x64") -> Optional[BootEntry]:
    """boot_entry_add_type1: the entry, or None when systemd-boot would not list it (no or
    conflicting loader lines, another architecture, or a loader file that does not exist)."""
    e = BootEntry(filename=filename, id=filename)
    for key, value in entry_lines(text):
        if key == "title":
            e.title = value
        elif key == "sort-key":
            e.sort_key = value
        elif key == "version":
            e.version = value
        elif key == "machine-id":
            e.machine_id = value
        elif key in ("linux", "uki", "efi"):
            if e.type not in ("undefined", key):
                e.type = "bad"
                break
            e.type = key
            e.linux = value
        elif key == "architecture":
            if ascii_lower(value) != ascii_lower(machine_arch):
                e.type = "ignore"
                break
        elif key == "devicetree":
            e.devicetree = value
        elif key == "initrd":
            e.initrd.append(value)
        elif key == "options":
            e.options = value if e.options is None else f"{e.options} {value}"
    if e.type in ("undefined", "bad", "ignore"):
        return None
    if e.linux is not None and loader_exists is not None and not loader_exists(e.linux):
        return None
    tries = parse_tries(filename)
    if tries is not None:
        e.id = tries.id
        e.tries_left, e.tries_done, e.next_name = tries.left, tries.done, tries.next_name
    e.id = ascii_lower(e.id)
    return e


def _strcmp_ptr(a: Optional[str], b: Optional[str]) -> int:
    if a is not None and b is not None:
        return _cmp(a, b)
    return _cmp(a is not None, b is not None)


def compare(a: BootEntry, b: BootEntry) -> int:
    """boot_entry_compare: <0 when a goes first in the menu."""
    r = _cmp(a.tries_left == 0, b.tries_left == 0)      # no tries left: last
    if r:
        return r
    r = _cmp(a.sort_key is None, b.sort_key is None)    # sort-key entries first
    if r:
        return r
    if a.sort_key is not None and b.sort_key is not None:
        r = _strcmp_ptr(a.sort_key, b.sort_key)
        if r:
            return r
        r = _strcmp_ptr(a.machine_id, b.machine_id)
        if r:
            return r
        r = -strverscmp_improved(a.version, b.version)   # newest first
        if r:
            return r
    r = -strverscmp_improved(a.id, b.id)                # id descending
    if r:
        return r
    if a.tries_left < 0 or b.tries_left < 0:
        return 0
    r = -_cmp(a.tries_left, b.tries_left)               # more tries left first
    if r:
        return r
    return _cmp(a.tries_done, b.tries_done)             # then fewer done first


def sort_entries(entries: List[BootEntry]) -> List[BootEntry]:
    """sort_pointer_array: a stable insertion sort. Done literally, because compare() is not
    transitive when counted and uncounted entries share an id, so the algorithm matters."""
    out = list(entries)
    for i in range(1, len(out)):
        entry = out[i]
        k = i
        while k > 0 and compare(out[k - 1], entry) > 0:
            out[k] = out[k - 1]
            k -= 1
        out[k] = entry
    return out


def select_entry(menu: List[BootEntry], choice=None) -> int:
    """The index of the entry to boot in a sorted menu. choice None: the first auto-selectable
    entry (every listed type is; with all entries bad, that is the first bad one). An int: that
    position, as chosen in the menu. A string: the first entry whose id matches it as an
    fnmatch pattern (LoaderEntryOneShot), else the default."""
    if not menu:
        raise LookupError("no boot entries")
    if isinstance(choice, int):
        if not 0 <= choice < len(menu):
            raise LookupError(f"no entry {choice} in a menu of {len(menu)}")
        return choice
    if isinstance(choice, str):
        pattern = ascii_lower(choice)
        for i, e in enumerate(menu):
            if fnmatch.fnmatchcase(e.id, pattern):
                return i
        raise LookupError(f"no entry id matches {choice!r}")
    return 0


# ---------------------------------------------------------------------------------------------
# The harness: the image, the rename, qemu.
# ---------------------------------------------------------------------------------------------

CACHE = os.environ.get("ARBOR_BOOT_CACHE", "/var/tmp/arbor-boot")
QEMU = os.environ.get("ARBOR_BOOT_QEMU", "qemu-system-x86_64")
# "max" gives the guest RDRAND, so the kernel's random pool is ready at once: with qemu's default
# CPU model the first getrandom() (arbor-prepare-root's, in the initramfs) waits about a second
# for jitter entropy under TCG.
CPU = os.environ.get("ARBOR_BOOT_CPU", "max")
OUTCOMES = ("healthy", "unhealthy", "kernel-panic", "prepare-root-failed", "watchdog", "killed", "error")


class HarnessError(Exception):
    pass


def log(msg):
    print(f"[bootloader {time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


def run(cmd, **kw):
    p = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, **kw)
    if p.returncode != 0:
        raise HarnessError(f"{' '.join(cmd)}: {p.stderr.strip() or p.stdout.strip() or p.returncode}")
    return p.stdout


def loop_devices_of(image):
    out = subprocess.run(["losetup", "-j", os.path.realpath(image)], stdout=subprocess.PIPE,
                         stderr=subprocess.DEVNULL, text=True).stdout
    return [line.split(":", 1)[0] for line in out.splitlines() if line.strip()]


@contextlib.contextmanager
def mounted(image, readonly=False):
    """The image loop-mounted at a private directory; unmounted (after a sync) on the way out,
    whatever happens."""
    if loop_devices_of(image):
        raise HarnessError(f"{image} is attached to {', '.join(loop_devices_of(image))}: "
                           "unmount it before booting (two mounts of one ext4 corrupt it)")
    os.makedirs(os.path.join(CACHE, "tmp"), exist_ok=True)
    mnt = tempfile.mkdtemp(prefix="mnt.", dir=os.path.join(CACHE, "tmp"))
    opts = "loop,ro,noload" if readonly else "loop"
    try:
        run(["mount", "-t", "ext4", "-o", opts, image, mnt])
        try:
            yield mnt
        finally:
            os.sync()
            subprocess.run(["umount", mnt], check=False)
            for dev in loop_devices_of(image):
                subprocess.run(["losetup", "-d", dev], check=False)
    finally:
        with contextlib.suppress(OSError):
            os.rmdir(mnt)


def inside(root, path):
    root = os.path.realpath(root)
    real = os.path.realpath(path)
    return real == root or real.startswith(root + os.sep)


def boot_file(sysroot, path):
    """A BLS path (relative to the partition holding /boot): under sysroot/boot, else under the
    file system root. None when neither exists (or it would leave the sysroot)."""
    rel = path.lstrip("/")
    for base in (os.path.join(sysroot, "boot"), sysroot):
        candidate = os.path.join(base, rel)
        if os.path.isfile(candidate) and inside(sysroot, candidate):
            return candidate
    return None


def entries_dir(sysroot):
    loader = os.path.join(sysroot, "boot", "loader")
    if os.path.islink(loader):
        target = os.readlink(loader)
        base = os.path.join(sysroot, "boot")
        loader = os.path.join(base, target.lstrip("/")) if target.startswith("/") else os.path.join(base, target)
    d = os.path.join(loader, "entries")
    if not os.path.isdir(d) or not inside(sysroot, d):
        raise HarnessError(f"no boot/loader/entries in the sysroot")
    return d


def read_menu(sysroot):
    """The sorted menu of the sysroot's entries (file names read in byte order)."""
    d = entries_dir(sysroot)
    entries = []
    for name in sorted(os.listdir(d), key=lambda n: n.encode("utf-8", "surrogateescape")):
        path = os.path.join(d, name)
        if os.path.isdir(path) or not valid_type1_filename(name):
            continue
        with open(path, encoding="utf-8", errors="replace") as f:
            text = f.read()
        e = parse_entry(name, text, loader_exists=lambda p: boot_file(sysroot, p) is not None)
        if e is not None:
            entries.append(e)
    return d, sort_entries(entries)


def bump(directory, entry):
    """Rename a counted entry to its next name and make the rename durable."""
    os.rename(os.path.join(directory, entry.filename), os.path.join(directory, entry.next_name))
    fd = os.open(directory, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
    os.sync()


def classify(text, killed, watchdog_fired, qemu_rc):
    if killed:
        return "killed"
    if "ARBOR-HEALTHY" in text:
        return "healthy"
    if watchdog_fired:
        return "watchdog"
    if "arbor-prepare-root: error" in text:
        return "prepare-root-failed"
    if "Kernel panic" in text:
        return "kernel-panic"
    if qemu_rc != 0:
        return "error"
    return "unhealthy"


def guest_end(text, killed, watchdog_fired):
    if killed:
        return "killed"
    if watchdog_fired:
        return "watchdog"
    if "Kernel panic" in text:
        return "panic"
    if "reboot: Power down" in text:
        return "poweroff"
    if "reboot: Restarting system" in text:
        return "reboot"
    return "qemu-exit"


def between(lines, begin, end):
    out, inside_block = None, False
    for line in lines:
        if line.endswith(begin) and not inside_block:
            out, inside_block = [], True
        elif line.endswith(end) and inside_block:
            return out
        elif inside_block:
            out.append(line)
    return None  # no block, or one cut short


# Terminal control from the firmware (SeaBIOS clears the screen): ESC c, ESC [ ... letter.
ANSI = re.compile(r"\x1b(?:c|\[[0-9;?]*[A-Za-z])")

MARKERS = ("INITRAMFS-START", "INITRAMFS-FAIL", "INITRAMFS-PANIC", "PREPARE-ROOT-START", "PREPARE-ROOT-SWITCH", "PREPARE-ROOT-DONE",
           "BOOTED-VERSION",
           "OSTREE-BOOTED-MARKER=yes", "USR-RO=yes", "GUEST-HANG", "GUEST-INIT-EXIT", "BLESS-START",
           "HEALTH-CHECK-PASSED", "HEALTH-CHECK-FAILED", "BLESS-DONE", "BLESS-FAILED", "ARBOR-HEALTHY",
           "SYSROOT-RO=yes", "POWEROFF", "arbor-prepare-root: error", "Kernel panic")


def run_qemu(kernel, initrd, options, image, watchdog, kill_on, log_path, drive_cache, echo):
    drive = f"if=none,id=disk,file={image},format=raw"
    if drive_cache:
        drive += f",cache={drive_cache}"
    cmd = [QEMU, "-accel", "tcg", "-cpu", CPU, "-m", "512", "-smp", "1", "-nographic", "-no-reboot",
           "-nic", "none",
           "-kernel", kernel, "-append", options, "-drive", drive, "-device", "nvme,serial=arbor,drive=disk"]
    if initrd:
        cmd[cmd.index("-append"):cmd.index("-append")] = ["-initrd", initrd]
    needle = kill_on.encode() if kill_on else None
    killed = watchdog_fired = False
    raw = bytearray()
    lines = []
    partial = b""
    start = time.monotonic()
    marker_at = {}
    with open(log_path, "a", encoding="utf-8") as logf:
        logf.write(f"# qemu: {' '.join(cmd)}\n")
        proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                stderr=subprocess.STDOUT, start_new_session=True)
        try:
            fd = proc.stdout.fileno()
            while True:
                remaining = start + watchdog - time.monotonic()
                if remaining <= 0:
                    watchdog_fired = True
                    proc.kill()
                    break
                ready, _, _ = select.select([fd], [], [], min(remaining, 1.0))
                if not ready:
                    continue
                chunk = os.read(fd, 65536)
                if not chunk:
                    break
                scan_from = max(0, len(raw) - (len(needle) - 1 if needle else 0))
                raw += chunk
                now = time.monotonic() - start
                if needle and needle in raw[scan_from:]:
                    proc.kill()  # SIGKILL, at once: a power cut at this point of the boot
                    killed = True
                data = partial + chunk
                *complete, partial = data.split(b"\n")
                for line in complete:
                    text = ANSI.sub("", line.decode("utf-8", "replace")).rstrip("\r")
                    lines.append(text)
                    logf.write(f"{now:8.3f} {text}\n")
                    if echo:
                        print(f"{now:8.3f} {text}", file=sys.stderr, flush=True)
                    for m in MARKERS:
                        if m in text and m not in marker_at:
                            marker_at[m] = round(now, 3)
                if killed:
                    logf.write(f"{now:8.3f} # killed on {kill_on!r}\n")
                    break
            if partial:
                text = ANSI.sub("", partial.decode("utf-8", "replace")).rstrip("\r")
                lines.append(text)
                logf.write(f"{time.monotonic() - start:8.3f} {text}\n")
        finally:
            if proc.poll() is None:
                proc.kill()
            try:
                rc = proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                rc = None
            proc.stdout.close()
        seconds = round(time.monotonic() - start, 3)
        if watchdog_fired:
            logf.write(f"{seconds:8.3f} # watchdog: killed after {watchdog} s\n")
        logf.write(f"# qemu exit={rc} seconds={seconds}\n")
    return lines, rc, seconds, killed, watchdog_fired, marker_at


def parse_choice(value):
    if value is None:
        return None
    return int(value) if re.fullmatch(r"\d+", value) else value


def default_log():
    d = os.path.join(CACHE, "logs")
    os.makedirs(d, exist_ok=True)
    return os.path.join(d, f"boot-{time.strftime('%Y%m%d-%H%M%S')}-{os.getpid()}-{time.monotonic_ns() % 10**6}.log")


def boot_once(args):
    image = os.path.abspath(args.image)
    if not os.path.isfile(image):
        raise HarnessError(f"no image {args.image}")
    log_path = os.path.abspath(args.log) if args.log else default_log()
    os.makedirs(os.path.dirname(log_path), exist_ok=True)
    os.makedirs(os.path.join(CACHE, "tmp"), exist_ok=True)
    work = tempfile.mkdtemp(prefix="boot.", dir=os.path.join(CACHE, "tmp"))
    result = {"image": image, "log": log_path}
    try:
        with mounted(image) as mnt:
            directory, menu = read_menu(mnt)
            if not menu:
                raise HarnessError("no bootable entry in boot/loader/entries")
            index = select_entry(menu, parse_choice(args.entry))
            entry = menu[index]
            result.update({
                "menu": [e.filename for e in menu], "entryIndex": index, "entryId": entry.id,
                "entryBefore": entry.filename, "entryAfter": entry.filename,
                "counted": entry.counted, "triesLeft": entry.tries_left if entry.counted else None,
                "triesDone": entry.tries_done if entry.counted else None,
                "entryVersion": entry.version, "options": entry.options,
            })
            with open(log_path, "a", encoding="utf-8") as logf:
                logf.write(f"# menu: {' '.join(e.filename for e in menu)}\n# chosen [{index}]: {entry.filename}\n")
            if entry.counted:
                bump(directory, entry)
                result["entryAfter"] = entry.next_name
                log(f"LoaderBootCountPath: {entry.filename} -> {entry.next_name}")
            if args.kill_after_rename:
                result.update({"outcome": "killed", "killedAt": "after-rename", "bootedVersion": None,
                               "seconds": 0.0, "qemuExit": None, "guestEnd": "not-started"})
                return result
            kernel = os.path.join(work, "linux")
            shutil.copyfile(boot_file(mnt, entry.linux), kernel)
            initrd = None
            if entry.initrd:
                initrd = os.path.join(work, "initrd")
                with open(initrd, "wb") as out:
                    for p in entry.initrd:
                        src = boot_file(mnt, p)
                        if src is None:
                            raise HarnessError(f"{entry.filename}: no initrd {p}")
                        with open(src, "rb") as f:
                            shutil.copyfileobj(f, out)
        options = " ".join(x for x in (entry.options or "", args.append or "") if x)
        log(f"booting [{index}] {result['entryAfter']} ({entry.title or entry.id}), watchdog {args.watchdog} s")
        lines, rc, seconds, killed, fired, marker_at = run_qemu(
            kernel, initrd, options, image, args.watchdog, args.kill_on, log_path, args.drive_cache, args.console)
        text = "\n".join(lines)
        version = None
        for line in lines:
            m = re.search(r"BOOTED-VERSION=(\S+)", line)
            if m:
                version = m.group(1)
                break
        outcome = classify(text, killed, fired, rc)
        result.update({
            "bootedVersion": version, "outcome": outcome, "guestEnd": guest_end(text, killed, fired),
            "seconds": seconds, "bootSeconds": marker_at.get("BOOTED-VERSION"), "qemuExit": rc,
            "markers": [m for m in MARKERS if m in marker_at],
            "markerSeconds": marker_at,
        })
        if killed:
            result["killedAt"] = args.kill_on
        status = between(lines, "ARBOR-STATUS-BEGIN", "ARBOR-STATUS-END")
        if status is not None:
            try:
                result["arborStatus"] = json.loads("\n".join(status))
            except ValueError:
                result["arborStatus"] = None
                result["arborStatusText"] = "\n".join(status)
        ostree = between(lines, "OSTREE-STATUS-BEGIN", "OSTREE-STATUS-END")
        if ostree is not None:
            result["ostreeStatus"] = "\n".join(ostree)
        failures = [line.strip() for line in lines
                    if "INITRAMFS-FAIL" in line or "arbor-prepare-root: error" in line or "BLESS-FAILED" in line]
        if failures:
            result["failures"] = failures
        return result
    finally:
        shutil.rmtree(work, ignore_errors=True)


def check_expectations(args, result):
    ok = True
    if args.expect_version is not None and result.get("bootedVersion") != args.expect_version:
        log(f"expected version {args.expect_version}, booted {result.get('bootedVersion')}")
        ok = False
    if args.expect_outcome:
        wanted = args.expect_outcome.split(",")
        if result.get("outcome") not in wanted:
            log(f"expected outcome {args.expect_outcome}, got {result.get('outcome')} (log {result.get('log')})")
            ok = False
    return ok


def print_result(result, tag="RESULT"):
    print(f"{tag} {json.dumps(result, sort_keys=True)}", flush=True)


def cmd_boot(args):
    result = boot_once(args)
    print_result(result)
    log(f"{result['entryBefore']} -> {result['entryAfter']}: version {result.get('bootedVersion')}, "
        f"{result['outcome']} in {result.get('seconds')} s (log {result['log']})")
    return 0 if check_expectations(args, result) else 1


def cmd_until(args):
    wanted = args.outcome.split(",")
    for o in wanted:
        if o not in OUTCOMES:
            raise HarnessError(f"unknown outcome {o} (one of {', '.join(OUTCOMES)})")
    sequence = []
    reached = False
    for n in range(1, args.max + 1):
        args.log = None if not args.log_dir else os.path.join(args.log_dir, f"boot-{n:02d}.log")
        result = boot_once(args)
        print_result(result)
        sequence.append({"boot": n, "entryBefore": result["entryBefore"], "entryAfter": result["entryAfter"],
                         "version": result.get("bootedVersion"), "outcome": result["outcome"],
                         "seconds": result.get("seconds")})
        log(f"boot {n}: {result['entryBefore']} -> {result['entryAfter']}, version "
            f"{result.get('bootedVersion')}, {result['outcome']}")
        if result["outcome"] in wanted:
            reached = True
            break
    print_result({"reached": reached, "outcome": args.outcome, "boots": len(sequence), "sequence": sequence}, "UNTIL")
    return 0 if reached else 1


def cmd_entries(args):
    def show(sysroot):
        _, menu = read_menu(sysroot)
        if args.json:
            print(json.dumps({"default": menu[0].filename if menu else None,
                              "entries": [e.to_json() for e in menu]}, indent=2))
        else:
            for i, e in enumerate(menu):
                state = "good" if not e.counted else ("bad" if e.bad else "indeterminate")
                counter = f" (left {e.tries_left}, done {e.tries_done})" if e.counted else ""
                print(f"{'*' if i == 0 else ' '} [{i}] {e.filename}  {state}{counter}  ({e.title or e.id})")

    if os.path.isdir(args.image):
        show(args.image)
    else:
        # Read-write, so that a journal left by a killed guest is replayed (as the next boot's
        # mount would); nothing is changed otherwise.
        with mounted(args.image) as mnt:
            show(mnt)
    return 0


def main(argv=None):
    ap = argparse.ArgumentParser(description="systemd-boot's entry rules plus qemu, for the boot tests")
    sub = ap.add_subparsers(dest="cmd", required=True)

    def boot_options(p):
        p.add_argument("image")
        p.add_argument("--entry", help="menu position (0-based) or an id pattern, instead of the default")
        p.add_argument("--watchdog", type=float, default=60.0, help="seconds before qemu is killed (default 60)")
        p.add_argument("--kill-on", metavar="MARKER", help="SIGKILL qemu as soon as MARKER is on the console")
        p.add_argument("--kill-after-rename", action="store_true", help="stop after the counter rename")
        p.add_argument("--append", help="extra kernel arguments (diagnostics)")
        p.add_argument("--drive-cache", help="qemu's cache= for the disk (e.g. unsafe, writeback)")
        p.add_argument("--console", action="store_true", help="also echo the console to stderr")
        p.add_argument("--expect-version")
        p.add_argument("--expect-outcome", help="comma-separated outcomes that count as expected")

    p = sub.add_parser("boot", help="one boot attempt")
    boot_options(p)
    p.add_argument("--log", help="console log file (appended to)")
    p.set_defaults(func=cmd_boot)

    p = sub.add_parser("until", help="boot until an outcome, at most --max times")
    boot_options(p)
    p.add_argument("--outcome", required=True, help="comma-separated outcomes that end the loop")
    p.add_argument("--max", type=int, default=5)
    p.add_argument("--log-dir", help="one log per boot there (boot-NN.log)")
    p.set_defaults(func=cmd_until)

    p = sub.add_parser("entries", help="the sorted menu, without booting")
    p.add_argument("image", help="an image (mounted read-only) or a sysroot directory")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_entries)

    args = ap.parse_args(argv)

    def on_signal(signum, _frame):
        raise KeyboardInterrupt(f"signal {signum}")

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGHUP, on_signal)
    try:
        return args.func(args)
    except (HarnessError, LookupError, OSError) as e:
        print(f"bootloader.py: error: {e}", file=sys.stderr)
        return 2
    except KeyboardInterrupt as e:
        print(f"bootloader.py: interrupted ({e or 'SIGINT'})", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
