// OracleTests.swift - Arbor against the real `ostree` binary as the oracle: the spec's test
// vectors, commits of the sample, demo and odd trees in every repository mode, checkouts in
// both directions, ls/show/log/rev-parse text, refs, and commit options.
import Foundation
import XCTest

final class OracleTests: XCTestCase {
    private static let allModes = ["bare", "archive", "bare-user", "bare-user-only"]
    private static let sampleOptions = ["--owner-uid=0", "--owner-gid=0", "--timestamp=2024-01-01T00:00:00Z",
                                        "-s", "Sample", "-m", "Body", "--add-metadata-string=version=1.0"]

    // MARK: - Helpers

    /// Runs ostree with an argument array; returns the full result.
    private func ostree(_ args: [String]) throws -> RunResult { try InteropTests.run(try ostreePath(), args) }

    /// Runs ostree, failing the test on a non-zero exit; returns raw stdout.
    @discardableResult
    private func ostreeRaw(_ args: [String], file: StaticString = #filePath, line: UInt = #line) throws -> String {
        let r = try ostree(args)
        XCTAssertEqual(r.status, 0, "ostree \(args.joined(separator: " ")) failed: \(r.stderr)", file: file, line: line)
        return r.stdout
    }

    /// Runs arbor, failing the test on a non-zero exit; returns raw stdout.
    @discardableResult
    private func arborRaw(_ args: [String], file: StaticString = #filePath, line: UInt = #line) throws -> String {
        let r = try arbor(args)
        XCTAssertEqual(r.status, 0, "arbor \(args.joined(separator: " ")) failed: \(r.stderr)", file: file, line: line)
        return r.stdout
    }

    private func trimmed(_ s: String) -> String { s.trimmingCharacters(in: .whitespacesAndNewlines) }

    /// Parsed Tests/Fixtures/expected.txt: commit checksums by label, ls listings by repo name.
    private struct Expected {
        var commits: [String: String] = [:]
        var listings: [String: [String]] = [:]
    }

    private func loadExpected() throws -> Expected {
        let text = try String(contentsOf: packageRoot.appendingPathComponent("Tests/Fixtures/expected.txt"), encoding: .utf8)
        var e = Expected()
        var block: String?
        for raw in text.split(separator: "\n", omittingEmptySubsequences: false) {
            let line = String(raw)
            if line.hasPrefix("#") {
                block = nil
                if let r = line.range(of: "# ostree ls -R -C (repo-"), let close = line[r.upperBound...].firstIndex(of: ")") {
                    let name = String(line[r.upperBound..<close])
                    block = name
                    e.listings[name] = []
                }
                continue
            }
            if line.hasPrefix("commit["), let close = line.firstIndex(of: "]") {
                let label = String(line[line.index(line.startIndex, offsetBy: 7)..<close])
                e.commits[label] = trimmed(String(line[line.index(after: close)...]))
                block = nil
                continue
            }
            if let b = block, !line.isEmpty { e.listings[b, default: []].append(line) }
        }
        return e
    }

    private func lines(_ s: String) -> [String] { s.split(separator: "\n", omittingEmptySubsequences: true).map(String.init) }

    /// Asserts two manifests are equal, reporting only the first few differences.
    private func assertSameTree(_ a: [String], _ b: [String], _ what: String, file: StaticString = #filePath, line: UInt = #line) {
        if a == b { return }
        let sa = Set(a), sb = Set(b)
        let onlyA = a.filter { !sb.contains($0) }.prefix(8), onlyB = b.filter { !sa.contains($0) }.prefix(8)
        XCTFail("\(what): trees differ (\(a.count) vs \(b.count) entries)\n  only in first:\n    "
                + onlyA.joined(separator: "\n    ") + "\n  only in second:\n    " + onlyB.joined(separator: "\n    "),
                file: file, line: line)
    }

    /// A manifest that keeps only names, types, contents and symlink targets (plus directory
    /// modes): for bare-user checkouts, where file modes and ownership are not kept as-is.
    private func contentManifest(_ root: String) throws -> [String] {
        let script = """
        import os, sys, hashlib, stat
        root = sys.argv[1]; out = []
        for d, dirs, files in os.walk(root):
            dirs.sort()
            for n in sorted(dirs) + sorted(files):
                p = os.path.join(d, n); st = os.lstat(p); rel = os.path.relpath(p, root)
                if stat.S_ISLNK(st.st_mode): what = 'l -> ' + os.readlink(p)
                elif stat.S_ISDIR(st.st_mode): what = 'd %o' % stat.S_IMODE(st.st_mode)
                else:
                    h = hashlib.sha256()
                    with open(p, 'rb') as f: h.update(f.read())
                    what = 'f %d %s' % (st.st_size, h.hexdigest())
                out.append('%s %s' % (rel, what))
        sys.stdout.write('\\n'.join(out))
        """
        let r = try InteropTests.run("python3", ["-c", script, root])
        XCTAssertEqual(r.status, 0, r.stderr)
        return lines(r.stdout)
    }

    private func makeSample(_ dir: String) throws -> String {
        let src = "\(dir)/sample"
        try runScript("make-sample-tree.sh", [src])
        return src
    }

    /// A copy of trees/NAME with the modes the README prescribes and root ownership.
    private func makeDemo(_ dir: String, _ name: String) throws -> String {
        let dest = "\(dir)/\(name)"
        let src = packageRoot.appendingPathComponent("trees/\(name)").path
        let script = """
        set -e
        cp -a '\(src)' '\(dest)'
        find '\(dest)' -type d -exec chmod 0755 {} +
        find '\(dest)' -type f -exec chmod 0644 {} +
        find '\(dest)/usr/bin' -type f -exec chmod 0755 {} +
        chown -hR \(getuid()):\(getgid()) '\(dest)'
        """
        let r = try InteropTests.run("/bin/sh", ["-c", script])
        XCTAssertEqual(r.status, 0, r.stderr)
        return dest
    }

    private func stat(_ path: String) throws -> (ino: UInt64, nlink: Int) {
        let a = try FileManager.default.attributesOfItem(atPath: path)
        return ((a[.systemFileNumber] as? NSNumber)?.uint64Value ?? 0, (a[.referenceCount] as? NSNumber)?.intValue ?? 0)
    }

