// Robustness tests: corrupt objects, bad revisions, failed and killed commits, repository
// locking against other processes, hostile trees and broken repositories. Every failure must be
// one clean `arbor: error: ` line on stderr with a non-zero exit, never a crash, never a write
// outside a checkout's destination, and never a half-published commit.
import Foundation
import XCTest

#if canImport(Glibc)
import Glibc
#endif

// MARK: - Private helpers

/// The outcome of a process, including whether it died from a signal.
private struct Outcome {
    var status: Int32
    var signaled: Bool
    var timedOut: Bool
    var stdout: String
    var stderr: String
    var stdoutData: Data
    var seconds: Double

    var summary: String {
        "status \(status)\(signaled ? " (signal)" : "")\(timedOut ? " (timed out)" : ""); stderr: \(stderr.trimmingCharacters(in: .whitespacesAndNewlines))"
    }
}

private final class Flag: @unchecked Sendable {
    private let lock = NSLock()
    private var value = false
    func set() { lock.lock(); value = true; lock.unlock() }
    func get() -> Bool { lock.lock(); defer { lock.unlock() }; return value }
}

private final class DataBox: @unchecked Sendable { var data = Data() }

/// Runs a program, reporting signals, with a watchdog that SIGKILLs it after `timeout` seconds.
private func execute(_ program: String, _ args: [String], timeout: Double = 120) throws -> Outcome {
    let p = Process()
    p.executableURL = URL(fileURLWithPath: program.hasPrefix("/") ? program : "/usr/bin/env")
    p.arguments = program.hasPrefix("/") ? args : [program] + args
    let out = Pipe(), err = Pipe()
    p.standardOutput = out
    p.standardError = err
    p.standardInput = FileHandle.nullDevice
    var environment = ProcessInfo.processInfo.environment
    environment["SWIFT_BACKTRACE"] = "enable=no"  // a crash should end the process at once
    p.environment = environment
    let start = Date()
    try p.run()
    let pid = p.processIdentifier
    let finished = DispatchSemaphore(value: 0)
    let timedOut = Flag()
    DispatchQueue.global().async {
        if finished.wait(timeout: .now() + timeout) == .timedOut {
            timedOut.set()
            kill(pid, SIGKILL)
        }
    }
    let errBox = DataBox()
    let group = DispatchGroup()
    group.enter()
    DispatchQueue.global().async {
        errBox.data = err.fileHandleForReading.readDataToEndOfFile()
        group.leave()
    }
    let outData = out.fileHandleForReading.readDataToEndOfFile()
    group.wait()
    let errData = errBox.data
    p.waitUntilExit()
    finished.signal()
    return Outcome(status: p.terminationStatus, signaled: p.terminationReason == .uncaughtSignal,
                   timedOut: timedOut.get(),
                   stdout: String(decoding: outData, as: UTF8.self), stderr: String(decoding: errData, as: UTF8.self),
                   stdoutData: outData, seconds: Date().timeIntervalSince(start))
}

/// Runs `arbor`.
private func arborRun(_ args: [String], timeout: Double = 120) throws -> Outcome {
    try execute(arborBinary, args, timeout: timeout)
}

/// Runs `arbor`, failing the test unless it exits 0; returns trimmed stdout.
@discardableResult
private func arborMust(_ args: [String], file: StaticString = #filePath, line: UInt = #line) throws -> String {
    let o = try arborRun(args)
    XCTAssertEqual(o.status, 0, "arbor \(args.joined(separator: " ")) failed: \(o.summary)", file: file, line: line)
    XCTAssertFalse(o.signaled, "arbor \(args.joined(separator: " ")) crashed", file: file, line: line)
    return o.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
}

/// Runs python3 code with arguments, failing the test unless it exits 0; returns stdout.
@discardableResult
private func python(_ code: String, _ args: [String] = [], timeout: Double = 300,
                    file: StaticString = #filePath, line: UInt = #line) throws -> String {
    let o = try execute("python3", ["-c", code] + args, timeout: timeout)
    XCTAssertEqual(o.status, 0, "python3 helper failed: \(o.summary)", file: file, line: line)
    return o.stdout
}

/// Asserts that a run failed cleanly: the expected exit status (1 unless given; any of
/// `statuses`), no signal, exactly one stderr line starting `arbor: error: `, mentioning every
/// string in `mentions`.
private func assertCleanError(_ o: Outcome, _ what: String, statuses: Set<Int32> = [1], mentions: [String] = [],
                              file: StaticString = #filePath, line: UInt = #line) {
    XCTAssertFalse(o.signaled, "\(what): crashed with signal \(o.status); stderr: \(o.stderr)", file: file, line: line)
    XCTAssertFalse(o.timedOut, "\(what): hung and was killed", file: file, line: line)
    XCTAssertTrue(statuses.contains(o.status), "\(what): expected exit \(statuses.sorted()), got \(o.summary)", file: file, line: line)
    let lines = o.stderr.split(separator: "\n", omittingEmptySubsequences: true)
    XCTAssertEqual(lines.count, 1, "\(what): expected exactly one stderr line, got: \(o.stderr.debugDescription)", file: file, line: line)
    XCTAssertTrue(lines.first?.hasPrefix("arbor: error: ") ?? false,
                  "\(what): stderr must start with 'arbor: error: ', got: \(o.stderr.debugDescription)", file: file, line: line)
    for m in mentions {
        XCTAssertTrue(o.stderr.contains(m), "\(what): error should mention '\(m)', got: \(o.stderr.debugDescription)", file: file, line: line)
    }
}

/// The loose-object path of an object.
private func objectPath(_ repo: String, _ checksum: String, _ suffix: String) -> String {
    "\(repo)/objects/\(checksum.prefix(2))/\(checksum.dropFirst(2)).\(suffix)"
}

/// Every path under a directory (relative, sorted), symlinks included.
private func listTree(_ dir: String) throws -> [String] {
    guard FileManager.default.fileExists(atPath: dir) else { return [] }
    let r = try run("find", [dir, "-mindepth", "1", "-printf", "%P %y\n"])
    return r.stdout.split(separator: "\n").map(String.init).sorted()
}

/// The entries directly in a directory (empty when it does not exist).
private func entries(_ dir: String) -> [String] {
    ((try? FileManager.default.contentsOfDirectory(atPath: dir)) ?? []).sorted()
}

