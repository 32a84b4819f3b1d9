// Reliability under crashes, full disks, read-only filesystems and concurrency: the short crash
// torture (scripts/torture.sh --short), commit/pull/deploy on a small tmpfs that fills up and on a
// read-only remount, and two writers at once. The invariants are those of the torture script
// (its checker is reused): `arbor fsck` and `ostree fsck` pass, every ref names a complete
// commit, every object's name is its checksum, boot sets are complete, nothing is lost.
import Foundation
import XCTest

// MARK: - Shared helpers (also used by PathSecurityTests)

enum TortureKit {
    /// The outcome of a process.
    struct Outcome {
        var status: Int32
        var signaled: Bool
        var timedOut: Bool
        var stdout: String
        var stderr: String

        var out: String { stdout.trimmingCharacters(in: .whitespacesAndNewlines) }
        var summary: String {
            "status \(status)\(signaled ? " (signal)" : "")\(timedOut ? " (timed out)" : ""); stderr: \(stderr.trimmingCharacters(in: .whitespacesAndNewlines).suffix(1500))"
        }
    }

    private final class Box: @unchecked Sendable {
        let lock = NSLock()
        var data = Data()
        var timedOut = false
    }

    /// Runs a program with a watchdog that SIGKILLs it after `timeout` seconds.
    static func exec(_ program: String, _ args: [String], env: [String: String] = [:], timeout: Double = 300) throws -> Outcome {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: program.hasPrefix("/") ? program : "/usr/bin/env")
        p.arguments = program.hasPrefix("/") ? args : [program] + args
        var environment = ProcessInfo.processInfo.environment
        environment["SWIFT_BACKTRACE"] = "enable=no"
        environment["PATH"] = (environment["PATH"] ?? "/usr/bin:/bin") + ":/usr/sbin:/sbin"
        for (k, v) in env { environment[k] = v }
        p.environment = environment
        let out = Pipe(), err = Pipe()
        p.standardOutput = out
        p.standardError = err
        p.standardInput = FileHandle.nullDevice
        try p.run()
        let pid = p.processIdentifier
        let done = DispatchSemaphore(value: 0)
        let box = Box(), errBox = Box()
        DispatchQueue.global().async {
            if done.wait(timeout: .now() + timeout) == .timedOut {
                box.lock.lock(); box.timedOut = true; box.lock.unlock()
                kill(pid, SIGKILL)
            }
        }
        let group = DispatchGroup()
        group.enter()
        DispatchQueue.global().async {
            errBox.data = err.fileHandleForReading.readDataToEndOfFile()
            group.leave()
        }
        let outData = out.fileHandleForReading.readDataToEndOfFile()
        group.wait()
        p.waitUntilExit()
        done.signal()
        box.lock.lock(); let timedOut = box.timedOut; box.lock.unlock()
        return Outcome(status: p.terminationStatus, signaled: p.terminationReason == .uncaughtSignal, timedOut: timedOut,
                       stdout: String(decoding: outData, as: UTF8.self), stderr: String(decoding: errBox.data, as: UTF8.self))
    }

    /// Runs `arbor`.
    static func arbor(_ args: [String], env: [String: String] = [:], timeout: Double = 300) throws -> Outcome {
        try exec(arborBinary, args, env: env, timeout: timeout)
    }

    /// Runs `arbor` and fails the test unless it exits 0; returns trimmed stdout.
    @discardableResult
    static func arborMust(_ args: [String], env: [String: String] = [:], file: StaticString = #filePath, line: UInt = #line) throws -> String {
        let o = try arbor(args, env: env)
        XCTAssertEqual(o.status, 0, "arbor \(args.joined(separator: " ")): \(o.summary)", file: file, line: line)
        return o.out
    }

    /// Runs a shell command and fails the test unless it exits 0; returns stdout.
    @discardableResult
    static func sh(_ command: String, file: StaticString = #filePath, line: UInt = #line) throws -> String {
        let o = try exec("/bin/sh", ["-c", command])
        XCTAssertEqual(o.status, 0, "sh -c \(command): \(o.summary)", file: file, line: line)
        return o.stdout
    }

    /// Asserts a clean failure: exit 1, no signal, one stderr line `arbor: error: ...` naming one of `mentionsAny`.
    static func assertCleanError(_ o: Outcome, _ what: String, mentionsAny: [String] = [],
                                 file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertFalse(o.signaled || o.timedOut, "\(what): crashed or hung: \(o.summary)", file: file, line: line)
        XCTAssertEqual(o.status, 1, "\(what): expected exit 1: \(o.summary)", file: file, line: line)
        let lines = o.stderr.split(separator: "\n", omittingEmptySubsequences: true)
        XCTAssertEqual(lines.count, 1, "\(what): expected one stderr line: \(o.stderr)", file: file, line: line)
        XCTAssertTrue(lines.first?.hasPrefix("arbor: error: ") ?? false, "\(what): \(o.stderr)", file: file, line: line)
        if !mentionsAny.isEmpty {
            XCTAssertTrue(mentionsAny.contains { o.stderr.contains($0) }, "\(what): the error names none of \(mentionsAny): \(o.stderr)", file: file, line: line)
        }
    }

    /// Runs python code with the torture checker importable as `torture` (argv[1...] = args).
    static func python(_ code: String, _ args: [String], file: StaticString = #filePath, line: UInt = #line) throws -> String {
        let prelude = "import sys, os, json\nsys.path.insert(0, \(pyString(packageRoot.appendingPathComponent("scripts").path)))\nimport torture\n"
        let o = try exec("python3", ["-c", prelude + code] + args)
        XCTAssertEqual(o.status, 0, "python helper failed: \(o.summary)", file: file, line: line)
        return o.stdout
    }

    private static func pyString(_ s: String) -> String {
        "'" + s.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "'", with: "\\'") + "'"
    }

    /// The torture script's repository invariants; an empty list when they hold.
    static func repoViolations(_ repo: String, file: StaticString = #filePath, line: UInt = #line) throws -> [String] {
        let ostree = try ostreePath(file: file, line: line)
        let out = try python("""
            r = torture.Runner(sys.argv[1], sys.argv[2], False)
            print('\\n'.join(torture.RepoChecker(r).check(sys.argv[3], os.path.basename(sys.argv[3]))))
            """, [arborBinary, ostree, repo], file: file, line: line)
        return out.split(separator: "\n").map(String.init).filter { !$0.isEmpty }
    }

    static func assertRepoSane(_ repo: String, _ what: String, file: StaticString = #filePath, line: UInt = #line) throws {
        let bad = try repoViolations(repo, file: file, line: line)
        XCTAssertEqual(bad, [], "\(what): repository invariants", file: file, line: line)
    }

    /// The sysroot's boot set (torture.boot_state): loader, deployments in boot order and a fingerprint;
    /// also checks that `ostree admin status` and `arbor admin status` agree with it.
    static func bootSet(_ sysroot: String, file: StaticString = #filePath, line: UInt = #line) throws -> (fingerprint: String, order: [String], problems: [String]) {
        let ostree = try ostreePath(file: file, line: line)
        let out = try python("""
            r = torture.Runner(sys.argv[1], sys.argv[2], False)
            try:
                st = torture.boot_state(sys.argv[3])
                names = torture.SysrootChecker(r, torture.RepoChecker(r)).status_names(sys.argv[3])
                want = ['%s %s' % (d.split('/')[0], d.split('/')[-1]) for d in st['order']]
                probs = [] if names == want else ['status %s, entries %s' % (names, want)]
                print(json.dumps({'fp': torture.fingerprint(st), 'order': st['order'], 'problems': probs}))
            except torture.Violation as v:
                print(json.dumps({'fp': '', 'order': [], 'problems': [str(v)]}))
            """, [arborBinary, ostree, sysroot], file: file, line: line)
        guard let obj = try JSONSerialization.jsonObject(with: Data(out.utf8)) as? [String: Any] else {
            XCTFail("boot set: \(out)", file: file, line: line)
            return ("", [], ["unreadable"])
        }
        return (obj["fp"] as? String ?? "", obj["order"] as? [String] ?? [], obj["problems"] as? [String] ?? [])
    }

    /// Mounts a tmpfs of `size` (e.g. "8m") at `dir/mnt`; unmounted when the test ends.
    static func mountTmpfs(_ test: XCTestCase, _ dir: String, size: String) throws -> String {
        try XCTSkipUnless(isRoot, "mounting a tmpfs needs root")
        let mnt = "\(dir)/mnt"
        try FileManager.default.createDirectory(atPath: mnt, withIntermediateDirectories: true)
        let o = try exec("mount", ["-t", "tmpfs", "-o", "size=\(size),mode=0755", "tmpfs", mnt])
        if o.status != 0 { throw XCTSkip("cannot mount a tmpfs here: \(o.stderr)") }
        // Registered after scratchDirectory's teardown, so it runs first (teardown blocks run last-in first-out).
        test.addTeardownBlock {
            _ = try? exec("chattr", ["-R", "-f", "-i", mnt])
            if (try? exec("umount", [mnt]))?.status != 0 { _ = try? exec("umount", ["-l", mnt]) }
        }
        return mnt
    }

    static func remount(_ mnt: String, _ options: String, file: StaticString = #filePath, line: UInt = #line) throws {
        let o = try exec("mount", ["-o", "remount,\(options)", mnt])
        XCTAssertEqual(o.status, 0, "remount \(options): \(o.summary)", file: file, line: line)
    }

    /// Writes `bytes` random bytes to `path`.
    static func randomFile(_ path: String, bytes: Int) throws {
        try FileManager.default.createDirectory(atPath: (path as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
        var g = SystemRandomNumberGenerator()
        var d = Data(count: bytes)
        d.withUnsafeMutableBytes { raw in
            let words = raw.bindMemory(to: UInt64.self)
            for i in 0..<words.count { words[i] = g.next() }
        }
        try d.write(to: URL(fileURLWithPath: path))
    }

    /// Copies a demo tree to `dest` (a plain copy the test may change).
    static func copyTree(_ name: String, to dest: String) throws {
        try sh("mkdir -p '\(dest)' && cp -a '\(packageRoot.appendingPathComponent("trees/\(name)").path)/.' '\(dest)/'")
    }

    static func ref(_ repo: String, _ name: String) -> String? {
        (try? String(contentsOfFile: "\(repo)/refs/heads/\(name)", encoding: .utf8))?.trimmingCharacters(in: .whitespacesAndNewlines)
    }

    static func stagingLeftovers(_ repo: String) -> [String] {
        ((try? FileManager.default.contentsOfDirectory(atPath: "\(repo)/tmp")) ?? []).filter { $0.contains("staging") }.sorted()
    }

    /// Starts `arbor` in the background.
    static func start(_ args: [String], env: [String: String] = [:]) throws -> (Process, Pipe, Pipe) {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: arborBinary)
        p.arguments = args
        var environment = ProcessInfo.processInfo.environment
        environment["SWIFT_BACKTRACE"] = "enable=no"
        for (k, v) in env { environment[k] = v }
        p.environment = environment
        let out = Pipe(), err = Pipe()
        p.standardOutput = out
        p.standardError = err
        p.standardInput = FileHandle.nullDevice
        try p.run()
        return (p, out, err)
    }

    /// Waits for a background `arbor` and returns its outcome.
    static func finish(_ h: (Process, Pipe, Pipe)) -> Outcome {
        let errBox = Box()
        let group = DispatchGroup()
        group.enter()
        DispatchQueue.global().async {
            errBox.data = h.2.fileHandleForReading.readDataToEndOfFile()
            group.leave()
        }
        let outData = h.1.fileHandleForReading.readDataToEndOfFile()
        group.wait()
        h.0.waitUntilExit()
        return Outcome(status: h.0.terminationStatus, signaled: h.0.terminationReason == .uncaughtSignal, timedOut: false,
                       stdout: String(decoding: outData, as: UTF8.self), stderr: String(decoding: errBox.data, as: UTF8.self))
    }

    /// Success, or a clean failure that says the repository or sysroot was locked.
    static func assertDoneOrLocked(_ o: Outcome, _ what: String, file: StaticString = #filePath, line: UInt = #line) {
        if o.status != 0 { assertCleanError(o, what, mentionsAny: ["locked"], file: file, line: line) }
    }
}