    private func objectPath(_ repo: String, _ checksum: String, _ ext: String) -> String {
        "\(repo)/objects/\(checksum.prefix(2))/\(checksum.dropFirst(2)).\(ext)"
    }

    /// `arbor show` text up to its "Metadata:" section (the part that matches `ostree show`).
    private func showPrefix(_ s: String) -> String {
        if let r = s.range(of: "\nMetadata:\n") { return String(s[..<r.lowerBound]) + "\n" }
        return s
    }

    /// Checkout flags used for a repo mode, and how to compare the result with the source.
    private enum Compare { case full, noOwners, contentOnly, arborOnly }
    private func checkoutPlan(_ mode: String) -> ([String], Compare) {
        switch mode {
        case "bare", "archive": return isRoot ? ([], .full) : (["-U"], .noOwners)
        case "bare-user": return (["-U"], .contentOnly)
        default: return (["-U"], .arborOnly)
        }
    }

    private func manifest(_ path: String, _ cmp: Compare) throws -> [String] {
        switch cmp {
        case .full, .arborOnly: return try treeManifest(path)
        case .noOwners: return try treeManifest(path, owners: false, xattrs: false)
        case .contentOnly: return try contentManifest(path)
        }
    }

    /// One layer of a branch: a directory committed with the given options.
    private struct Layer { var dir: String; var options: [String] }

    /// Commits `layers` in order on `branch` with arbor (repo A) and ostree (repo O) in `mode`,
    /// then checks every interop property against the oracle. Returns the commit checksums.
    @discardableResult
    private func checkInterop(_ label: String, mode: String, layers: [Layer], branch: String = "test/main",
                              scratch: String) throws -> [String] {
        let a = "\(scratch)/\(label)-\(mode)-arbor", o = "\(scratch)/\(label)-\(mode)-ostree"
        try arborRaw(["init", "--repo=\(a)", "--mode=\(mode)"])
        try ostreeRaw(["init", "--repo=\(o)", "--mode=\(mode)"])
        var commits: [String] = []
        for layer in layers {
            let ac = trimmed(try arborRaw(["commit", "--repo=\(a)", "-b", branch] + layer.options + [layer.dir]))
            let oc = trimmed(try ostreeRaw(["commit", "--repo=\(o)", "-b", branch] + layer.options + ["--tree=dir=\(layer.dir)"]))
            XCTAssertEqual(ac, oc, "\(label)/\(mode): arbor and ostree commit checksums differ for \(layer.dir)")
            commits.append(ac)
        }
        // ostree accepts Arbor's repository.
        let fsck = try ostree(["fsck", "--repo=\(a)"])
        XCTAssertEqual(fsck.status, 0, "\(label)/\(mode): ostree fsck failed: \(fsck.stdout)\(fsck.stderr)")

        // rev-parse, for the branch and (with two commits) its parent; on both repositories.
        var revs = [branch]
        if layers.count > 1 { revs.append("\(branch)^") }
        for repo in [a, o] {
            for rev in revs {
                XCTAssertEqual(trimmed(try arborRaw(["rev-parse", "--repo=\(repo)", rev])),
                               trimmed(try ostreeRaw(["rev-parse", "--repo=\(repo)", rev])), "\(label)/\(mode): rev-parse \(rev)")
            }
        }

        // ls text, exactly as ostree prints it, on both repositories.
        for repo in [a, o] {
            for flags in [["-R"], ["-R", "-C"]] {
                let ours = try arborRaw(["ls", "--repo=\(repo)"] + flags + [branch])
                let theirs = try ostreeRaw(["ls", "--repo=\(repo)"] + flags + [branch])
                if ours != theirs {
                    assertSameTree(lines(ours), lines(theirs), "\(label)/\(mode): arbor ls \(flags.joined(separator: " ")) vs ostree on \(repo)")
                    if lines(ours) == lines(theirs) { XCTFail("\(label)/\(mode): ls output differs only in blank lines") }
                }
            }
        }

        // show and log text.
        for repo in [a, o] {
            let ours = try arborRaw(["show", "--repo=\(repo)", branch])
            let theirs = try ostreeRaw(["show", "--repo=\(repo)", branch])
            XCTAssertEqual(showPrefix(ours), theirs, "\(label)/\(mode): arbor show vs ostree show")
            XCTAssertEqual(try arborRaw(["log", "--repo=\(repo)", branch]), try ostreeRaw(["log", "--repo=\(repo)", branch]),
                           "\(label)/\(mode): arbor log vs ostree log")
        }

        // Checkouts in both directions.
        let (flags, cmp) = checkoutPlan(mode)
        let ostreeOfArbor = "\(scratch)/\(label)-\(mode)-co-ostree-of-arbor"
        let arborOfOstree = "\(scratch)/\(label)-\(mode)-co-arbor-of-ostree"
        let arborOfArbor = "\(scratch)/\(label)-\(mode)-co-arbor-of-arbor"
        try ostreeRaw(["checkout", "--repo=\(a)"] + flags + [branch, ostreeOfArbor])
        try arborRaw(["checkout", "--repo=\(o)"] + flags + [branch, arborOfOstree])
        try arborRaw(["checkout", "--repo=\(a)"] + flags + [branch, arborOfArbor])
        let reference = try treeManifest(arborOfArbor)
        // Whatever the mode, the two tools must produce the same checkout of the same commit.
        assertSameTree(try treeManifest(ostreeOfArbor), reference, "\(label)/\(mode): ostree checkout vs arbor checkout of arbor's commit")
        assertSameTree(try treeManifest(arborOfOstree), reference, "\(label)/\(mode): arbor checkout of ostree's commit vs of arbor's")
        if cmp != .arborOnly, let last = layers.last {
            let source = try manifest(last.dir, cmp)
            assertSameTree(try manifest(ostreeOfArbor, cmp), source, "\(label)/\(mode): ostree checkout of arbor's commit vs source")
            assertSameTree(try manifest(arborOfOstree, cmp), source, "\(label)/\(mode): arbor checkout of ostree's commit vs source")
        }
        return commits
    }