/// Overwrites a file in place (same inode, same mode and owner).
private func overwrite(_ path: String, with data: Data) throws {
    guard let fh = FileHandle(forUpdatingAtPath: path) else {
        throw NSError(domain: "robustness", code: 1, userInfo: [NSLocalizedDescriptionKey: "cannot open \(path)"])
    }
    try fh.truncate(atOffset: 0)
    try fh.write(contentsOf: data)
    try fh.close()
}

private func readData(_ path: String) throws -> Data { try Data(contentsOf: URL(fileURLWithPath: path)) }

private func writeText(_ path: String, _ text: String) throws {
    try text.write(toFile: path, atomically: false, encoding: .utf8)
}

/// The checksum a ref file holds (nil when missing).
private func refValue(_ repo: String, _ ref: String) -> String? {
    guard let s = try? String(contentsOfFile: "\(repo)/refs/heads/\(ref)", encoding: .utf8) else { return nil }
    return s.trimmingCharacters(in: .whitespacesAndNewlines)
}

/// `arbor ls -R -C` parsed into path -> checksums (files: [content]; dirs: [dirtree, dirmeta]).
private func treeChecksums(_ repo: String, _ rev: String) throws -> [String: [String]] {
    let text = try arborMust(["ls", "--repo=\(repo)", "-R", "-C", rev])
    var map: [String: [String]] = [:]
    for line in text.split(separator: "\n") {
        let f = line.split(separator: " ", omittingEmptySubsequences: true).map(String.init)
        if line.hasPrefix("d"), f.count >= 7 {
            map[f[6]] = [f[4], f[5]]
        } else if f.count >= 6 {
            map[f[5]] = [f[4]]
        }
    }
    return map
}

private func isHex64(_ s: String) -> Bool {
    s.count == 64 && s.allSatisfy { "0123456789abcdef".contains($0) }
}

/// Python: checks every loose object name in a repo. Metadata objects must hash to their name;
/// every file under objects/ must be a well-formed final object name (no temporary files).
private let objectNameCheck = """
import hashlib, os, re, sys
repo = sys.argv[1]
bad = []
pat = re.compile(r'^[0-9a-f]{62}\\.(file|filez|dirtree|dirmeta|commit|commitmeta)$')
for d in sorted(os.listdir(os.path.join(repo, 'objects'))):
    dp = os.path.join(repo, 'objects', d)
    if not re.match(r'^[0-9a-f]{2}$', d) or not os.path.isdir(dp):
        bad.append('stray entry objects/' + d); continue
    for n in os.listdir(dp):
        if not pat.match(n):
            bad.append('stray file objects/%s/%s' % (d, n)); continue
        rest, suffix = n.split('.')
        if suffix in ('commit', 'dirtree', 'dirmeta'):
            with open(os.path.join(dp, n), 'rb') as f:
                h = hashlib.sha256(f.read()).hexdigest()
            if h != d + rest:
                bad.append('objects/%s/%s hashes to %s' % (d, n, h))
print('\\n'.join(bad))
"""

/// Python: writes a big tree (many small files in 200 dirs plus several 1-8 MiB files).
private let bigTreeScript = """
import os, sys
d, n, big = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
os.makedirs(d, exist_ok=True)
for i in range(n):
    sub = os.path.join(d, 'd%03d' % (i % 200))
    os.makedirs(sub, exist_ok=True)
    with open(os.path.join(sub, 'f%05d' % i), 'wb') as f:
        f.write(b'file %d\\n' % i * (1 + i % 7))
for k in range(big):
    with open(os.path.join(d, 'big%d.bin' % k), 'wb') as f:
        f.write(os.urandom((1 + (k * 3) % 8) << 20))
"""

/// Python: changes a big tree so the next commit has new objects to write (two big files,
/// 500 changed small files, 300 new ones) while keeping the repository growth modest.
private let mutateTreeScript = """
import os, sys
d, tag = sys.argv[1], sys.argv[2]
bigs = sorted(n for n in os.listdir(d) if n.startswith('big'))
for name in bigs[:2]:
    size = os.path.getsize(os.path.join(d, name))
    with open(os.path.join(d, name), 'wb') as f:
        f.write(os.urandom(size))
for i in range(0, 20000, 40):
    p = os.path.join(d, 'd%03d' % (i % 200), 'f%05d' % i)
    if os.path.exists(p):
        with open(p, 'ab') as f:
            f.write(b'changed %s\\n' % tag.encode())
nd = os.path.join(d, 'new-' + tag)
os.makedirs(nd)
for i in range(300):
    with open(os.path.join(nd, 'n%04d' % i), 'wb') as f:
        f.write(b'%s %d\\n' % (tag.encode(), i))
"""

/// Python: holds an OFD lock on a file (w = exclusive, r = shared) until stdin closes.
private let lockHolderScript = """
import fcntl, os, struct, sys
fd = os.open(sys.argv[1], os.O_RDWR | os.O_CREAT, 0o640)
kind = fcntl.F_WRLCK if sys.argv[2] == 'w' else fcntl.F_RDLCK
fcntl.fcntl(fd, 37, struct.pack('hhqqi', kind, 0, 0, 0, 0))  # F_OFD_SETLK
print('locked', flush=True)
sys.stdin.read()
"""

/// Python: while process PID lives, tries a non-blocking exclusive OFD lock; prints "FAILS OKS".
private let lockPollerScript = """
import errno, fcntl, os, struct, sys, time
path, pid = sys.argv[1], int(sys.argv[2])
def alive():
    try:
        with open('/proc/%d/stat' % pid) as f:
            return f.read().rsplit(')', 1)[1].split()[0] != 'Z'
    except (FileNotFoundError, ProcessLookupError):
        return False
fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o640)
fails = oks = 0
while alive():
    try:
        fcntl.fcntl(fd, 37, struct.pack('hhqqi', fcntl.F_WRLCK, 0, 0, 0, 0))
        oks += 1
        fcntl.fcntl(fd, 37, struct.pack('hhqqi', fcntl.F_UNLCK, 0, 0, 0, 0))
    except OSError as e:
        if e.errno not in (errno.EAGAIN, errno.EACCES):
            raise
        fails += 1
    time.sleep(0.01)
print(fails, oks)
"""