private let K = TortureKit.self

final class TortureTests: XCTestCase {
    let os = "testos"

    // MARK: 1. The short crash torture

    func testShortTortureHasNoViolations() throws {
        try XCTSkipUnless(isRoot, "the torture needs root")
        _ = try ostreePath()
        let o = try K.exec("/bin/bash", [packageRoot.appendingPathComponent("scripts/torture.sh").path, "--short"],
                           env: ["ARBOR": arborBinary], timeout: 1200)
        XCTAssertEqual(o.status, 0, "torture.sh --short: \(o.summary)\n\(o.stdout)")
        // | operation | kills | invariant violations | recoveries |
        var rows: [String: [Int]] = [:]
        for line in o.stdout.split(separator: "\n") where line.hasPrefix("| ") {
            let cells = line.split(separator: "|").map { $0.trimmingCharacters(in: .whitespaces) }
            let numbers = cells.dropFirst().compactMap { Int($0) }
            if numbers.count == 3 { rows[cells[0]] = numbers }
        }
        XCTAssertEqual(Set(rows.keys), ["commit (directory)", "commit (tarball)", "pull", "prune", "admin deploy", "admin upgrade", "admin rollback"],
                       "table rows: \(o.stdout)")
        for (op, n) in rows {
            XCTAssertEqual(n[0], 10, "\(op): kills")
            XCTAssertEqual(n[1], 0, "\(op): invariant violations\n\(o.stderr.suffix(4000))")
            XCTAssertEqual(n[2], 10, "\(op): recoveries")
        }
        XCTAssertTrue(o.stdout.contains("total invariant violations: 0"), o.stdout)
    }