    // MARK: - 1. Test vectors

    func testVectorsInEveryMode() throws {
        _ = try ostreePath()
        let expected = try loadExpected()
        let scratch = try scratchDirectory(self)
        let sample = try makeSample(scratch)
        for mode in Self.allModes {
            guard let want = expected.commits[mode] else { XCTFail("expected.txt has no commit[\(mode)]"); continue }
            let repo = "\(scratch)/repo-\(mode)"
            try arborRaw(["init", "--repo=\(repo)", "--mode=\(mode)"])
            let got = trimmed(try arborRaw(["commit", "--repo=\(repo)", "-b", "sample/main"] + Self.sampleOptions + [sample]))
            XCTAssertEqual(got, want, "commit checksum in \(mode) mode")
            let listing = try arborRaw(["ls", "--repo=\(repo)", "-R", "-C", "sample/main"])
            let block = mode == "bare-user-only" ? "bare-user-only" : "bare"
            XCTAssertEqual(lines(listing), expected.listings[block] ?? ["missing block \(block)"], "ls -R -C in \(mode) mode")
            let fsck = try ostree(["fsck", "--repo=\(repo)"])
            XCTAssertEqual(fsck.status, 0, "ostree fsck (\(mode)): \(fsck.stdout)\(fsck.stderr)")
        }
    }

    func testVectorNoXattrsArchive() throws {
        _ = try ostreePath()
        let expected = try loadExpected()
        let scratch = try scratchDirectory(self)
        let sample = try makeSample(scratch)
        let repo = "\(scratch)/repo"
        try arborRaw(["init", "--repo=\(repo)", "--mode=archive"])
        let got = trimmed(try arborRaw(["commit", "--repo=\(repo)", "-b", "sample/main", "--no-xattrs"] + Self.sampleOptions + [sample]))
        XCTAssertEqual(got, expected.commits["archive --no-xattrs"], "--no-xattrs commit checksum")
        let listing = try arborRaw(["ls", "--repo=\(repo)", "-R", "-C", "sample/main"])
        XCTAssertEqual(lines(listing), expected.listings["noxattrs"] ?? [], "ls -R -C of the --no-xattrs commit")
        let fsck = try ostree(["fsck", "--repo=\(repo)"])
        XCTAssertEqual(fsck.status, 0, "ostree fsck: \(fsck.stdout)\(fsck.stderr)")
    }

    // MARK: - 2. Interop on the sample, demo and odd trees

    func testSampleTreeInteropInEveryMode() throws {
        _ = try ostreePath()
        let scratch = try scratchDirectory(self)
        let sample = try makeSample(scratch)
        for mode in Self.allModes {
            try checkInterop("sample", mode: mode, layers: [Layer(dir: sample, options: Self.sampleOptions)], branch: "sample/main",
                             scratch: scratch)
        }
    }

    func testDemoTreesTwoCommitsInEveryMode() throws {
        _ = try ostreePath()
        let scratch = try scratchDirectory(self)
        let d10 = try makeDemo(scratch, "demo-1.0"), d11 = try makeDemo(scratch, "demo-1.1")
        let layers = [
            Layer(dir: d10, options: ["--timestamp=2024-02-01T10:00:00Z", "-s", "Demo 1.0", "-m", "First release\n\nWith a second paragraph.",
                                      "--add-metadata-string=version=1.0", "--owner-uid=0", "--owner-gid=0"]),
            Layer(dir: d11, options: ["--timestamp=2024-03-01T12:30:45Z", "-s", "Demo 1.1", "-m", "Upgrade",
                                      "--add-metadata-string=version=1.1", "--add-metadata-string=demo.channel=stable",
                                      "--owner-uid=0", "--owner-gid=0"]),
        ]
        for mode in Self.allModes {
            let commits = try checkInterop("demo", mode: mode, layers: layers, branch: "demo/x86_64/stable", scratch: scratch)
            guard commits.count == 2 else { continue }
            let repo = "\(scratch)/demo-\(mode)-arbor"
            XCTAssertEqual(trimmed(try arborRaw(["rev-parse", "--repo=\(repo)", "demo/x86_64/stable^"])), commits[0])
            let log = try ostreeRaw(["log", "--repo=\(repo)", "demo/x86_64/stable"])
            XCTAssertTrue(log.contains("commit \(commits[0])") && log.contains("commit \(commits[1])"), "ostree log sees both commits")
        }
    }

    func testOddTreeInteropInEveryMode() throws {
        _ = try ostreePath()
        let scratch = try scratchDirectory(self)
        let odd = "\(scratch)/odd"
        try runScript("make-odd-tree.sh", [odd, "3000"])
        for mode in Self.allModes {
            // No owner override: in bare mode as root this proves that ownership, modes and xattrs
            // hash exactly as in ostree.
            try checkInterop("odd", mode: mode, layers: [Layer(dir: odd, options: ["--timestamp=2024-01-01T00:00:00Z", "-s", "Odd tree",
                                                                                    "--add-metadata-string=version=odd"])],
                             branch: "odd/main", scratch: scratch)
        }
    }

    // MARK: - 3. Reading ostree's repository

    func testReadsOstreeArchiveRepository() throws {
        _ = try ostreePath()
        let scratch = try scratchDirectory(self)
        let tar = packageRoot.appendingPathComponent("Tests/Fixtures/sample-archive-repo.tar.gz").path
        let r = try InteropTests.run("tar", ["-xzf", tar, "-C", scratch])
        XCTAssertEqual(r.status, 0, r.stderr)
        let repo = "\(scratch)/repo-archive"
        let ours = "\(scratch)/co-arbor", theirs = "\(scratch)/co-ostree"
        try arborRaw(["checkout", "--repo=\(repo)", "sample/main", ours])
        try ostreeRaw(["checkout", "--repo=\(repo)", "sample/main", theirs])
        assertSameTree(try treeManifest(ours), try treeManifest(theirs), "arbor vs ostree checkout of ostree's archive repo")
        XCTAssertEqual(try arborRaw(["ls", "--repo=\(repo)", "-R", "-C", "sample/main"]),
                       try ostreeRaw(["ls", "--repo=\(repo)", "-R", "-C", "sample/main"]))
        let cat = try arbor("cat", "--repo=\(repo)", "sample/main", "/hello.txt")
        XCTAssertEqual(cat.status, 0, cat.stderr)
        XCTAssertEqual(cat.stdout, "Hello, OSTree!\n")
        XCTAssertEqual(cat.stdout, try ostreeRaw(["cat", "--repo=\(repo)", "sample/main", "/hello.txt"]))
        XCTAssertEqual(trimmed(try arborRaw(["rev-parse", "--repo=\(repo)", "sample/main"])),
                       "924353b2d392dbe1a6f0515623b063fc4e5b2c5f9558b9b61400c9873aaf0454")
        XCTAssertEqual(showPrefix(try arborRaw(["show", "--repo=\(repo)", "sample/main"])),
                       try ostreeRaw(["show", "--repo=\(repo)", "sample/main"]))
    }