/// Python: hand-crafts dirtrees and commits (normal-form GVariant) into a repo, one ref per case.
/// argv: repo, file checksum (a regular file), dirmeta checksum, symlink checksum.
/// Prints "CASE ROOT-DIRTREE COMMIT" lines.
private let craftScript = """
import hashlib, os, struct, sys
repo, filecs, metacs, linkcs = sys.argv[1:5]
def width(size, n):
    for w in (1, 2, 4, 8):
        if size + n * w < (1 << (8 * w)):
            return w
def offsets(ends, w):
    return b''.join(e.to_bytes(w, 'little') for e in ends)
def tup(children):  # [(bytes, alignment, fixed-size?)]
    out = b''; ends = []
    for i, (b, al, fixed) in enumerate(children):
        out += b'\\0' * ((-len(out)) % al)
        out += b
        if not fixed and i != len(children) - 1:
            ends.append(len(out))
    if not ends:
        return out
    return out + offsets(list(reversed(ends)), width(len(out), len(ends)))
def arr(elems, al=1):
    out = b''; ends = []
    for e in elems:
        out += b'\\0' * ((-len(out)) % al)
        out += e
        ends.append(len(out))
    if not ends:
        return b''
    return out + offsets(ends, width(len(out), len(ends)))
def s(text):
    return text.encode() + b'\\0'
def store(data, suffix):
    cs = hashlib.sha256(data).hexdigest()
    d = os.path.join(repo, 'objects', cs[:2])
    os.makedirs(d, exist_ok=True)
    p = os.path.join(d, cs[2:] + '.' + suffix)
    with open(p, 'wb') as f:
        f.write(data)
    os.chmod(p, 0o644)
    return cs
def dirtree(files, dirs):
    fs = [tup([(s(n), 1, False), (bytes.fromhex(c), 1, False)]) for n, c in sorted(files, key=lambda e: e[0].encode())]
    ds = [tup([(s(n), 1, False), (bytes.fromhex(t), 1, False), (bytes.fromhex(m), 1, False)])
          for n, t, m in sorted(dirs, key=lambda e: e[0].encode())]
    return store(tup([(arr(fs), 1, False), (arr(ds), 1, False)]), 'dirtree')
def commit(tree, subject):
    data = tup([(b'', 8, False), (b'', 1, False), (b'', 1, False), (s(subject), 1, False), (s(''), 1, False),
                (struct.pack('>Q', 1704067200), 8, True), (bytes.fromhex(tree), 1, False), (bytes.fromhex(metacs), 1, False)])
    return store(data, 'commit')
def sub(name):
    return dirtree([(name, filecs)], [])
cases = {
    'ok': ([('ok-name', filecs)], [('ok-dir', sub('inner'), metacs)]),
    'dotdot-dir': ([], [('..', sub('pwned-dotdot-dir'), metacs)]),
    'dotdot-file': ([('..', filecs)], []),
    'dot-dir': ([], [('.', sub('pwned-dot-dir'), metacs)]),
    'slash-file': ([('a/b', filecs)], []),
    'slash-escape-file': ([('../pwned-slash-file', filecs)], []),
    'slash-escape-dir': ([], [('x/../../pwned-slash-dir', sub('f'), metacs)]),
    'empty-name': ([('', filecs)], []),
    'name-in-both': ([('link', linkcs)], [('link', sub('pwned-both'), metacs)]),
}
os.makedirs(os.path.join(repo, 'refs', 'heads', 'crafted'), exist_ok=True)
for name, (files, dirs) in cases.items():
    tree = dirtree(files, dirs)
    c = commit(tree, name)
    with open(os.path.join(repo, 'refs', 'heads', 'crafted', name), 'w') as f:
        f.write(c + '\\n')
    print(name, tree, c)
"""

final class RobustnessTests: XCTestCase {

    /// A scratch directory for big trees: removed with a plain `rm -rf` first (registered after
    /// scratchDirectory's own teardown, so it runs before it and leaves it nothing slow to do).
    private func bigScratch(_ name: String) throws -> String {
        let path = try scratchDirectory(self, name)
        addTeardownBlock { _ = try? execute("rm", ["-rf", path], timeout: 300) }
        return path
    }

    /// A sample tree at `base/tree`.
    private func sampleTree(_ base: String) throws -> String {
        let tree = "\(base)/tree"
        try runScript("make-sample-tree.sh", [tree])
        return tree
    }

    // MARK: 1. Corrupt metadata objects

    func testCorruptMetadataObjectsFailCleanly() throws {
        for mode in ["bare", "archive"] {
            let base = try scratchDirectory(self, "arbor-robust-meta")
            let tree = try sampleTree(base)
            let repo = "\(base)/repo"
            try arborMust(["init", "--repo=\(repo)", "--mode=\(mode)"])
            let first = try arborMust(["commit", "--repo=\(repo)", "-b", "main", "-s", "first", tree])
            try writeText("\(tree)/added.txt", "added\n")
            let second = try arborMust(["commit", "--repo=\(repo)", "-b", "main", "-s", "second", tree])
            XCTAssertNotEqual(first, second)
            let sums = try treeChecksums(repo, "main")
            guard let subDir = sums["/sub/dir"], let sub = sums["/sub"], let root = sums["/"] else {
                return XCTFail("\(mode): unexpected ls output: \(sums)")
            }
            XCTAssertNotEqual(subDir[1], root[1], "sub/dir (0700) and / (0755) need distinct dirmeta")

            var counter = 0
            func dest() -> String { counter += 1; return "\(base)/co-\(counter)" }
            let readCommit: [[String]] = [["show", "main"], ["log", "main"], ["ls", "-R", "main"],
                                          ["cat", "main", "/sub/dir/nested.txt"], ["rev-parse", "main^"], ["checkout", "main"]]
            let readTree: [[String]] = [["ls", "-R", "main"], ["cat", "main", "/sub/dir/nested.txt"], ["checkout", "main"]]
            let readMeta: [[String]] = [["ls", "-R", "main"], ["checkout", "main"]]
            let targets: [(kind: String, checksum: String, other: String, commands: [[String]])] = [
                ("commit", second, objectPath(repo, first, "commit"), readCommit),
                ("dirtree", subDir[0], objectPath(repo, sub[0], "dirtree"), readTree),
                ("dirmeta", subDir[1], objectPath(repo, root[1], "dirmeta"), readMeta),
            ]
            for t in targets {
                let path = objectPath(repo, t.checksum, t.kind)
                let original = try readData(path)
                let other = try readData(t.other)
                XCTAssertNotEqual(original, other)
                var garbage = Data("garbage, not a GVariant at all \u{1}\u{2}\u{3}".utf8)
                garbage.append(contentsOf: (0..<61).map { _ in UInt8.random(in: 0...255) })
                var flipped = original
                flipped[flipped.count / 2] ^= 0x01
                let corruptions: [(String, Data)] = [
                    ("flipped byte", flipped),
                    ("truncated to half", original.prefix(original.count / 2)),
                    ("garbage", garbage),
                    ("another object's bytes", other),
                ]
                for (how, bytes) in corruptions {
                    try overwrite(path, with: bytes)
                    for cmd in t.commands {
                        var args = Array(cmd.prefix(1)) + ["--repo=\(repo)"] + Array(cmd.dropFirst())
                        var d: String?
                        if cmd[0] == "checkout" { d = dest(); args.append(d!) }
                        let o = try arborRun(args, timeout: 60)
                        assertCleanError(o, "\(mode) repo, \(t.kind) \(how): arbor \(args.joined(separator: " "))",
                                         mentions: [t.checksum])
                        if cmd[0] == "cat" {
                            XCTAssertTrue(o.stdoutData.isEmpty, "\(mode) \(t.kind) \(how): cat printed output from a corrupt tree")
                        }
                    }
                    try overwrite(path, with: original)
                }
                // Restored: everything works again.
                try arborMust(["ls", "--repo=\(repo)", "-R", "main"])
            }
            try arborMust(["checkout", "--repo=\(repo)", "main", dest()])
        }
    }