    // MARK: 3. Disk full

    private let noSpace = ["No space left on device", "not enough space"]

    func testCommitLargerThanTheFilesystemFailsCleanlyAndSucceedsWithSpace() throws {
        _ = try ostreePath()
        let base = try scratchDirectory(self, "arbor-torture-full")
        let mnt = try K.mountTmpfs(self, base, size: "8m")
        let repo = "\(mnt)/repo"
        try K.arborMust(["init", "--repo=\(repo)", "--mode=bare"])
        let tree = "\(base)/tree"
        try K.copyTree("demo-1.0", to: tree)
        let c1 = try K.arborMust(["commit", "--repo=\(repo)", "-b", "main", tree])
        // Bigger than the whole filesystem: 12 MiB of random bytes (many files and one big one).
        for i in 0..<40 { try K.randomFile("\(tree)/usr/share/big/part\(i)", bytes: 100_000) }
        try K.randomFile("\(tree)/usr/share/big/blob", bytes: 8 << 20)
        let o = try K.arbor(["commit", "--repo=\(repo)", "-b", "main", tree])
        K.assertCleanError(o, "commit bigger than the filesystem", mentionsAny: noSpace)
        XCTAssertEqual(K.ref(repo, "main"), c1, "a failed commit moved the ref")
        try K.assertRepoSane(repo, "after ENOSPC")
        XCTAssertEqual(K.stagingLeftovers(repo), [], "the failed commit left its staging directory behind")
        // More room: the same commit succeeds, and nothing of the failed one is visible.
        try K.remount(mnt, "size=64m")
        let c2 = try K.arborMust(["commit", "--repo=\(repo)", "-b", "main", tree])
        XCTAssertEqual(K.ref(repo, "main"), c2)
        XCTAssertEqual(try K.arborMust(["rev-parse", "--repo=\(repo)", "main^"]), c1)
        try K.assertRepoSane(repo, "after the commit with room")
        XCTAssertEqual(K.stagingLeftovers(repo), [])
    }