    // MARK: - 4. Checkout modes

    /// A repo of `mode` holding the sample tree on sample/main, written by arbor.
    private func sampleRepo(_ scratch: String, _ mode: String, sample: String) throws -> String {
        let repo = "\(scratch)/repo-\(mode)"
        try arborRaw(["init", "--repo=\(repo)", "--mode=\(mode)"])
        try arborRaw(["commit", "--repo=\(repo)", "-b", "sample/main"] + Self.sampleOptions + [sample])
        return repo
    }

    private let helloChecksum = "d54de4d5e87b6e23a70888c184728279c0e3a0d9ed8d4bb4fe2151e05f9599e8"

    func testCheckoutHardlinksFromBare() throws {
        let scratch = try scratchDirectory(self)
        let repo = try sampleRepo(scratch, "bare", sample: try makeSample(scratch))
        let dest = "\(scratch)/co"
        try arborRaw(["checkout", "--repo=\(repo)", "sample/main", dest])
        let f = try stat("\(dest)/hello.txt"), obj = try stat(objectPath(repo, helloChecksum, "file"))
        XCTAssertGreaterThan(f.nlink, 1, "bare checkout hardlinks")
        XCTAssertEqual(f.ino, obj.ino, "bare checkout links the object file")
        XCTAssertEqual(try String(contentsOfFile: "\(dest)/hello.txt", encoding: .utf8), "Hello, OSTree!\n")
        // Symlinks are symlinks.
        XCTAssertEqual(try FileManager.default.destinationOfSymbolicLink(atPath: "\(dest)/link"), "hello.txt")
        // ostree never hardlinks zero-sized files (so the empty object cannot hit the link limit).
        let theirs = "\(scratch)/co-ostree"
        try ostreeRaw(["checkout", "--repo=\(repo)", "sample/main", theirs])
        XCTAssertEqual(try stat("\(theirs)/empty").nlink, 1, "oracle: ostree copies empty files")
        XCTAssertEqual(try stat("\(dest)/empty").nlink, try stat("\(theirs)/empty").nlink, "empty file: arbor hardlinks where ostree copies")
        XCTAssertEqual(try stat("\(dest)/hello.txt").nlink, try stat("\(theirs)/hello.txt").nlink)
    }

    func testCheckoutForceCopyFromBare() throws {
        let scratch = try scratchDirectory(self)
        let repo = try sampleRepo(scratch, "bare", sample: try makeSample(scratch))
        let dest = "\(scratch)/co"
        try arborRaw(["checkout", "--repo=\(repo)", "-C", "sample/main", dest])
        let f = try stat("\(dest)/hello.txt"), obj = try stat(objectPath(repo, helloChecksum, "file"))
        XCTAssertEqual(f.nlink, 1, "-C copies")
        XCTAssertNotEqual(f.ino, obj.ino)
        XCTAssertEqual(try treeManifest(dest), try treeManifest("\(scratch)/sample"))
    }

    func testCheckoutCopiesFromArchive() throws {
        let scratch = try scratchDirectory(self)
        let repo = try sampleRepo(scratch, "archive", sample: try makeSample(scratch))
        let dest = "\(scratch)/co"
        try arborRaw(["checkout", "--repo=\(repo)", "sample/main", dest])
        XCTAssertEqual(try stat("\(dest)/hello.txt").nlink, 1, "archive checkout copies")
        XCTAssertEqual(try stat("\(dest)/sub/dir/nested.txt").nlink, 1)
        XCTAssertEqual(try treeManifest(dest), try treeManifest("\(scratch)/sample"))
    }

    func testCheckoutBareUserCopiesWithoutUserModeAndLinksWithIt() throws {
        _ = try ostreePath()
        let scratch = try scratchDirectory(self)
        let repo = try sampleRepo(scratch, "bare-user", sample: try makeSample(scratch))
        let obj = try stat(objectPath(repo, helloChecksum, "file"))
        for (flags, linked) in [([String](), false), (["-U"], true)] {
            let tag = flags.isEmpty ? "plain" : "user"
            let ours = "\(scratch)/co-arbor-\(tag)", theirs = "\(scratch)/co-ostree-\(tag)"
            try arborRaw(["checkout", "--repo=\(repo)"] + flags + ["sample/main", ours])
            try ostreeRaw(["checkout", "--repo=\(repo)"] + flags + ["sample/main", theirs])
            let o = try stat("\(ours)/hello.txt"), t = try stat("\(theirs)/hello.txt")
            XCTAssertEqual(o.nlink > 1, t.nlink > 1, "bare-user checkout \(flags): arbor and ostree disagree on hardlinking")
            XCTAssertEqual(o.nlink > 1, linked, "bare-user checkout \(flags): hardlinked should be \(linked)")
            if linked { XCTAssertEqual(o.ino, obj.ino) } else { XCTAssertNotEqual(o.ino, obj.ino) }
            // Symlinks (stored as regular files in bare-user repos) come out as symlinks.
            for (path, target) in [("link", "hello.txt"), ("sub/dir/uplink", "../../hello.txt")] {
                XCTAssertEqual(try? FileManager.default.destinationOfSymbolicLink(atPath: "\(theirs)/\(path)"), target, "oracle: \(path)")
                XCTAssertEqual(try? FileManager.default.destinationOfSymbolicLink(atPath: "\(ours)/\(path)"), target,
                               "bare-user checkout \(flags): \(path) should be a symlink to \(target)")
            }
            assertSameTree(try treeManifest(ours), try treeManifest(theirs), "bare-user checkout \(flags): arbor vs ostree")
        }
    }