    // MARK: 2. Corrupt content objects

    func testCorruptContentObjects() throws {
        for mode in ["archive", "bare"] {
            let base = try scratchDirectory(self, "arbor-robust-content")
            let tree = try sampleTree(base)
            let big = Data((0..<300_000).map { _ in UInt8.random(in: 0...255) })
            try big.write(to: URL(fileURLWithPath: "\(tree)/big.bin"))
            let repo = "\(base)/repo"
            try arborMust(["init", "--repo=\(repo)", "--mode=\(mode)"])
            try arborMust(["commit", "--repo=\(repo)", "-b", "main", tree])
            let sums = try treeChecksums(repo, "main")
            guard let bigSum = sums["/big.bin"]?.first, let helloSum = sums["/hello.txt"]?.first else {
                return XCTFail("unexpected ls output: \(sums)")
            }
            let suffix = mode == "archive" ? "filez" : "file"
            let path = objectPath(repo, bigSum, suffix)
            let original = try readData(path)
            var flipped = original
            flipped[flipped.count / 2] ^= 0x20
            try overwrite(path, with: flipped)

            let cat = try arborRun(["cat", "--repo=\(repo)", "main", "/big.bin"])
            assertCleanError(cat, "\(mode): cat of a flipped content object", mentions: [bigSum])
            XCTAssertTrue(cat.stdoutData.isEmpty, "\(mode): cat printed \(cat.stdoutData.count) bytes of a corrupt object (help says it verifies first)")

            let copyArgs = mode == "archive" ? [String]() : ["-C"]
            let d1 = "\(base)/co-copy"
            let co = try arborRun(["checkout", "--repo=\(repo)"] + copyArgs + ["main", d1])
            assertCleanError(co, "\(mode): copying checkout of a flipped content object", mentions: [bigSum])
            if FileManager.default.fileExists(atPath: "\(d1)/big.bin") {
                XCTAssertEqual(try readData("\(d1)/big.bin"), big, "\(mode): checkout left big.bin with wrong content")
            }

            if mode == "bare" {
                // A hardlink checkout never reads content (as ostree).
                let d2 = "\(base)/co-link"
                try arborMust(["checkout", "--repo=\(repo)", "main", d2])
                var st = stat()
                XCTAssertEqual(lstat("\(d2)/big.bin", &st), 0)
                XCTAssertGreaterThan(st.st_nlink, 1, "bare checkout should hardlink")
            } else {
                // A truncated .filez: clean error from cat and checkout.
                try overwrite(path, with: original.prefix(original.count / 2))
                assertCleanError(try arborRun(["cat", "--repo=\(repo)", "main", "/big.bin"]),
                                 "archive: cat of a truncated .filez", mentions: [bigSum])
                assertCleanError(try arborRun(["checkout", "--repo=\(repo)", "main", "\(base)/co-trunc"]),
                                 "archive: checkout of a truncated .filez", mentions: [bigSum])
                if FileManager.default.fileExists(atPath: "\(base)/co-trunc/big.bin") {
                    XCTAssertEqual(try readData("\(base)/co-trunc/big.bin"), big, "archive: truncated object left wrong content")
                }
                // A truncated header (shorter than its own length prefix).
                let hello = objectPath(repo, helloSum, "filez")
                let helloBytes = try readData(hello)
                try overwrite(hello, with: helloBytes.prefix(6))
                assertCleanError(try arborRun(["cat", "--repo=\(repo)", "main", "/hello.txt"]),
                                 "archive: cat of a .filez cut inside its header", mentions: [helloSum])
                try overwrite(hello, with: helloBytes)
            }
            try overwrite(path, with: original)
            XCTAssertEqual(try arborRun(["cat", "--repo=\(repo)", "main", "/big.bin"]).stdoutData, big)
        }
    }

    // MARK: 3. Revisions and ref names