    func testCommitIntoAFilledFilesystemRecoversOnceTheBallastIsDeleted() throws {
        _ = try ostreePath()
        let base = try scratchDirectory(self, "arbor-torture-ballast")
        let mnt = try K.mountTmpfs(self, base, size: "8m")
        for mode in ["bare", "archive"] {
            let repo = "\(mnt)/repo-\(mode)"
            try K.arborMust(["init", "--repo=\(repo)", "--mode=\(mode)"])
            let tree = "\(base)/tree-\(mode)"
            try K.copyTree("demo-1.0", to: tree)
            let c1 = try K.arborMust(["commit", "--repo=\(repo)", "-b", "main", tree])
            for i in 0..<20 { try K.randomFile("\(tree)/usr/share/data/f\(i)", bytes: 100_000) }
            // Fill the filesystem up, leaving less than the new content needs.
            _ = try K.exec("dd", ["if=/dev/zero", "of=\(mnt)/ballast", "bs=64k"])
            try? FileManager.default.removeItem(atPath: "\(mnt)/ballast-small")
            _ = try K.exec("sh", ["-c", "rm -f '\(mnt)/ballast' && dd if=/dev/zero of='\(mnt)/ballast' bs=1k count=$(( $(df -k --output=avail '\(mnt)' | tail -1) - 600 ))"])
            let o = try K.arbor(["commit", "--repo=\(repo)", "-b", "main", tree])
            K.assertCleanError(o, "\(mode): commit into a full filesystem", mentionsAny: noSpace)
            XCTAssertEqual(K.ref(repo, "main"), c1, "\(mode): a failed commit moved the ref")
            try K.assertRepoSane(repo, "\(mode): after ENOSPC")
            try FileManager.default.removeItem(atPath: "\(mnt)/ballast")
            let c2 = try K.arborMust(["commit", "--repo=\(repo)", "-b", "main", tree])
            XCTAssertEqual(K.ref(repo, "main"), c2)
            try K.assertRepoSane(repo, "\(mode): after freeing space")
            XCTAssertEqual(K.stagingLeftovers(repo), [], "\(mode): staging leftovers after a successful commit")
            try? FileManager.default.removeItem(atPath: repo)
        }
    }

    /// An archive repository on the big disk with `main` = demo-1.0 plus `extra` bytes; a file:// remote URL.
    private func makeServer(_ base: String, extraBytes: Int) throws -> (repo: String, url: String, commit: String) {
        let server = "\(base)/server"
        try K.arborMust(["init", "--repo=\(server)", "--mode=archive"])
        let tree = "\(base)/server-tree"
        try K.copyTree("demo-1.0", to: tree)
        for i in 0..<max(1, extraBytes / 200_000) { try K.randomFile("\(tree)/usr/share/payload/p\(i)", bytes: 200_000) }
        let c = try K.arborMust(["commit", "--repo=\(server)", "-b", "main", tree])
        try K.arborMust(["summary", "--repo=\(server)", "-u"])
        return (server, "file://\(server)", c)
    }