    /// User-mode checkouts (-U) of files whose mode lacks u+r, and of setuid files: ostree makes
    /// them owner-readable (copying instead of linking) and drops setuid/setgid.
    func testUserModeCheckoutOfOddModes() throws {
        _ = try ostreePath()
        let scratch = try scratchDirectory(self)
        let src = "\(scratch)/src"
        let setup = """
        set -e
        mkdir '\(src)'
        printf 'secret\\n' > '\(src)/unreadable'; chmod 0000 '\(src)/unreadable'
        printf 'suid\\n' > '\(src)/suid'; chmod 4755 '\(src)/suid'
        printf 'plain\\n' > '\(src)/plain'; chmod 0644 '\(src)/plain'
        chmod 0755 '\(src)'
        """
        let r = try InteropTests.run("/bin/sh", ["-c", setup])
        XCTAssertEqual(r.status, 0, r.stderr)
        for mode in ["bare-user", "bare-user-only"] {
            let repo = "\(scratch)/repo-\(mode)"
            try arborRaw(["init", "--repo=\(repo)", "--mode=\(mode)"])
            try arborRaw(["commit", "--repo=\(repo)", "-b", "m", "--owner-uid=0", "--owner-gid=0", "--timestamp=0", src])
            let ours = "\(scratch)/co-arbor-\(mode)", theirs = "\(scratch)/co-ostree-\(mode)"
            try arborRaw(["checkout", "--repo=\(repo)", "-U", "m", ours])
            try ostreeRaw(["checkout", "--repo=\(repo)", "-U", "m", theirs])
            for name in ["unreadable", "suid", "plain"] {
                let a = try FileManager.default.attributesOfItem(atPath: "\(ours)/\(name)")[.posixPermissions] as? Int
                let o = try FileManager.default.attributesOfItem(atPath: "\(theirs)/\(name)")[.posixPermissions] as? Int
                XCTAssertEqual(a.map { String($0, radix: 8) }, o.map { String($0, radix: 8) }, "\(mode) -U checkout: mode of \(name) (arbor vs ostree)")
            }
            assertSameTree(try treeManifest(ours), try treeManifest(theirs), "\(mode) -U checkout of odd modes: arbor vs ostree")
        }
    }

    func testCheckoutSubpath() throws {
        _ = try ostreePath()
        let scratch = try scratchDirectory(self)
        let repo = try sampleRepo(scratch, "bare", sample: try makeSample(scratch))
        for (i, sub) in ["/sub", "/sub/dir", "/hello.txt", "/sub/dir/uplink"].enumerated() {
            let ours = "\(scratch)/co-arbor-\(i)", theirs = "\(scratch)/co-ostree-\(i)"
            let r = try arbor(["checkout", "--repo=\(repo)", "--subpath=\(sub)", "sample/main", ours])
            XCTAssertEqual(r.status, 0, "checkout --subpath=\(sub): \(r.stderr)")
            try ostreeRaw(["checkout", "--repo=\(repo)", "--subpath=\(sub)", "sample/main", theirs])
            guard r.status == 0 else { continue }
            assertSameTree(try treeManifest(ours), try treeManifest(theirs), "checkout --subpath=\(sub): arbor vs ostree")
        }
        XCTAssertEqual(try String(contentsOfFile: "\(scratch)/co-arbor-2/hello.txt", encoding: .utf8), "Hello, OSTree!\n")
        XCTAssertTrue(FileManager.default.fileExists(atPath: "\(scratch)/co-arbor-0/dir/nested.txt"))
    }

    func testCheckoutUnionReplacesFiles() throws {
        _ = try ostreePath()
        let scratch = try scratchDirectory(self)
        let repo = try sampleRepo(scratch, "bare", sample: try makeSample(scratch))
        var results: [[String]] = []
        for tool in ["arbor", "ostree"] {
            let dest = "\(scratch)/union-\(tool)"
            try FileManager.default.createDirectory(atPath: "\(dest)/sub", withIntermediateDirectories: true)
            try "old content\n".write(toFile: "\(dest)/hello.txt", atomically: false, encoding: .utf8)
            try "stays\n".write(toFile: "\(dest)/keep.txt", atomically: false, encoding: .utf8)
            try "stays too\n".write(toFile: "\(dest)/sub/extra", atomically: false, encoding: .utf8)
            try FileManager.default.createSymbolicLink(atPath: "\(dest)/secret", withDestinationPath: "/etc/passwd")
            _ = try InteropTests.run("chmod", ["0755", dest, "\(dest)/sub"])
            let args = ["checkout", "--repo=\(repo)", "--union", "sample/main", dest]
            if tool == "arbor" { try arborRaw(args) } else { try ostreeRaw(args) }
            XCTAssertEqual(try String(contentsOfFile: "\(dest)/hello.txt", encoding: .utf8), "Hello, OSTree!\n", tool)
            XCTAssertEqual(try String(contentsOfFile: "\(dest)/keep.txt", encoding: .utf8), "stays\n", tool)
            XCTAssertEqual(try String(contentsOfFile: "\(dest)/secret", encoding: .utf8), "top secret\n", tool)
            XCTAssertTrue(FileManager.default.fileExists(atPath: "\(dest)/sub/extra"), tool)
            XCTAssertEqual(try String(contentsOfFile: "/etc/passwd", encoding: .utf8).contains("top secret"), false)
            results.append(try contentManifest(dest))
        }
        XCTAssertEqual(results[0], results[1], "--union: arbor vs ostree")
        // A plain checkout into an existing directory fails.
        let r = try arbor(["checkout", "--repo=\(repo)", "sample/main", "\(scratch)/union-arbor"])
        XCTAssertNotEqual(r.status, 0, "checkout without --union into an existing directory should fail")
    }