    func testUnknownAmbiguousAndInvalidRevisions() throws {
        let base = try scratchDirectory(self, "arbor-robust-refs")
        let tree = try sampleTree(base)
        let repo = "\(base)/repo"
        try arborMust(["init", "--repo=\(repo)", "--mode=bare"])
        let main = try arborMust(["commit", "--repo=\(repo)", "-b", "main", "-s", "main", tree])

        // Unknown refs.
        for cmd in [["rev-parse"], ["show"], ["log"], ["ls"], ["cat"], ["checkout"]] {
            var args = cmd + ["--repo=\(repo)", "no-such-branch"]
            if cmd[0] == "cat" { args.append("/hello.txt") }
            if cmd[0] == "checkout" { args.append("\(base)/co-unknown") }
            assertCleanError(try arborRun(args), "arbor \(args.joined(separator: " "))", mentions: ["no-such-branch"])
        }
        XCTAssertFalse(FileManager.default.fileExists(atPath: "\(base)/co-unknown"))
        assertCleanError(try arborRun(["rev-parse", "--repo=\(repo)", "origin:nope"]), "rev-parse origin:nope", mentions: ["nope"])

        // Ambiguous prefixes: commit until two commit checksums share two hex characters.
        var commits = [main]
        var pair: (String, String)?
        for i in 0..<120 where pair == nil {
            let c = try arborMust(["commit", "--repo=\(repo)", "-b", "probe", "-s", "probe \(i)", tree])
            if let other = commits.first(where: { $0.prefix(2) == c.prefix(2) }) { pair = (other, c) }
            commits.append(c)
        }
        if pair == nil, let c = commits.dropFirst().first(where: { c in commits.contains { $0 != c && $0.first == c.first } }) {
            pair = (commits.first { $0 != c && $0.first == c.first }!, c)
        }
        guard let (a, b) = pair else { return XCTFail("no two commits share a prefix: \(commits)") }
        let common = String(zip(a, b).prefix { $0 == $1 }.map { $0.0 })
        for n in 1...common.count {
            let prefix = String(common.prefix(n))
            let o = try arborRun(["rev-parse", "--repo=\(repo)", prefix])
            assertCleanError(o, "rev-parse ambiguous prefix \(prefix) (\(a) / \(b))", mentions: ["ambiguous"])
        }
        // The shortest unique prefix of each commit resolves to the full checksum.
        for c in [a, b, main] {
            var n = 1
            while commits.contains(where: { $0 != c && $0.hasPrefix(c.prefix(n)) }) { n += 1 }
            for len in [n, max(n, 8), 63] {
                let o = try arborRun(["rev-parse", "--repo=\(repo)", String(c.prefix(len))])
                XCTAssertEqual(o.status, 0, "rev-parse of unique prefix \(c.prefix(len)): \(o.summary)")
                XCTAssertEqual(o.stdout.trimmingCharacters(in: .whitespacesAndNewlines), c)
            }
        }
        XCTAssertEqual(try arborMust(["rev-parse", "--repo=\(repo)", "probe^"]), commits[commits.count - 2])

        // `refs` lists what is there (ref files end in a newline, as ostree writes them).
        let refs = try arborRun(["refs", "--repo=\(repo)"])
        XCTAssertEqual(refs.status, 0, "arbor refs failed on a healthy repo: \(refs.summary)")
        XCTAssertEqual(refs.stdout.split(separator: "\n").map(String.init), ["main", "probe"])

        // Invalid ref names: a validation error, and nothing written.
        try writeText("\(tree)/brand-new.txt", "content no object has yet \(UUID())\n")
        let objectsBefore = try listTree("\(repo)/objects")
        let refsBefore = try listTree("\(repo)/refs")
        for bad in ["bad..//ref", "/x", "x/", "a//b", "", "bad ref", ".hidden", "x/../y", "..", "a/./b", "tab\there", "colon:ref"] {
            let o = try arborRun(["commit", "--repo=\(repo)", "-b", bad, tree])
            assertCleanError(o, "commit -b \(bad.debugDescription)", statuses: [1, 2])
            // (REMOTE:REF is a valid refspec for refs --create, as in ostree; the empty name is a usage error.)
            if !bad.contains(":") && !bad.isEmpty {
                let r = try arborRun(["refs", "--repo=\(repo)", "--create=\(bad)", main])
                assertCleanError(r, "refs --create=\(bad.debugDescription)", statuses: [1, 2])
            }
        }
        XCTAssertEqual(try listTree("\(repo)/objects"), objectsBefore, "a commit with an invalid branch name wrote objects")
        XCTAssertEqual(try listTree("\(repo)/refs"), refsBefore, "an invalid ref name changed refs/")
        XCTAssertEqual(refValue(repo, "main"), main)
    }

    // MARK: 4. Unreadable source entries (FIFO, socket)

    func testCommitOfFifoOrSocketFailsWithoutPublishing() throws {
        let base = try bigScratch("arbor-robust-fifo")
        let tree = try sampleTree(base)
        let repo = "\(base)/repo"
        try arborMust(["init", "--repo=\(repo)", "--mode=bare"])
        let c1 = try arborMust(["commit", "--repo=\(repo)", "-b", "main", tree])
        // Plenty of new content, so hashing workers are busy when the special file is found.
        try python("""
        import os, sys
        d = os.path.join(sys.argv[1], 'zz-more'); os.makedirs(d)
        for i in range(800):
            with open(os.path.join(d, 'new-%d' % i), 'wb') as f: f.write(os.urandom(20000))
        """, [tree])
        let objectsBefore = try listTree("\(repo)/objects")

        let special = "\(tree)/sub/special"
        let makers: [(String, () throws -> Void)] = [
            ("FIFO", { XCTAssertEqual(mkfifo(special, 0o644), 0) }),
            ("socket", { try python("import socket, sys; s = socket.socket(socket.AF_UNIX); s.bind(sys.argv[1])", [special]) }),
        ]
        for (kind, make) in makers {
            try make()
            // The error path races with worker threads, so try it several times.
            let attempts = 15
            var bad: [Outcome] = []
            var last: Outcome?
            for _ in 0..<attempts {
                let o = try arborRun(["commit", "--repo=\(repo)", "-b", "main", "-s", "with a \(kind)", tree], timeout: 30)
                last = o
                let lines = o.stderr.split(separator: "\n")
                if o.signaled || o.timedOut || o.status != 1 || lines.count != 1 { bad.append(o) }
            }
            XCTAssertEqual(bad.count, 0, "\(kind): \(bad.count) of \(attempts) failing commits did not fail cleanly; e.g. \(bad.first?.summary.prefix(400) ?? "")")
            assertCleanError(bad.first ?? last!, "commit of a tree containing a \(kind)", mentions: ["sub/special"])
            XCTAssertEqual(refValue(repo, "main"), c1, "\(kind): failed commit moved the branch")
            XCTAssertEqual(try listTree("\(repo)/objects"), objectsBefore, "\(kind): failed commit published objects")
            try FileManager.default.removeItem(atPath: special)
        }
        let c2 = try arborMust(["commit", "--repo=\(repo)", "-b", "main", tree])
        XCTAssertNotEqual(c2, c1)
        XCTAssertEqual(refValue(repo, "main"), c2)
        let leftovers = entries("\(repo)/tmp").filter { $0.contains("staging") }
        XCTAssertEqual(leftovers, [], "staging leftovers in tmp/ after a successful commit")
        if let ostree = try? ostreePath() {
            let f = try execute(ostree, ["fsck", "--repo=\(repo)"])
            XCTAssertEqual(f.status, 0, "ostree fsck: \(f.stdout) \(f.stderr)")
        }
    }

    // MARK: 5. SIGKILL in the middle of a commit