    func testPullIntoAFullFilesystemFailsCleanlyAndResumes() throws {
        _ = try ostreePath()
        let base = try scratchDirectory(self, "arbor-torture-pullfull")
        let server = try makeServer(base, extraBytes: 12 << 20)
        let mnt = try K.mountTmpfs(self, base, size: "8m")
        let repo = "\(mnt)/client"
        try K.arborMust(["init", "--repo=\(repo)", "--mode=bare"])
        try K.arborMust(["remote", "add", "--repo=\(repo)", "--no-sign-verify", "origin", server.url])
        let o = try K.arbor(["pull", "--repo=\(repo)", "origin", "main"])
        K.assertCleanError(o, "pull into a full filesystem", mentionsAny: noSpace)
        XCTAssertNil(K.ref(repo, "../remotes/origin/main"), "a failed pull wrote the ref")
        try K.assertRepoSane(repo, "after a pull hit ENOSPC")
        try K.remount(mnt, "size=64m")
        try K.arborMust(["pull", "--repo=\(repo)", "origin", "main"])
        XCTAssertEqual(K.ref(repo, "../remotes/origin/main"), server.commit)
        XCTAssertFalse(FileManager.default.fileExists(atPath: "\(repo)/state/\(server.commit).commitpartial"))
        try K.assertRepoSane(repo, "after the pull with room")
        XCTAssertEqual(K.stagingLeftovers(repo), [])
    }

    /// A sysroot on `mnt` with stateroot testos and demo-1.0 deployed; returns the sysroot path.
    private func sysrootWithDeployment(_ mnt: String) throws -> String {
        let s = "\(mnt)/sysroot"
        try K.arborMust(["admin", "init-fs", s])
        try K.arborMust(["admin", "os-init", "--sysroot=\(s)", os])
        try K.arborMust(["commit", "--repo=\(s)/ostree/repo", "-b", "testos/stable", "--add-metadata-string=version=1.0",
                         "--owner-uid=0", "--owner-gid=0", packageRoot.appendingPathComponent("trees/demo-1.0").path])
        try K.arborMust(["admin", "deploy", "--sysroot=\(s)", "--os=\(os)", "--karg=root=LABEL=root", "testos/stable"])
        return s
    }

    private func deployDirs(_ s: String) -> [String] {
        ((try? FileManager.default.contentsOfDirectory(atPath: "\(s)/ostree/deploy/\(os)/deploy")) ?? []).filter { !$0.hasSuffix(".origin") }.sorted()
    }

    func testDeployIntoAFullFilesystemFailsCleanlyAndChangesNothing() throws {
        _ = try ostreePath()
        let base = try scratchDirectory(self, "arbor-torture-deployfull")
        let mnt = try K.mountTmpfs(self, base, size: "24m")
        let s = try sysrootWithDeployment(mnt)
        // A new version whose /etc defaults are big: the deployment's /etc is a copy, so it needs room.
        let tree = "\(base)/tree"
        try K.copyTree("demo-1.1", to: tree)
        for i in 0..<8 { try K.randomFile("\(tree)/usr/etc/big/conf\(i)", bytes: 400_000) }
        try K.arborMust(["commit", "--repo=\(s)/ostree/repo", "-b", "testos/stable", "--add-metadata-string=version=1.1",
                         "--owner-uid=0", "--owner-gid=0", tree])
        let before = try K.bootSet(s)
        XCTAssertEqual(before.problems, [])
        let dirsBefore = deployDirs(s)
        _ = try K.exec("sh", ["-c", "dd if=/dev/zero of='\(mnt)/ballast' bs=1k count=$(( $(df -k --output=avail '\(mnt)' | tail -1) - 1500 ))"])
        let o = try K.arbor(["admin", "deploy", "--sysroot=\(s)", "--os=\(os)", "testos/stable"])
        K.assertCleanError(o, "deploy into a full filesystem", mentionsAny: noSpace)
        let after = try K.bootSet(s)
        XCTAssertEqual(after.problems, [])
        XCTAssertEqual(after.fingerprint, before.fingerprint, "a failed deploy changed the boot set")
        XCTAssertEqual(deployDirs(s), dirsBefore, "a failed deploy left a deployment directory behind")
        try K.assertRepoSane("\(s)/ostree/repo", "after a deploy hit ENOSPC")
        try FileManager.default.removeItem(atPath: "\(mnt)/ballast")
        try K.arborMust(["admin", "deploy", "--sysroot=\(s)", "--os=\(os)", "testos/stable"])
        let done = try K.bootSet(s)
        XCTAssertEqual(done.problems, [])
        XCTAssertEqual(done.order.count, 2, "\(done.order)")
        XCTAssertEqual(deployDirs(s).count, 2)
        try K.assertRepoSane("\(s)/ostree/repo", "after the deploy with room")
    }

    // MARK: 3b. Read-only