    /// Each directory of a checkout, relative to `root`, and whether its modification time is 0.
    private func directoryTimes(_ root: String) throws -> [String: Bool] {
        var out: [String: Bool] = [:]
        let fm = FileManager.default
        for rel in [""] + (fm.subpaths(atPath: root) ?? []) {
            let path = rel.isEmpty ? root : "\(root)/\(rel)"
            var st = Glibc.stat()
            guard lstat(path, &st) == 0 else { throw NSError(domain: "lstat \(path)", code: Int(errno)) }
            if st.st_mode & S_IFMT == S_IFDIR { out[rel] = st.st_mtim.tv_sec == 0 }
        }
        return out
    }

    func testDirectoryTimesMatchOstree() throws {
        _ = try ostreePath()
        let scratch = try scratchDirectory(self)
        let sample = try makeSample(scratch)
        for (mode, flags) in [("bare", [String]()), ("bare", ["-C"]), ("bare", ["-U"]), ("archive", []), ("bare", ["--union"])] {
            let repo = "\(scratch)/repo-\(mode)"
            if !FileManager.default.fileExists(atPath: repo) { _ = try sampleRepo(scratch, mode, sample: sample) }
            var results: [[String: Bool]] = []
            for tool in ["arbor", "ostree"] {
                let dest = "\(scratch)/times-\(mode)\(flags.joined())-\(tool)"
                if flags == ["--union"] {
                    // Directories already there keep their times; those the checkout creates get 0.
                    try FileManager.default.createDirectory(atPath: "\(dest)/sub", withIntermediateDirectories: true)
                }
                let args = ["checkout", "--repo=\(repo)"] + flags + ["sample/main", dest]
                if tool == "arbor" { try arborRaw(args) } else { try ostreeRaw(args) }
                results.append(try directoryTimes(dest))
            }
            XCTAssertEqual(results[0], results[1], "directory times, \(mode) \(flags): arbor vs ostree")
            XCTAssertFalse(results[1].isEmpty)
        }
    }

    func testRequireHardlinksOnArchiveFails() throws {
        _ = try ostreePath()
        let scratch = try scratchDirectory(self)
        let repo = try sampleRepo(scratch, "archive", sample: try makeSample(scratch))
        let r = try arbor(["checkout", "--repo=\(repo)", "-H", "sample/main", "\(scratch)/co"])
        XCTAssertNotEqual(r.status, 0, "-H on archive must fail")
        XCTAssertTrue(r.stderr.contains("arbor: error:"), "stderr should carry an 'arbor: error:' line: \(r.stderr)")
        let o = try ostree(["checkout", "--repo=\(repo)", "-H", "sample/main", "\(scratch)/co-ostree"])
        XCTAssertNotEqual(o.status, 0, "oracle: ostree -H on archive fails too")
        // From bare, -H works.
        let bare = try sampleRepo(scratch, "bare", sample: "\(scratch)/sample")
        try arborRaw(["checkout", "--repo=\(bare)", "-H", "sample/main", "\(scratch)/co-bare"])
        XCTAssertGreaterThan(try stat("\(scratch)/co-bare/hello.txt").nlink, 1)
    }

    // MARK: - 5. Refs

    func testRefsCreateListJsonDelete() throws {
        _ = try ostreePath()
        let scratch = try scratchDirectory(self)
        let sample = try makeSample(scratch)
        let repo = try sampleRepo(scratch, "bare", sample: sample)
        let twin = "\(scratch)/twin"  // the same refs, managed by ostree
        try ostreeRaw(["init", "--repo=\(twin)", "--mode=bare"])
        let commit = trimmed(try ostreeRaw(["commit", "--repo=\(twin)", "-b", "sample/main"] + Self.sampleOptions + ["--tree=dir=\(sample)"]))
        XCTAssertEqual(commit, trimmed(try arborRaw(["rev-parse", "--repo=\(repo)", "sample/main"])))
        let names = ["os/x86_64/stable", "os/x86_64/testing", "os/aarch64/stable", "other", "deep/a/b/c/d/e"]
        for n in names {
            try arborRaw(["refs", "--repo=\(repo)", "--create=\(n)", commit])
            try ostreeRaw(["refs", "--repo=\(twin)", "--create=\(n)", commit])
        }
        let all = Set(names + ["sample/main"])
        XCTAssertEqual(Set(lines(try ostreeRaw(["refs", "--repo=\(repo)"]))), all, "ostree lists arbor-created refs")
        XCTAssertEqual(Set(lines(try arborRaw(["refs", "--repo=\(repo)"]))), all, "arbor refs lists every ref")
        XCTAssertEqual(lines(try arborRaw(["refs", "--repo=\(repo)"])).sorted(), lines(try ostreeRaw(["refs", "--repo=\(twin)"])).sorted())
        for n in names {
            XCTAssertEqual(trimmed(try ostreeRaw(["rev-parse", "--repo=\(repo)", n])), commit, n)
            XCTAssertEqual(trimmed(try arborRaw(["rev-parse", "--repo=\(repo)", n])), commit, n)
        }
        // Listing with a prefix matches ostree.
        XCTAssertEqual(Set(lines(try arborRaw(["refs", "--repo=\(repo)", "os"]))), Set(lines(try ostreeRaw(["refs", "--repo=\(twin)", "os"]))),
                       "refs PREFIX")

        // JSON: name -> checksum.
        let json = try arbor(["refs", "--repo=\(repo)", "--json"])
        XCTAssertEqual(json.status, 0, json.stderr)
        if json.status == 0 {
            // Either {"name": "checksum", ...} or [{"name": ..., "checksum": ...}, ...].
            let obj = try JSONSerialization.jsonObject(with: json.stdoutData)
            var dict: [String: String] = [:]
            if let d = obj as? [String: String] {
                dict = d
            } else if let list = obj as? [[String: Any]] {
                for e in list {
                    if let n = e["name"] as? String, let c = e["checksum"] as? String { dict[n] = c }
                }
            } else {
                XCTFail("refs --json does not map names to checksums: \(json.stdout)")
            }
            XCTAssertEqual(Set(dict.keys), all, "refs --json names")
            XCTAssertTrue(dict.values.allSatisfy { $0 == commit }, "refs --json checksums")
        }

        // --delete PREFIX removes every ref under it, as ostree does.
        try arborRaw(["refs", "--repo=\(repo)", "--delete", "os"])
        try ostreeRaw(["refs", "--repo=\(twin)", "--delete", "os"])
        let afterOstree = Set(lines(try ostreeRaw(["refs", "--repo=\(twin)"])))
        XCTAssertEqual(Set(lines(try ostreeRaw(["refs", "--repo=\(repo)"]))), afterOstree, "refs --delete os: what ostree sees")
        XCTAssertEqual(afterOstree, Set(["other", "deep/a/b/c/d/e", "sample/main"]))
        XCTAssertEqual(Set(lines(try arborRaw(["refs", "--repo=\(repo)"]))), afterOstree)
        XCTAssertNotEqual(try arbor(["rev-parse", "--repo=\(repo)", "os/x86_64/stable"]).status, 0)
        try arborRaw(["refs", "--repo=\(repo)", "--delete", "deep/a/b/c/d/e"])
        XCTAssertEqual(Set(lines(try ostreeRaw(["refs", "--repo=\(repo)"]))), ["other", "sample/main"])
        let fsck = try ostree(["fsck", "--repo=\(repo)"])
        XCTAssertEqual(fsck.status, 0, fsck.stdout + fsck.stderr)
    }