    private func assertRepoSane(_ repo: String, ostree: String, _ what: String,
                                file: StaticString = #filePath, line: UInt = #line) throws {
        let f = try execute(ostree, ["fsck", "--repo=\(repo)"], timeout: 300)
        XCTAssertEqual(f.status, 0, "\(what): ostree fsck failed: \(f.stdout.suffix(2000)) \(f.stderr)", file: file, line: line)
        let bad = try python(objectNameCheck, [repo], file: file, line: line).trimmingCharacters(in: .whitespacesAndNewlines)
        XCTAssertEqual(bad, "", "\(what): bad loose objects:\n\(bad.prefix(3000))", file: file, line: line)
    }

    /// Starts `arbor commit` and SIGKILLs it after `delay` seconds; returns whether it had already exited.
    private func commitAndKill(_ args: [String], after delay: Double) throws -> Bool {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: arborBinary)
        p.arguments = args
        p.standardOutput = FileHandle.nullDevice
        p.standardError = FileHandle.nullDevice
        p.standardInput = FileHandle.nullDevice
        try p.run()
        usleep(useconds_t(delay * 1_000_000))
        let finished = !p.isRunning
        if !finished { kill(p.processIdentifier, SIGKILL) }
        p.waitUntilExit()
        return finished
    }

    func testSigkillMidCommitLeavesConsistentRepository() throws {
        let ostree = try ostreePath()
        let base = try bigScratch("arbor-robust-kill")
        let tree = "\(base)/tree"
        try python(bigTreeScript, [tree, "20000", "6"])
        let repo = "\(base)/repo"
        try arborMust(["init", "--repo=\(repo)", "--mode=bare"])
        var current = try arborMust(["commit", "--repo=\(repo)", "-b", "main", "-s", "initial", tree])
        var killedMidway = 0
        for (i, delay) in [0.05, 0.2, 0.45, 0.8, 1.5].enumerated() {
            try python(mutateTreeScript, [tree, "round\(i)"])
            let jittered = delay * Double.random(in: 0.8...1.2)
            let finished = try commitAndKill(["commit", "--repo=\(repo)", "-b", "main", "-s", "round \(i)", tree], after: jittered)
            if !finished { killedMidway += 1 }
            let what = "bare, kill after \(String(format: "%.2f", jittered)) s"
            try assertRepoSane(repo, ostree: ostree, what)
            guard let ref = refValue(repo, "main"), isHex64(ref) else { return XCTFail("\(what): main is not a checksum") }
            if ref != current {
                let parent = try arborMust(["rev-parse", "--repo=\(repo)", "main^"])
                XCTAssertEqual(parent, current, "\(what): main moved to a commit that is not the new one")
                current = ref
            }
        }
        XCTAssertGreaterThan(killedMidway, 0, "no kill landed while a commit was running")
        try python(mutateTreeScript, [tree, "final"])
        let after = try arborMust(["commit", "--repo=\(repo)", "-b", "main", "-s", "after kills", tree])
        XCTAssertEqual(refValue(repo, "main"), after)
        XCTAssertEqual(try arborMust(["rev-parse", "--repo=\(repo)", "main^"]), current)
        try assertRepoSane(repo, ostree: ostree, "bare, commit after the kills")
        XCTAssertEqual(entries("\(repo)/tmp").filter { $0.contains("staging") }, [], "staging leftovers after a clean commit")

        // Archive mode, once.
        let arepo = "\(base)/archive"
        try arborMust(["init", "--repo=\(arepo)", "--mode=archive"])
        let a1 = try arborMust(["commit", "--repo=\(arepo)", "-b", "main", tree])
        try python(mutateTreeScript, [tree, "archive"])
        _ = try commitAndKill(["commit", "--repo=\(arepo)", "-b", "main", tree], after: Double.random(in: 0.3...0.7))
        try assertRepoSane(arepo, ostree: ostree, "archive, killed commit")
        let ref = refValue(arepo, "main")
        if ref != a1 { XCTAssertEqual(try arborMust(["rev-parse", "--repo=\(arepo)", "main^"]), a1) }
        let a2 = try arborMust(["commit", "--repo=\(arepo)", "-b", "main", tree])
        XCTAssertEqual(refValue(arepo, "main"), a2)
        try assertRepoSane(arepo, ostree: ostree, "archive, commit after the kill")
    }

    // MARK: 6. Repository lock interop

    /// Starts the python lock holder and waits until it holds the lock.
    private func holdLock(_ path: String, exclusive: Bool) throws -> (Process, Pipe) {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        p.arguments = ["python3", "-c", lockHolderScript, path, exclusive ? "w" : "r"]
        let input = Pipe(), output = Pipe()
        p.standardInput = input
        p.standardOutput = output
        try p.run()
        var got = Data()
        while !String(decoding: got, as: UTF8.self).contains("locked") {
            let chunk = output.fileHandleForReading.availableData
            if chunk.isEmpty { break }
            got.append(chunk)
        }
        XCTAssertTrue(String(decoding: got, as: UTF8.self).contains("locked"), "the python lock holder did not take the lock")
        return (p, input)
    }

    private func release(_ holder: (Process, Pipe)) {
        try? holder.1.fileHandleForWriting.close()
        holder.0.waitUntilExit()
    }

    func testRepositoryLockInterop() throws {
        let base = try bigScratch("arbor-robust-lock")
        let tree = try sampleTree(base)
        let repo = "\(base)/repo"
        try arborMust(["init", "--repo=\(repo)", "--mode=bare"])
        let c1 = try arborMust(["commit", "--repo=\(repo)", "-b", "main", tree])
        let config = try String(contentsOfFile: "\(repo)/config", encoding: .utf8)
        XCTAssertTrue(config.contains("[core]"))
        try writeText("\(repo)/config", config + (config.hasSuffix("\n") ? "" : "\n") + "lock-timeout-secs=2\n")
        try writeText("\(tree)/changed.txt", "changed\n")

        // An exclusive lock held elsewhere: the commit gives up after the timeout.
        let exclusive = try holdLock("\(repo)/.lock", exclusive: true)
        let o = try arborRun(["commit", "--repo=\(repo)", "-b", "main", tree], timeout: 60)
        release(exclusive)
        assertCleanError(o, "commit while another process holds the exclusive repo lock", mentions: ["locked"])
        XCTAssertLessThan(o.seconds, 10, "lock-timeout-secs=2 was not honoured")
        XCTAssertGreaterThanOrEqual(o.seconds, 1.5, "arbor gave up before the lock timeout")
        XCTAssertEqual(refValue(repo, "main"), c1)

        // A shared lock held elsewhere does not stop a commit.
        let shared = try holdLock("\(repo)/.lock", exclusive: false)
        let c2 = try arborRun(["commit", "--repo=\(repo)", "-b", "main", tree], timeout: 60)
        release(shared)
        XCTAssertEqual(c2.status, 0, "commit under another process's shared lock: \(c2.summary)")
        XCTAssertEqual(refValue(repo, "main"), c2.stdout.trimmingCharacters(in: .whitespacesAndNewlines))

        // While arbor commits, it holds a shared lock: an exclusive attempt must fail.
        let big = "\(base)/big"
        try python(bigTreeScript, [big, "5000", "2"])
        let p = Process()
        p.executableURL = URL(fileURLWithPath: arborBinary)
        p.arguments = ["commit", "--repo=\(repo)", "-b", "big", big]
        p.standardOutput = FileHandle.nullDevice
        p.standardError = FileHandle.nullDevice
        p.standardInput = FileHandle.nullDevice
        try p.run()
        let polled = try python(lockPollerScript, [repo + "/.lock", String(p.processIdentifier)], timeout: 120)
        p.waitUntilExit()
        XCTAssertEqual(p.terminationStatus, 0, "the background commit failed")
        let counts = polled.split(whereSeparator: { $0 == " " || $0 == "\n" }).compactMap { Int($0) }
        XCTAssertEqual(counts.count, 2, "poller output: \(polled)")
        XCTAssertGreaterThan(counts.first ?? 0, 0, "no exclusive lock attempt failed while arbor committed (fails/oks: \(polled))")
        XCTAssertTrue(isHex64(refValue(repo, "big") ?? ""))
    }

    // MARK: 7. Hostile trees and checkout safety

    func testHostileSymlinksAndUnionCheckoutStayInsideDestination() throws {
        let ostree = try ostreePath()
        let base = try scratchDirectory(self, "arbor-robust-hostile")
        let outside = "\(base)/outside"
        let tree = try sampleTree(base)
        try FileManager.default.createSymbolicLink(atPath: "\(tree)/evil", withDestinationPath: "\(outside)/somewhere-outside")
        try FileManager.default.createSymbolicLink(atPath: "\(tree)/up", withDestinationPath: "../../..")
        try FileManager.default.createSymbolicLink(atPath: "\(tree)/sub/abs-dir", withDestinationPath: outside)
        try FileManager.default.createDirectory(atPath: "\(tree)/zz-dir/inner", withIntermediateDirectories: true)
        try writeText("\(tree)/zz-dir/inner/file.txt", "inner\n")
        let repo = "\(base)/repo"
        XCTAssertEqual(try execute(ostree, ["init", "--repo=\(repo)", "--mode=bare"]).status, 0)
        let commit = try execute(ostree, ["commit", "--repo=\(repo)", "-b", "hostile", "-s", "hostile", tree])
        XCTAssertEqual(commit.status, 0, commit.stderr)

        for copy in [false, true] {
            let dest = "\(base)/co-\(copy)/dest"
            try FileManager.default.createDirectory(atPath: "\(base)/co-\(copy)", withIntermediateDirectories: true)
            try arborMust(["checkout", "--repo=\(repo)"] + (copy ? ["-C"] : []) + ["hostile", dest])
            XCTAssertFalse(FileManager.default.fileExists(atPath: outside), "checkout created \(outside)")
            XCTAssertEqual(entries("\(base)/co-\(copy)"), ["dest"])
            XCTAssertEqual(try FileManager.default.destinationOfSymbolicLink(atPath: "\(dest)/evil"), "\(outside)/somewhere-outside")
            XCTAssertEqual(try FileManager.default.destinationOfSymbolicLink(atPath: "\(dest)/up"), "../../..")
            XCTAssertEqual(try String(contentsOfFile: "\(dest)/zz-dir/inner/file.txt", encoding: .utf8), "inner\n")
        }
        // A subpath through a symlink must not be followed out of the tree.
        let viaLink = try arborRun(["checkout", "--repo=\(repo)", "--subpath=/sub/abs-dir", "hostile", "\(base)/co-sub"])
        if viaLink.status == 0 {
            XCTAssertFalse(FileManager.default.fileExists(atPath: outside), "--subpath through a symlink created the outside dir")
        } else {
            assertCleanError(viaLink, "checkout --subpath through a symlink")
        }

        // Union checkout over a destination whose directories and files are symlinks to the outside.
        try FileManager.default.createDirectory(atPath: outside, withIntermediateDirectories: true)
        let victim = "\(base)/victim.txt"
        try writeText(victim, "victim\n")
        let union = "\(base)/union"
        try FileManager.default.createDirectory(atPath: union, withIntermediateDirectories: true)
        try FileManager.default.createSymbolicLink(atPath: "\(union)/sub", withDestinationPath: outside)
        try FileManager.default.createSymbolicLink(atPath: "\(union)/hello.txt", withDestinationPath: victim)
        try FileManager.default.createSymbolicLink(atPath: "\(union)/zz-dir", withDestinationPath: outside)
        let u = try arborRun(["checkout", "--repo=\(repo)", "--union", "hostile", union])
        XCTAssertFalse(u.signaled)
        XCTAssertEqual(entries(outside), [], "union checkout wrote through a symlink into \(outside)")
        XCTAssertEqual(try String(contentsOfFile: victim, encoding: .utf8), "victim\n", "union checkout overwrote a file outside DEST")
        if u.status == 0 {
            var st = stat()
            XCTAssertEqual(lstat("\(union)/sub", &st), 0)
            XCTAssertEqual(st.st_mode & S_IFMT, S_IFDIR, "union: sub should have been replaced by a directory")
            XCTAssertEqual(lstat("\(union)/hello.txt", &st), 0)
            XCTAssertEqual(st.st_mode & S_IFMT, S_IFREG, "union: hello.txt should have been replaced by a file")
            XCTAssertEqual(try String(contentsOfFile: "\(union)/sub/dir/nested.txt", encoding: .utf8), "nested file\n")
        } else {
            assertCleanError(u, "union checkout over symlinks")
        }
        // Same with a deeper symlinked directory.
        let union2 = "\(base)/union2"
        try FileManager.default.createDirectory(atPath: "\(union2)/sub", withIntermediateDirectories: true)
        try FileManager.default.createSymbolicLink(atPath: "\(union2)/sub/dir", withDestinationPath: outside)
        let u2 = try arborRun(["checkout", "--repo=\(repo)", "--union", "-C", "hostile", union2])
        XCTAssertFalse(u2.signaled)
        XCTAssertEqual(entries(outside), [], "union -C checkout wrote through sub/dir into \(outside)")
        if u2.status != 0 { assertCleanError(u2, "union checkout over sub/dir symlink") }
    }

    func testHandCraftedDirtreesWithBadNamesAreRefused() throws {
        let base = try scratchDirectory(self, "arbor-robust-craft")
        let outside = "\(base)/outside-dir"
        try FileManager.default.createDirectory(atPath: outside, withIntermediateDirectories: true)
        let tree = try sampleTree(base)
        try FileManager.default.createSymbolicLink(atPath: "\(tree)/esc", withDestinationPath: outside)
        let repo = "\(base)/repo"
        try arborMust(["init", "--repo=\(repo)", "--mode=bare"])
        try arborMust(["commit", "--repo=\(repo)", "-b", "main", tree])
        let sums = try treeChecksums(repo, "main")
        guard let hello = sums["/hello.txt"]?.first, let meta = sums["/"]?[1], let esc = sums["/esc"]?.first else {
            return XCTFail("unexpected ls output \(sums)")
        }
        let crafted = try python(craftScript, [repo, hello, meta, esc])
        var cases: [String: (tree: String, commit: String)] = [:]
        for line in crafted.split(separator: "\n") {
            let f = line.split(separator: " ").map(String.init)
            if f.count == 3 { cases[f[0]] = (f[1], f[2]) }
        }
        XCTAssertEqual(cases.count, 9, crafted)

        // The control case proves the hand-made encoding is valid.
        guard let ok = cases["ok"] else { return XCTFail("no control case") }
        if let ostree = try? ostreePath() {
            let r = try execute(ostree, ["ls", "--repo=\(repo)", "-R", "crafted/ok"])
            XCTAssertEqual(r.status, 0, "ostree rejects the control dirtree: \(r.stderr)")
        }
        XCTAssertEqual(try arborMust(["rev-parse", "--repo=\(repo)", "crafted/ok"]), ok.commit)
        try arborMust(["ls", "--repo=\(repo)", "-R", "crafted/ok"])
        try FileManager.default.createDirectory(atPath: "\(base)/co-ok", withIntermediateDirectories: true)
        try arborMust(["checkout", "--repo=\(repo)", "crafted/ok", "\(base)/co-ok/dest"])
        XCTAssertTrue(FileManager.default.fileExists(atPath: "\(base)/co-ok/dest/ok-dir/inner"))

        for (name, c) in cases.sorted(by: { $0.key < $1.key }) where name != "ok" {
            let ls = try arborRun(["ls", "--repo=\(repo)", "-R", "crafted/\(name)"])
            assertCleanError(ls, "ls -R of crafted dirtree '\(name)'", mentions: [c.tree])
            let parent = "\(base)/co-\(name)"
            try FileManager.default.createDirectory(atPath: parent, withIntermediateDirectories: true)
            let dest = "\(parent)/dest"
            let co = try arborRun(["checkout", "--repo=\(repo)", "crafted/\(name)", dest])
            assertCleanError(co, "checkout of crafted dirtree '\(name)'", mentions: [c.tree])
            let coU = try arborRun(["checkout", "--repo=\(repo)", "--union", "-C", "crafted/\(name)", dest])
            assertCleanError(coU, "union copy checkout of crafted dirtree '\(name)'", mentions: [c.tree])
            // Nothing outside DEST.
            XCTAssertTrue(Set(entries(parent)).isSubset(of: ["dest"]), "\(name): checkout wrote next to DEST: \(entries(parent))")
            XCTAssertEqual(entries(outside), [], "\(name): checkout wrote through a symlink into \(outside)")
            let stray = try execute("find", [base, "-name", "pwned*", "-not", "-path", "\(dest)/*"]).stdout
            XCTAssertEqual(stray, "", "\(name): files written outside DEST")
        }
    }

    // MARK: 8. Not a repository, broken config

    func testNotARepositoryOrBrokenConfig() throws {
        let base = try scratchDirectory(self, "arbor-robust-norepo")
        let missing = "/nonexistent-\(UUID().uuidString)"
        assertCleanError(try arborRun(["ls", "--repo=\(missing)", "x"]), "ls --repo=\(missing)", mentions: [missing])
        assertCleanError(try arborRun(["ls", "--repo=/nonexistent", "x"]), "ls --repo=/nonexistent")

        let empty = "\(base)/empty"
        try FileManager.default.createDirectory(atPath: empty, withIntermediateDirectories: true)
        for cmd in [["ls", "x"], ["show", "x"], ["log", "x"], ["rev-parse", "x"], ["refs"], ["cat", "x", "/f"]] {
            let args = [cmd[0], "--repo=\(empty)"] + Array(cmd.dropFirst())
            assertCleanError(try arborRun(args), "arbor \(args.joined(separator: " ")) on a dir without config")
        }
        // Usage errors are one line too (exit 2).
        for args in [["ls", "--repo=\(empty)"], ["commit", "-b", "x", "--no-such-option"], ["checkout", "--repo=\(empty)", "onlyrev"]] {
            assertCleanError(try arborRun(args), "usage error: arbor \(args.joined(separator: " "))", statuses: [2])
        }
        let plainFile = "\(base)/plain-file"
        try writeText(plainFile, "not a repo\n")
        assertCleanError(try arborRun(["ls", "--repo=\(plainFile)", "x"]), "ls --repo=<regular file>")

        let tree = try sampleTree(base)
        let configs: [(String, Data)] = [
            ("binary garbage", Data([0x00, 0xff, 0xfe, 0x5b, 0x5b, 0x0a, 0x01, 0x02]) + Data("\u{7}[[[core\n=\n".utf8)),
            ("repo_version=2", Data("[core]\nrepo_version=2\nmode=bare\n".utf8)),
            ("unknown mode", Data("[core]\nrepo_version=1\nmode=frobnicated\n".utf8)),
            ("old archive=true key", Data("[core]\nrepo_version=1\narchive=true\n".utf8)),
            ("empty config", Data()),
        ]
        for (i, (what, bytes)) in configs.enumerated() {
            let repo = "\(base)/repo-\(i)"
            try arborMust(["init", "--repo=\(repo)", "--mode=bare"])
            try bytes.write(to: URL(fileURLWithPath: "\(repo)/config"))
            assertCleanError(try arborRun(["ls", "--repo=\(repo)", "x"]), "ls with config: \(what)")
            assertCleanError(try arborRun(["commit", "--repo=\(repo)", "-b", "main", tree]), "commit with config: \(what)")
            XCTAssertNil(refValue(repo, "main"), "\(what): a commit went through")
        }
    }
}