    func testReadOnlyRemountRefusesWritesKeepsReadsAndRecovers() throws {
        _ = try ostreePath()
        let base = try scratchDirectory(self, "arbor-torture-ro")
        let server = try makeServer(base, extraBytes: 200_000)
        let mnt = try K.mountTmpfs(self, base, size: "64m")
        let repo = "\(mnt)/repo"
        try K.arborMust(["init", "--repo=\(repo)", "--mode=bare"])
        try K.arborMust(["remote", "add", "--repo=\(repo)", "--no-sign-verify", "origin", server.url])
        let tree = "\(base)/tree"
        try K.copyTree("demo-1.0", to: tree)
        let c1 = try K.arborMust(["commit", "--repo=\(repo)", "-b", "main", tree])
        let s = try sysrootWithDeployment(mnt)
        try K.arborMust(["commit", "--repo=\(s)/ostree/repo", "-b", "testos/stable", "--add-metadata-string=version=1.1",
                         "--owner-uid=0", "--owner-gid=0", packageRoot.appendingPathComponent("trees/demo-1.1").path])
        let boot = try K.bootSet(s)
        try K.sh("echo changed > '\(tree)/usr/etc/motd'")

        try K.remount(mnt, "ro")
        let ro = ["Read-only file system", "read-only"]
        K.assertCleanError(try K.arbor(["commit", "--repo=\(repo)", "-b", "main", tree]), "commit on a read-only filesystem", mentionsAny: ro)
        K.assertCleanError(try K.arbor(["pull", "--repo=\(repo)", "origin", "main"]), "pull on a read-only filesystem", mentionsAny: ro)
        K.assertCleanError(try K.arbor(["admin", "deploy", "--sysroot=\(s)", "--os=\(os)", "testos/stable"]), "deploy on a read-only filesystem", mentionsAny: ro)
        K.assertCleanError(try K.arbor(["admin", "upgrade", "--sysroot=\(s)"]), "upgrade on a read-only filesystem", mentionsAny: ro)
        // Reads still work.
        XCTAssertEqual(try K.arborMust(["rev-parse", "--repo=\(repo)", "main"]), c1)
        XCTAssertTrue(try K.arborMust(["ls", "--repo=\(repo)", "-R", "main"]).contains("/usr/etc/motd"))
        XCTAssertFalse(try K.arborMust(["cat", "--repo=\(repo)", "main", "/usr/etc/motd"]).isEmpty)
        try K.arborMust(["log", "--repo=\(repo)", "main"])
        try K.arborMust(["show", "--repo=\(repo)", "main"])
        try K.arborMust(["fsck", "--repo=\(repo)"])
        let co = "\(base)/checkout"
        try K.arborMust(["checkout", "--repo=\(repo)", "main", co])
        XCTAssertTrue(FileManager.default.fileExists(atPath: "\(co)/usr/etc/motd"))
        try K.arborMust(["export", "--repo=\(repo)", "--output=\(base)/export.tar", "main"])
        try K.arborMust(["admin", "status", "--sysroot=\(s)"])
        XCTAssertEqual(try K.bootSet(s).fingerprint, boot.fingerprint)
        XCTAssertEqual(K.ref(repo, "main"), c1)

        try K.remount(mnt, "rw")
        let c2 = try K.arborMust(["commit", "--repo=\(repo)", "-b", "main", tree])
        XCTAssertNotEqual(c2, c1)
        try K.arborMust(["pull", "--repo=\(repo)", "origin", "main"])
        XCTAssertEqual(K.ref(repo, "../remotes/origin/main"), server.commit)
        try K.arborMust(["admin", "upgrade", "--sysroot=\(s)"])
        XCTAssertEqual(try K.bootSet(s).order.count, 2)
        try K.assertRepoSane(repo, "after the read-only episode")
        try K.assertRepoSane("\(s)/ostree/repo", "sysroot repo after the read-only episode")
    }

    // MARK: 4. Concurrency