    func testOstreeCreatedRefsReadByArbor() throws {
        _ = try ostreePath()
        let scratch = try scratchDirectory(self)
        let sample = try makeSample(scratch)
        let repo = "\(scratch)/repo"
        try ostreeRaw(["init", "--repo=\(repo)", "--mode=archive"])
        let c = trimmed(try ostreeRaw(["commit", "--repo=\(repo)", "-b", "a/b/c"] + Self.sampleOptions + ["--tree=dir=\(sample)"]))
        try ostreeRaw(["refs", "--repo=\(repo)", "--create=x/y", c])
        XCTAssertEqual(Set(lines(try arborRaw(["refs", "--repo=\(repo)"]))), ["a/b/c", "x/y"])
        XCTAssertEqual(trimmed(try arborRaw(["rev-parse", "--repo=\(repo)", "x/y"])), c)
    }

    // MARK: - 6. Commit options

    private func commitCount(_ repo: String) -> Int {
        let e = FileManager.default.enumerator(atPath: "\(repo)/objects")
        var n = 0
        while let p = e?.nextObject() as? String { if p.hasSuffix(".commit") { n += 1 } }
        return n
    }

    func testSkipIfUnchanged() throws {
        _ = try ostreePath()
        let scratch = try scratchDirectory(self)
        let sample = try makeSample(scratch)
        let repo = try sampleRepo(scratch, "bare", sample: sample)
        let first = trimmed(try arborRaw(["rev-parse", "--repo=\(repo)", "sample/main"]))
        let again = trimmed(try arborRaw(["commit", "--repo=\(repo)", "-b", "sample/main", "--skip-if-unchanged",
                                          "--owner-uid=0", "--owner-gid=0", "-s", "Again", "--timestamp=2024-05-01T00:00:00Z", sample]))
        XCTAssertEqual(again, first, "--skip-if-unchanged prints the parent")
        XCTAssertEqual(commitCount(repo), 1, "no commit object added")
        XCTAssertEqual(trimmed(try ostreeRaw(["rev-parse", "--repo=\(repo)", "sample/main"])), first)
        // ostree does the same on its own repository.
        let twin = "\(scratch)/twin"
        try ostreeRaw(["init", "--repo=\(twin)", "--mode=bare"])
        let oc = trimmed(try ostreeRaw(["commit", "--repo=\(twin)", "-b", "sample/main"] + Self.sampleOptions + ["--tree=dir=\(sample)"]))
        XCTAssertEqual(trimmed(try ostreeRaw(["commit", "--repo=\(twin)", "-b", "sample/main", "--skip-if-unchanged", "--owner-uid=0",
                                              "--owner-gid=0", "-s", "Again", "--tree=dir=\(sample)"])), oc)
        // A change is committed, with the parent set.
        try "changed\n".write(toFile: "\(sample)/hello.txt", atomically: false, encoding: .utf8)
        let next = trimmed(try arborRaw(["commit", "--repo=\(repo)", "-b", "sample/main", "--skip-if-unchanged",
                                         "--owner-uid=0", "--owner-gid=0", "-s", "Changed", "--timestamp=2024-05-01T00:00:00Z", sample]))
        XCTAssertNotEqual(next, first)
        XCTAssertEqual(trimmed(try ostreeRaw(["rev-parse", "--repo=\(repo)", "sample/main^"])), first)
        XCTAssertEqual(commitCount(repo), 2)
    }

    func testParentNone() throws {
        _ = try ostreePath()
        let scratch = try scratchDirectory(self)
        let sample = try makeSample(scratch)
        let repo = try sampleRepo(scratch, "bare", sample: sample)
        let c2 = trimmed(try arborRaw(["commit", "--repo=\(repo)", "-b", "sample/main", "--parent=none"] + Self.sampleOptions
                                       .filter { $0 != "Sample" && $0 != "-s" } + ["-s", "Second", sample]))
        XCTAssertEqual(trimmed(try ostreeRaw(["rev-parse", "--repo=\(repo)", "sample/main"])), c2)
        XCTAssertNotEqual(try ostree(["rev-parse", "--repo=\(repo)", "sample/main^"]).status, 0, "no parent")
        XCTAssertFalse(try ostreeRaw(["show", "--repo=\(repo)", "sample/main"]).contains("Parent:"))
        XCTAssertNotEqual(try arbor(["rev-parse", "--repo=\(repo)", "sample/main^"]).status, 0, "arbor: no parent")
        // Same checksum as ostree with --parent=none... ostree's spelling is to omit the parent on a new branch.
        let twin = "\(scratch)/twin"
        try ostreeRaw(["init", "--repo=\(twin)", "--mode=bare"])
        let oc = trimmed(try ostreeRaw(["commit", "--repo=\(twin)", "-b", "sample/main"] + Self.sampleOptions
                                        .filter { $0 != "Sample" && $0 != "-s" } + ["-s", "Second", "--tree=dir=\(sample)"]))
        XCTAssertEqual(c2, oc)
    }

    func testOrphanWritesNoRef() throws {
        _ = try ostreePath()
        let scratch = try scratchDirectory(self)
        let sample = try makeSample(scratch)
        let repo = "\(scratch)/repo"
        try arborRaw(["init", "--repo=\(repo)", "--mode=archive"])
        let c = trimmed(try arborRaw(["commit", "--repo=\(repo)", "--orphan", "--no-bindings", "--owner-uid=0", "--owner-gid=0",
                                      "--timestamp=2024-01-01T00:00:00Z", "-s", "Orphan", sample]))
        XCTAssertEqual(c.count, 64)
        XCTAssertEqual(trimmed(try ostreeRaw(["refs", "--repo=\(repo)"])), "", "no ref written")
        XCTAssertEqual(trimmed(try arborRaw(["refs", "--repo=\(repo)"])), "")
        XCTAssertTrue(try ostreeRaw(["show", "--repo=\(repo)", c]).hasPrefix("commit \(c)"))
        let fsck = try ostree(["fsck", "--repo=\(repo)"])
        XCTAssertEqual(fsck.status, 0, fsck.stdout + fsck.stderr)
        // ostree's orphan commit with identical options has the same checksum.
        let twin = "\(scratch)/twin"
        try ostreeRaw(["init", "--repo=\(twin)", "--mode=archive"])
        let common = ["--owner-uid=0", "--owner-gid=0", "--timestamp=2024-01-01T00:00:00Z", "-s", "Orphan"]
        XCTAssertEqual(trimmed(try ostreeRaw(["commit", "--repo=\(twin)", "--orphan", "--no-bindings"] + common + ["--tree=dir=\(sample)"])), c,
                       "--orphan --no-bindings: arbor vs ostree")
        // Without --no-bindings, ostree 2022.7 records an empty `ostree.ref-binding` array on an
        // orphan commit; an identical commit needs the same metadata.
        let ours = trimmed(try arborRaw(["commit", "--repo=\(repo)", "--orphan"] + common + [sample]))
        let theirs = trimmed(try ostreeRaw(["commit", "--repo=\(twin)", "--orphan"] + common + ["--tree=dir=\(sample)"]))
        XCTAssertEqual(ours, theirs, "--orphan (default bindings): arbor vs ostree commit checksum")
        // With --bind-ref the bindings are the given refs.
        XCTAssertEqual(trimmed(try arborRaw(["commit", "--repo=\(repo)", "--orphan", "--bind-ref=foo/bar"] + common + [sample])),
                       trimmed(try ostreeRaw(["commit", "--repo=\(twin)", "--orphan", "--bind-ref=foo/bar"] + common + ["--tree=dir=\(sample)"])),
                       "--orphan --bind-ref: arbor vs ostree")
        XCTAssertEqual(trimmed(try ostreeRaw(["refs", "--repo=\(repo)"])), "", "still no ref written")
    }

    func testTreeRefLayeringMatchesOstree() throws {
        _ = try ostreePath()
        let scratch = try scratchDirectory(self)
        let sample = try makeSample(scratch)
        let overlay = "\(scratch)/overlay"
        let setup = """
        set -e
        mkdir -p '\(overlay)/sub/dir' '\(overlay)/newdir/deeper'
        printf 'replaced\\n' > '\(overlay)/hello.txt'
        printf 'added\\n' > '\(overlay)/sub/dir/added.txt'
        printf 'deep\\n' > '\(overlay)/newdir/deeper/file'
        ln -s run.sh '\(overlay)/run-link'
        chmod 0750 '\(overlay)/newdir'
        chmod 0755 '\(overlay)' '\(overlay)/sub' '\(overlay)/newdir/deeper'
        chmod 0711 '\(overlay)/sub/dir'
        chmod 0644 '\(overlay)/hello.txt' '\(overlay)/sub/dir/added.txt' '\(overlay)/newdir/deeper/file'
        """
        let s = try InteropTests.run("/bin/sh", ["-c", setup])
        XCTAssertEqual(s.status, 0, s.stderr)
        let a = "\(scratch)/a", o = "\(scratch)/o"
        try arborRaw(["init", "--repo=\(a)", "--mode=bare-user"])
        try ostreeRaw(["init", "--repo=\(o)", "--mode=bare-user"])
        let opts = ["--owner-uid=0", "--owner-gid=0", "--timestamp=2024-01-01T00:00:00Z", "-s", "Layer"]
        let ab = trimmed(try arborRaw(["commit", "--repo=\(a)", "-b", "base"] + opts + [sample]))
        let ob = trimmed(try ostreeRaw(["commit", "--repo=\(o)", "-b", "base"] + opts + ["--tree=dir=\(sample)"]))
        XCTAssertEqual(ab, ob)
        let al = trimmed(try arborRaw(["commit", "--repo=\(a)", "-b", "layered", "--timestamp=2024-01-02T00:00:00Z", "-s", "L",
                                       "--tree=ref=base", "--tree=dir=\(overlay)"]))
        let ol = trimmed(try ostreeRaw(["commit", "--repo=\(o)", "-b", "layered", "--timestamp=2024-01-02T00:00:00Z", "-s", "L",
                                        "--tree=ref=base", "--tree=dir=\(overlay)"]))
        XCTAssertEqual(al, ol, "layered commit checksum")
        let at = try arborRaw(["ls", "--repo=\(a)", "-d", "-C", "layered", "/"])
        let ot = try ostreeRaw(["ls", "--repo=\(o)", "-d", "-C", "layered", "/"])
        XCTAssertEqual(at, ot, "root tree checksum of the layered commit")
        XCTAssertEqual(try arborRaw(["ls", "--repo=\(a)", "-R", "-C", "layered"]), try ostreeRaw(["ls", "--repo=\(o)", "-R", "-C", "layered"]))
        let fsck = try ostree(["fsck", "--repo=\(a)"])
        XCTAssertEqual(fsck.status, 0, fsck.stdout + fsck.stderr)
    }
}