    func testTwoCommitsToOneRepositoryAtOnce() throws {
        _ = try ostreePath()
        let base = try scratchDirectory(self, "arbor-torture-cc")
        let repo = "\(base)/repo"
        try K.arborMust(["init", "--repo=\(repo)", "--mode=bare"])
        let trees = ["\(base)/a", "\(base)/b"]
        for t in trees { try K.copyTree("demo-1.0", to: t) }
        for round in 0..<4 {
            for (i, t) in trees.enumerated() {
                // Half the new content is shared by both trees, half is each tree's own.
                for j in 0..<150 { try K.randomFile("\(t)/usr/share/own/f\(j)", bytes: 2000 + i) }
                try K.sh("rm -rf '\(t)/usr/share/shared' && mkdir -p '\(t)/usr/share/shared' && seq 1 300 | while read n; do echo \"round \(round) file $n\" > '\(t)/usr/share/shared/f'$n; done")
            }
            // Different refs, then the same ref.
            let sameRef = round % 2 == 1
            let handles = try trees.enumerated().map { i, t in
                try K.start(["commit", "--repo=\(repo)", "-b", sameRef ? "main" : "branch\(i)", "-s", "round \(round)", t])
            }
            let outcomes = handles.map(K.finish)
            var made: [String] = []
            for (i, o) in outcomes.enumerated() {
                K.assertDoneOrLocked(o, "round \(round), commit \(i)")
                if o.status == 0 { made.append(o.out) }
            }
            for c in made {
                XCTAssertEqual(try K.arborMust(["rev-parse", "--repo=\(repo)", c]), c)
                try K.arborMust(["ls", "--repo=\(repo)", "-R", c])
            }
            if sameRef {
                XCTAssertTrue(made.contains(K.ref(repo, "main") ?? "-"), "round \(round): main names neither new commit")
            } else {
                for (i, o) in outcomes.enumerated() where o.status == 0 { XCTAssertEqual(K.ref(repo, "branch\(i)"), o.out) }
            }
            try K.assertRepoSane(repo, "round \(round)")
            XCTAssertEqual(K.stagingLeftovers(repo), [], "round \(round): staging leftovers")
        }
    }

    /// Regression: a transaction creates its staging lock file (O_EXCL) before it locks it, so a
    /// concurrent transaction sweeping stale staging directories can lock that file first; the
    /// commit then fails with "lock ...: Resource temporarily unavailable" instead of waiting or
    /// saying "locked". The helper below does exactly what that sweep does (lock every
    /// `arbor-staging-*-lock` it can, then remove it), holding the lock a little longer to widen
    /// the window; every commit must still succeed.
    func testStagingSweepOfAConcurrentWriterDoesNotFailACommit() throws {
        let base = try scratchDirectory(self, "arbor-torture-sweep")
        let repo = "\(base)/repo"
        try K.arborMust(["init", "--repo=\(repo)", "--mode=bare"])
        let tree = "\(base)/tree"
        try FileManager.default.createDirectory(atPath: tree, withIntermediateDirectories: true)
        try "a\n".write(toFile: "\(tree)/a", atomically: false, encoding: .utf8)
        let sweeper = Process()
        sweeper.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        sweeper.arguments = ["python3", "-c", """
            import os, sys, fcntl, struct, time
            tmp = sys.argv[1]
            while os.path.exists(sys.argv[2]):
                for n in os.listdir(tmp):
                    if n.startswith('arbor-staging-') and n.endswith('-lock'):
                        try: fd = os.open(os.path.join(tmp, n), os.O_RDWR | os.O_NOFOLLOW)
                        except OSError: continue
                        try:
                            fcntl.fcntl(fd, 37, struct.pack('hhqqi4x', fcntl.F_WRLCK, 0, 0, 0, 0))  # F_OFD_SETLK
                            time.sleep(0.05)
                            try: os.rmdir(os.path.join(tmp, n[:-5]))
                            except OSError: pass
                            try: os.unlink(os.path.join(tmp, n))
                            except OSError: pass
                        except OSError: pass
                        os.close(fd)
            """, "\(repo)/tmp", "\(base)/running"]
        try "".write(toFile: "\(base)/running", atomically: false, encoding: .utf8)
        try sweeper.run()
        defer {
            try? FileManager.default.removeItem(atPath: "\(base)/running")
            sweeper.waitUntilExit()
        }
        var failures: [String] = []
        for i in 0..<250 {
            let o = try K.arbor(["commit", "--repo=\(repo)", "-b", "main", "-s", "commit \(i)", tree])
            if o.status != 0 && !o.stderr.contains("locked") { failures.append(o.stderr.trimmingCharacters(in: .whitespacesAndNewlines)) }
        }
        XCTAssertEqual(failures, [], "commits failed while another writer swept stale staging directories")
    }

    func testCommitDuringPruneLosesNothing() throws {
        _ = try ostreePath()
        let base = try scratchDirectory(self, "arbor-torture-cprune")
        let repo = "\(base)/repo"
        try K.arborMust(["init", "--repo=\(repo)", "--mode=bare"])
        let tree = "\(base)/tree"
        try K.copyTree("demo-1.0", to: tree)
        try K.arborMust(["commit", "--repo=\(repo)", "-b", "keep", tree])
        for round in 0..<5 {
            // Garbage that the next commit also needs: an orphan commit of the very same tree.
            for j in 0..<600 { try K.randomFile("\(tree)/usr/share/r/f\(j)", bytes: 3000) }
            try K.arborMust(["commit", "--repo=\(repo)", "--orphan", tree])
            let prune = try K.start(["prune", "--repo=\(repo)", "--refs-only"])
            usleep(useconds_t(round * 40_000))
            let commit = try K.start(["commit", "--repo=\(repo)", "-b", "main", "-s", "round \(round)", tree])
            let p = K.finish(prune), c = K.finish(commit)
            K.assertDoneOrLocked(p, "round \(round): prune")
            K.assertDoneOrLocked(c, "round \(round): commit")
            if c.status == 0 {
                XCTAssertEqual(K.ref(repo, "main"), c.out, "round \(round)")
                let co = "\(base)/co-\(round)"
                try K.arborMust(["checkout", "--repo=\(repo)", "main", co])
                XCTAssertEqual(try K.exec("cmp", ["\(co)/usr/share/r/f7", "\(tree)/usr/share/r/f7"]).status, 0)
                try K.sh("rm -rf '\(co)'")
            }
            try K.assertRepoSane(repo, "round \(round): commit during prune")
        }
    }

    func testPullDuringCheckout() throws {
        _ = try ostreePath()
        let base = try scratchDirectory(self, "arbor-torture-pullco")
        let server = "\(base)/server"
        try K.arborMust(["init", "--repo=\(server)", "--mode=archive"])
        let tree = "\(base)/tree"
        try K.copyTree("demo-1.0", to: tree)
        for j in 0..<1500 { try K.randomFile("\(tree)/usr/share/d\(j % 30)/f\(j)", bytes: 1500) }
        try K.arborMust(["commit", "--repo=\(server)", "-b", "main", tree])
        try K.arborMust(["summary", "--repo=\(server)", "-u"])
        let repo = "\(base)/client"
        try K.arborMust(["init", "--repo=\(repo)", "--mode=bare"])
        try K.arborMust(["remote", "add", "--repo=\(repo)", "--no-sign-verify", "origin", "file://\(server)"])
        try K.arborMust(["pull", "--repo=\(repo)", "origin", "main"])
        let first = try K.arborMust(["rev-parse", "--repo=\(repo)", "origin:main"])
        for round in 0..<3 {
            for j in 0..<600 { try K.randomFile("\(tree)/usr/share/new/f\(j)", bytes: 1500) }
            let next = try K.arborMust(["commit", "--repo=\(server)", "-b", "main", tree])
            try K.arborMust(["summary", "--repo=\(server)", "-u"])
            for copy in [false, true] {
                let dest = "\(base)/co-\(round)-\(copy)"
                let co = try K.start(["checkout", "--repo=\(repo)"] + (copy ? ["-C"] : []) + [first, dest])
                let pull = try K.start(["pull", "--repo=\(repo)", "origin", "main"])
                let c = K.finish(co), p = K.finish(pull)
                XCTAssertEqual(c.status, 0, "round \(round): checkout during pull: \(c.summary)")
                K.assertDoneOrLocked(p, "round \(round): pull during checkout")
                let files = try K.exec("sh", ["-c", "find '\(dest)' -type f | wc -l"]).out
                XCTAssertEqual(Int(files) ?? 0 >= 1500, true, "round \(round): checkout has \(files) files")
                try K.sh("rm -rf '\(dest)'")
            }
            XCTAssertEqual(try K.arborMust(["rev-parse", "--repo=\(repo)", "origin:main"]), next)
            try K.assertRepoSane(repo, "round \(round): pull during checkout")
        }
    }

    func testTwoDeploysAtOnceAreSerialisedOrLocked() throws {
        _ = try ostreePath()
        let base = try scratchDirectory(self, "arbor-torture-cdeploy")
        let s = try sysrootWithDeployment(base)
        try K.arborMust(["commit", "--repo=\(s)/ostree/repo", "-b", "testos/next", "--add-metadata-string=version=1.1",
                         "--owner-uid=0", "--owner-gid=0", packageRoot.appendingPathComponent("trees/demo-1.1").path])
        for round in 0..<4 {
            let env = round == 3 ? ["ARBOR_SYSROOT_LOCK_TIMEOUT": "0.05"] : [:]
            let a = try K.start(["admin", "deploy", "--sysroot=\(s)", "--os=\(os)", "testos/stable"], env: env)
            let b = try K.start(["admin", "deploy", "--sysroot=\(s)", "--os=\(os)", "testos/next"], env: env)
            let oa = K.finish(a), ob = K.finish(b)
            K.assertDoneOrLocked(oa, "round \(round): deploy A")
            K.assertDoneOrLocked(ob, "round \(round): deploy B")
            XCTAssertTrue(oa.status == 0 || ob.status == 0, "round \(round): neither deploy finished")
            let set = try K.bootSet(s)
            XCTAssertEqual(set.problems, [], "round \(round)")
            XCTAssertEqual(set.order.count, 2, "round \(round): \(set.order)")
            try K.arborMust(["admin", "cleanup", "--sysroot=\(s)"])
            XCTAssertEqual(deployDirs(s), set.order.map { String($0.split(separator: "/").last!) }.sorted(), "round \(round): leftovers after cleanup")
            try K.assertRepoSane("\(s)/ostree/repo", "round \(round): sysroot repo")
        }
    }
}
