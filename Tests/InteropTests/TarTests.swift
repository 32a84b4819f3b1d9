// Tarball and OCI import (`commit --tree=tar=|oci=`) and `export`: the same tree checksums as
// a directory commit and as `ostree commit --tree=tar=` (the oracle), reproducible exports that
// round-trip, whiteouts, digest checks, and hostile archives refused without moving a ref or
// leaving an object behind.
import Foundation
import XCTest

final class TarTests: XCTestCase {
    // MARK: Helpers

    /// The root (dirtree, dirmeta) of a commit, read with `ls -C -d REV /`.
    private func arborRoot(_ repo: String, _ rev: String, file: StaticString = #filePath, line: UInt = #line) throws -> String {
        let out = try arborOK("ls", "--repo=\(repo)", "-C", "-d", rev, "/", file: file, line: line)
        return rootPair(out)
    }

    private func ostreeRoot(_ repo: String, _ rev: String, file: StaticString = #filePath, line: UInt = #line) throws -> String {
        rootPair(try ostreeOK("ls", "--repo=\(repo)", "-C", "-d", rev, "/", file: file, line: line))
    }

    /// `d00755 0 0 0 TREE META /` → `TREE META`.
    private func rootPair(_ lsLine: String) -> String {
        let f = lsLine.split(whereSeparator: { $0 == " " || $0 == "\n" })
        return f.count >= 6 ? "\(f[4]) \(f[5])" : "unparsed: \(lsLine)"
    }

    private func newRepo(_ dir: String, _ name: String, mode: String) throws -> String {
        let repo = "\(dir)/\(name)"
        try arborOK("init", "--repo=\(repo)", "--mode=\(mode)")
        return repo
    }

    private func newOstreeRepo(_ dir: String, _ name: String, mode: String) throws -> String {
        let repo = "\(dir)/\(name)"
        try ostreeOK("init", "--repo=\(repo)", "--mode=\(mode)")
        return repo
    }

    /// `arborOK` with an argument array.
    @discardableResult
    private func arborOKArgs(_ args: [String], file: StaticString = #filePath, line: UInt = #line) throws -> String {
        let r = try InteropTests.run(arborBinary, args)
        XCTAssertEqual(r.status, 0, "arbor \(args.joined(separator: " ")) failed: \(r.stderr)", file: file, line: line)
        return r.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
    }

    /// Runs GNU tar and fails the test unless it succeeds.
    private func gnuTar(_ args: [String], file: StaticString = #filePath, line: UInt = #line) throws {
        let r = try InteropTests.run("tar", args)
        XCTAssertEqual(r.status, 0, "tar \(args.joined(separator: " ")) failed: \(r.stderr)", file: file, line: line)
    }

    /// Every path under objects/, to prove a failed commit left nothing behind.
    private func objectFiles(_ repo: String) throws -> [String] {
        let r = try InteropTests.run("find", ["\(repo)/objects", "-mindepth", "1"])
        return r.stdout.split(separator: "\n").map(String.init).sorted()
    }

    /// Runs a Python script with arguments; fails the test unless it succeeds; returns stdout.
    @discardableResult
    private func python(_ script: String, _ args: [String], file: StaticString = #filePath, line: UInt = #line) throws -> String {
        let r = try InteropTests.run("python3", ["-c", script] + args)
        XCTAssertEqual(r.status, 0, "python failed: \(r.stderr)", file: file, line: line)
        return r.stdout
    }

    /// Asserts a failed commit: status 1, one `arbor: error:` line containing `needle`.
    private func assertFails(_ r: RunResult, mentioning needle: String, file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertEqual(r.status, 1, "expected failure, got \(r.status): \(r.stdout) \(r.stderr)", file: file, line: line)
        let lines = r.stderr.split(separator: "\n")
        XCTAssertEqual(lines.count, 1, "expected one error line: \(r.stderr)", file: file, line: line)
        XCTAssertTrue(r.stderr.hasPrefix("arbor: error: "), r.stderr, file: file, line: line)
        XCTAssertTrue(r.stderr.contains(needle), "error does not mention \(needle): \(r.stderr)", file: file, line: line)
    }

    /// Commits `tree` from the directory and from each tarball into a fresh repository of each
    /// mode, and (unless `oracle` is false) into ostree; every root must be the same.
    private func assertSameTree(_ tree: String, tarballs: [String], extra: [String] = [], ostreeTarballs: [String]? = nil,
                                autocreate: Bool = false, file: StaticString = #filePath, line: UInt = #line) throws {
        let dir = try scratchDirectory(self, "arbor-tar")
        for mode in ["bare", "archive"] {
            let repo = try newRepo(dir, "repo-\(mode)", mode: mode)
            try arborOKArgs(["commit", "--repo=\(repo)", "-b", "dir", "--tree=dir=\(tree)"] + extra, file: file, line: line)
            let expected = try arborRoot(repo, "dir", file: file, line: line)
            for (i, t) in tarballs.enumerated() {
                let opts = extra + (autocreate ? ["--tar-autocreate-parents"] : [])
                try arborOKArgs(["commit", "--repo=\(repo)", "-b", "tar\(i)", "--tree=tar=\(t)"] + opts, file: file, line: line)
                XCTAssertEqual(try arborRoot(repo, "tar\(i)"), expected, "\(mode): \(t) differs from the directory", file: file, line: line)
            }
            let oracle = ostreeTarballs ?? tarballs
            if oracle.isEmpty { continue }
            let orepo = try newOstreeRepo(dir, "ostree-\(mode)", mode: mode == "archive" ? "archive-z2" : mode)
            for (i, t) in oracle.enumerated() {
                let opts = extra + (autocreate ? ["--tar-autocreate-parents"] : [])
                let r = try InteropTests.run(try ostreePath(), ["commit", "--repo=\(orepo)", "-b", "tar\(i)", "--tree=tar=\(t)"] + opts)
                XCTAssertEqual(r.status, 0, "ostree commit \(t): \(r.stderr)", file: file, line: line)
                XCTAssertEqual(try ostreeRoot(orepo, "tar\(i)"), expected, "\(mode): ostree's commit of \(t) differs", file: file, line: line)
            }
        }
    }

    private func sampleTree(_ dir: String) throws -> String {
        let tree = "\(dir)/sample"
        try runScript("make-sample-tree.sh", [tree])
        return tree
    }

    // MARK: Same tree as a directory commit and as ostree

    func testSampleTreeTarballsMatchDirectoryAndOstree() throws {
        _ = try ostreePath()
        let dir = try scratchDirectory(self, "arbor-tar-src")
        let tree = try sampleTree(dir)
        let pax = "\(dir)/sample-pax.tar.gz", paxRoot = "\(dir)/sample-noroot.tar.zst", gnu = "\(dir)/sample-gnu.tar.xz"
        try gnuTar(["--xattrs", "--xattrs-include=*", "--numeric-owner", "--format=pax", "-C", tree, "-czf", pax, "."])
        try gnuTar(["--xattrs", "--xattrs-include=*", "--numeric-owner", "--format=pax", "--zstd", "-C", tree, "-cf", paxRoot, "."])
        // GNU format has no xattrs: compare it with a commit that ignores them.
        try gnuTar(["--numeric-owner", "--format=gnu", "-C", tree, "-cJf", gnu, "."])
        try assertSameTree(tree, tarballs: [pax, paxRoot])
        try assertSameTree(tree, tarballs: [gnu], extra: ["--no-xattrs"])
        // ostree keeps a tarball's xattrs under --canonical-permissions: its oracle is the GNU tarball.
        try assertSameTree(tree, tarballs: [pax, gnu], extra: ["--canonical-permissions"], ostreeTarballs: [gnu])
        try assertSameTree(tree, tarballs: [pax], extra: ["--owner-uid=7", "--owner-gid=8"])
    }

    func testDemoTreeTarballsMatchDirectoryAndOstree() throws {
        _ = try ostreePath()
        let dir = try scratchDirectory(self, "arbor-tar-src")
        let tree = packageRoot.appendingPathComponent("trees/demo-1.0").path
        let zst = "\(dir)/demo.tar.zst", bz2 = "\(dir)/demo.tar.bz2"
        try gnuTar(["--xattrs", "--xattrs-include=*", "--numeric-owner", "--format=pax", "--zstd", "-C", tree, "-cf", zst, "."])
        try gnuTar(["--xattrs", "--xattrs-include=*", "--numeric-owner", "--format=pax", "-C", tree, "-cjf", bz2, "."])
        try assertSameTree(tree, tarballs: [zst, bz2])
    }

    func testOddTreeTarballsMatchDirectoryAndOstree() throws {
        _ = try ostreePath()
        let dir = try scratchDirectory(self, "arbor-tar-src")
        let tree = "\(dir)/odd"
        try runScript("make-odd-tree.sh", [tree, "3000"])
        let pax = "\(dir)/odd.tar.gz", gnu = "\(dir)/odd-gnu.tar"
        try gnuTar(["--xattrs", "--xattrs-include=*", "--numeric-owner", "--format=pax", "-C", tree, "-czf", pax, "."])
        try gnuTar(["--numeric-owner", "--format=gnu", "-C", tree, "-cf", gnu, "."])
        // ostree 2022.7 is no oracle for this tree's pax tarball: it keeps xattrs in archive
        // order (objects its own fsck then rejects), and in a UTF-8 locale libarchive hands it
        // Unicode-normalised names, so `café` and `cafe\u{301}` collapse into one file. The GNU
        // format tarball (raw names, no xattrs) is the oracle; the sample tree covers xattrs.
        try assertSameTree(tree, tarballs: [pax], ostreeTarballs: [])
        try assertSameTree(tree, tarballs: [pax, gnu], extra: ["--no-xattrs"], ostreeTarballs: [gnu])
    }

    // MARK: Export

    func testExportRoundTripsAndIsReproducible() throws {
        let dir = try scratchDirectory(self, "arbor-tar")
        let sample = try sampleTree(dir)
        let odd = "\(dir)/odd"
        try runScript("make-odd-tree.sh", [odd, "1000"])
        for mode in ["bare", "archive"] {
            let repo = try newRepo(dir, "repo-\(mode)", mode: mode)
            for (name, tree) in [("sample", sample), ("odd", odd)] {
                try arborOK("commit", "--repo=\(repo)", "-b", name, "--timestamp=2024-01-01T00:00:00Z", "--tree=dir=\(tree)")
                let expected = try arborRoot(repo, name)
                // Every compression on the small tree; the large one only plain and zstd (CI time).
                for ext in name == "sample" ? ["tar", "tar.gz", "tgz", "tar.xz", "tar.zst", "tar.bz2"] : ["tar", "tar.zst"] {
                    let a = "\(dir)/\(mode)-\(name)-a.\(ext)", b = "\(dir)/\(mode)-\(name)-b.\(ext)"
                    try arborOK("export", "--repo=\(repo)", "--output=\(a)", name)
                    try arborOK("export", "--repo=\(repo)", "--output=\(b)", name)
                    XCTAssertEqual(FileManager.default.contents(atPath: a), FileManager.default.contents(atPath: b), "\(a): export is not reproducible")
                    try arborOK("commit", "--repo=\(repo)", "-b", "back", "--tree=tar=\(a)")
                    XCTAssertEqual(try arborRoot(repo, "back"), expected, "\(mode) \(name) \(ext): export does not round-trip")
                }
                // Plain tar on standard output is the same bytes as a .tar file.
                let out = try InteropTests.run(arborBinary, ["export", "--repo=\(repo)", "--output=-", name])
                XCTAssertEqual(out.status, 0, out.stderr)
                XCTAssertEqual(out.stdoutData, FileManager.default.contents(atPath: "\(dir)/\(mode)-\(name)-a.tar"))
            }
        }
        // GNU tar extracts the export to the same files, xattrs included.
        let extracted = "\(dir)/extracted"
        try FileManager.default.createDirectory(atPath: extracted, withIntermediateDirectories: false)
        try gnuTar(["--xattrs", "--xattrs-include=*", "--numeric-owner", "-xpzf", "\(dir)/bare-sample-a.tar.gz", "-C", extracted])
        XCTAssertEqual(try treeManifest(extracted), try treeManifest(sample))
        // ostree reads the export to the same tree, xattrs and all (the odd tree's names defeat
        // ostree's libarchive in a UTF-8 locale: see the odd tree test).
        if let ostree = try? ostreePath() {
            let orepo = try newOstreeRepo(dir, "ostree", mode: "bare")
            let repo = "\(dir)/repo-bare"
            let r = try InteropTests.run(ostree, ["commit", "--repo=\(orepo)", "-b", "s", "--tree=tar=\(dir)/bare-sample-a.tar.gz"])
            XCTAssertEqual(r.status, 0, r.stderr)
            XCTAssertEqual(try ostreeRoot(orepo, "s"), try arborRoot(repo, "sample"))
        }
    }

    func testExportSubpathAndErrors() throws {
        let dir = try scratchDirectory(self, "arbor-tar")
        let sample = try sampleTree(dir)
        let repo = try newRepo(dir, "repo", mode: "bare")
        try arborOK("commit", "--repo=\(repo)", "-b", "s", "--tree=dir=\(sample)")
        try arborOK("export", "--repo=\(repo)", "--output=\(dir)/sub.tar", "--subpath=/sub", "s")
        try arborOK("commit", "--repo=\(repo)", "-b", "sub", "--tree=tar=\(dir)/sub.tar")
        let subLine = try arborOK("ls", "--repo=\(repo)", "-C", "-d", "s", "/sub")
        XCTAssertEqual(try arborRoot(repo, "sub"), rootPair(subLine))
        let listing = try InteropTests.run("tar", ["tf", "\(dir)/sub.tar"])
        XCTAssertEqual(listing.stdout.split(separator: "\n").map(String.init), ["./", "./dir/", "./dir/nested.txt", "./dir/uplink"])
        // Unknown extension, missing path: one-line errors and no file left behind.
        let bad = try arbor("export", "--repo=\(repo)", "--output=\(dir)/x.zip", "s")
        assertFails(bad, mentioning: "x.zip")
        let missing = try arbor("export", "--repo=\(repo)", "--output=\(dir)/y.tar", "--subpath=/nope", "s")
        assertFails(missing, mentioning: "/nope")
        XCTAssertFalse(FileManager.default.fileExists(atPath: "\(dir)/y.tar"))
        let leftovers = try FileManager.default.contentsOfDirectory(atPath: dir).filter { $0.contains(".tmp-") }
        XCTAssertEqual(leftovers, [])
    }

    // MARK: Hardlinks, standard input, layers

    func testHardlinksBecomeOneObjectAndExportAsHardlinks() throws {
        let dir = try scratchDirectory(self, "arbor-tar")
        let tree = "\(dir)/tree"
        try FileManager.default.createDirectory(atPath: "\(tree)/a/b", withIntermediateDirectories: true)
        try Data("shared content\n".utf8).write(to: URL(fileURLWithPath: "\(tree)/one"))
        XCTAssertEqual(link("\(tree)/one", "\(tree)/a/b/two"), 0)
        XCTAssertEqual(link("\(tree)/one", "\(tree)/a/three"), 0)
        let tarball = "\(dir)/links.tar"
        try gnuTar(["--numeric-owner", "--format=pax", "-C", tree, "-cf", tarball, "."])
        XCTAssertTrue(try InteropTests.run("tar", ["tvf", tarball]).stdout.contains(" link to "), "GNU tar wrote no hardlink entry")
        let repo = try newRepo(dir, "repo", mode: "bare")
        try arborOK("commit", "--repo=\(repo)", "-b", "t", "--tree=tar=\(tarball)")
        let sums = try ["/one", "/a/b/two", "/a/three"].map { p -> String in
            let l = try arborOK("ls", "--repo=\(repo)", "-C", "t", p)
            return String(l.split(separator: " ").dropLast().last ?? "")
        }
        XCTAssertEqual(Set(sums).count, 1, "hardlinks are not one object: \(sums)")
        try arborOK("commit", "--repo=\(repo)", "-b", "d", "--tree=dir=\(tree)")
        XCTAssertEqual(try arborRoot(repo, "t"), try arborRoot(repo, "d"))
        // Export writes the first path as a file and the others as hardlinks to it.
        try arborOK("export", "--repo=\(repo)", "--output=\(dir)/out.tar", "t")
        let listing = try InteropTests.run("tar", ["tvf", "\(dir)/out.tar"]).stdout
        XCTAssertEqual(listing.components(separatedBy: " link to ./a/b/two").count - 1, 2, listing)
    }

    func testStandardInput() throws {
        let dir = try scratchDirectory(self, "arbor-tar")
        let tree = try sampleTree(dir)
        try gnuTar(["--xattrs", "--xattrs-include=*", "--numeric-owner", "--format=pax", "-C", tree, "-czf", "\(dir)/s.tgz", "."])
        let repo = try newRepo(dir, "repo", mode: "bare")
        try arborOK("commit", "--repo=\(repo)", "-b", "d", "--tree=dir=\(tree)")
        guard let bytes = FileManager.default.contents(atPath: "\(dir)/s.tgz") else { return XCTFail("no tarball") }
        let r = try InteropTests.run(arborBinary, ["commit", "--repo=\(repo)", "-b", "stdin", "--tree=tar=-"], stdin: bytes)
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertEqual(try arborRoot(repo, "stdin"), try arborRoot(repo, "d"))
    }

    /// Builds a tarball with Python's tarfile from a spec: [(kind, name, extra)].
    private let tarfileScript = """
    import io, sys, tarfile, json
    out, spec = sys.argv[1], json.loads(sys.argv[2])
    with tarfile.open(out, "w", format=tarfile.PAX_FORMAT) as t:
        for kind, name, extra in spec:
            ti = tarfile.TarInfo(name); ti.uid = 0; ti.gid = 0; ti.mtime = 0
            if kind == "d": ti.type = tarfile.DIRTYPE; ti.mode = 0o755; t.addfile(ti)
            elif kind == "f":
                data = extra.encode(); ti.size = len(data); ti.mode = 0o644; t.addfile(ti, io.BytesIO(data))
            elif kind == "l": ti.type = tarfile.SYMTYPE; ti.linkname = extra; ti.mode = 0o777; t.addfile(ti)
            elif kind == "h": ti.type = tarfile.LNKTYPE; ti.linkname = extra; t.addfile(ti)
            elif kind == "c": ti.type = tarfile.CHRTYPE; ti.devmajor = 1; ti.devminor = 3; t.addfile(ti)
            elif kind == "p": ti.type = tarfile.FIFOTYPE; t.addfile(ti)
    """

    private func craft(_ path: String, _ spec: [(String, String, String)]) throws {
        let json = try JSONSerialization.data(withJSONObject: spec.map { [$0.0, $0.1, $0.2] })
        try python(tarfileScript, [path, String(decoding: json, as: UTF8.self)])
    }

    /// Paths and content-or-target of a tree, from `ls -R` and `cat`.
    private func treeSummary(_ repo: String, _ rev: String) throws -> [String] {
        let lines = try arborOK("ls", "--repo=\(repo)", "-R", rev).split(separator: "\n")
        return try lines.map { l -> String in
            let f = l.split(separator: " ", omittingEmptySubsequences: true)
            let path = String(f[4])
            if l.hasPrefix("-") { return path + "=" + (try arborOK("cat", "--repo=\(repo)", rev, path)) }
            if l.hasPrefix("l") { return path + "->" + String(f.last ?? "") }
            return path + "/"
        }
    }

    func testLayersAndWhiteouts() throws {
        let dir = try scratchDirectory(self, "arbor-tar")
        let lower = "\(dir)/lower.tar", upper = "\(dir)/upper.tar"
        try craft(lower, [("d", "./", ""), ("d", "a", ""), ("f", "a/x", "x1"), ("f", "a/y", "y1"), ("d", "b", ""),
                          ("f", "b/z", "z1"), ("f", "b/keep", "k1"), ("f", "top", "t1"), ("d", "gone", ""), ("f", "gone/f", "g")])
        // a: opaque (its marker after one of this layer's own entries), b/z and gone whited out, top replaced.
        try craft(upper, [("d", "a", ""), ("f", "a/new1", "n1"), ("f", "a/.wh..wh..opq", ""), ("f", "a/new2", "n2"),
                          ("f", "b/.wh.z", ""), ("f", ".wh.gone", ""), ("f", "top", "t2"), ("f", ".wh.absent", "")])
        let repo = try newRepo(dir, "repo", mode: "bare")
        try arborOK("commit", "--repo=\(repo)", "-b", "w", "--whiteouts", "--tree=tar=\(lower)", "--tree=tar=\(upper)")
        XCTAssertEqual(try treeSummary(repo, "w"), ["//", "/top=t2", "/a/", "/a/new1=n1", "/a/new2=n2", "/b/", "/b/keep=k1"])
        // Without --whiteouts the markers are ordinary files and nothing is removed.
        try arborOK("commit", "--repo=\(repo)", "-b", "plain", "--tree=tar=\(lower)", "--tree=tar=\(upper)")
        let plain = try treeSummary(repo, "plain")
        XCTAssertTrue(plain.contains("/a/.wh..wh..opq=") && plain.contains("/a/x=x1") && plain.contains("/gone/f=g"), "\(plain)")
        // A directory layer below, a tarball above: later wins across kinds of source.
        let base = "\(dir)/base"
        try FileManager.default.createDirectory(atPath: "\(base)/b", withIntermediateDirectories: true)
        try Data("from dir".utf8).write(to: URL(fileURLWithPath: "\(base)/b/z"))
        try Data("only dir".utf8).write(to: URL(fileURLWithPath: "\(base)/b/d"))
        try arborOK("commit", "--repo=\(repo)", "-b", "mixed", "--whiteouts", "--tree=dir=\(base)", "--tree=tar=\(upper)")
        let mixed = try treeSummary(repo, "mixed")
        XCTAssertTrue(mixed.contains("/b/d=only dir") && !mixed.contains { $0.hasPrefix("/b/z") }, "\(mixed)")
        // A whiteout naming something that is no name at all is refused.
        let evil = "\(dir)/evil.tar"
        try craft(evil, [("d", "./", ""), ("f", "a/.wh...", "")])
        let before = try objectFiles(repo)
        assertFails(try arbor("commit", "--repo=\(repo)", "-b", "w", "--whiteouts", "--tree=tar=\(lower)", "--tree=tar=\(evil)"),
                    mentioning: "whiteout")
        XCTAssertEqual(try objectFiles(repo), before)
    }

    // MARK: OCI image layouts

    /// Writes an OCI layout with two tags: v1 (two layers, the second with whiteouts) and base (the first layer only).
    private let ociScript = """
    import gzip, hashlib, io, json, os, sys, tarfile
    root = sys.argv[1]
    os.makedirs(root + "/blobs/sha256")
    def blob(data, media):
        h = hashlib.sha256(data).hexdigest()
        with open(root + "/blobs/sha256/" + h, "wb") as f: f.write(data)
        return {"mediaType": media, "digest": "sha256:" + h, "size": len(data)}
    def layer(entries):
        buf = io.BytesIO()
        with tarfile.open(fileobj=buf, mode="w", format=tarfile.PAX_FORMAT) as t:
            for kind, name, data in entries:
                ti = tarfile.TarInfo(name); ti.mtime = 0
                if kind == "d": ti.type = tarfile.DIRTYPE; ti.mode = 0o755; t.addfile(ti)
                else: ti.size = len(data); ti.mode = 0o644; t.addfile(ti, io.BytesIO(data))
        return buf.getvalue()
    l1 = layer([("d", "etc/", b""), ("f", "etc/hostname", b"one\\n"), ("f", "usr/bin/tool", b"#!/bin/sh\\n"),
                ("f", "opt/keep/a", b"a"), ("f", "opt/keep/b", b"b"), ("f", "var/lib/x", b"old")])
    l2 = layer([("f", "etc/.wh.hostname", b""), ("f", "opt/keep/.wh..wh..opq", b""), ("f", "opt/keep/c", b"c"),
                ("f", "var/lib/x", b"new")])
    d1 = blob(gzip.compress(l1, mtime=0), "application/vnd.oci.image.layer.v1.tar+gzip")
    d2 = blob(l2, "application/vnd.oci.image.layer.v1.tar")
    def image(layers, raw):
        config = {"architecture": "amd64", "os": "linux",
                  "rootfs": {"type": "layers", "diff_ids": ["sha256:" + hashlib.sha256(r).hexdigest() for r in raw]}}
        c = blob(json.dumps(config).encode(), "application/vnd.oci.image.config.v1+json")
        m = {"schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json", "config": c, "layers": layers}
        return blob(json.dumps(m).encode(), "application/vnd.oci.image.manifest.v1+json"), c
    m1, c1 = image([d1, d2], [l1, l2])
    m0, c0 = image([d1], [l1])
    index = {"schemaVersion": 2, "manifests": [
        dict(m1, annotations={"org.opencontainers.image.ref.name": "v1"}),
        dict(m0, annotations={"org.opencontainers.image.ref.name": "base"})]}
    with open(root + "/index.json", "w") as f: json.dump(index, f)
    with open(root + "/oci-layout", "w") as f: json.dump({"imageLayoutVersion": "1.0.0"}, f)
    print(m1["digest"], c1["digest"], d1["digest"], d2["digest"])
    """

    func testOCIImageLayout() throws {
        let dir = try scratchDirectory(self, "arbor-tar")
        let layout = "\(dir)/image"
        let digests = try python(ociScript, [layout]).split(separator: " ").map { $0.trimmingCharacters(in: .whitespacesAndNewlines) }
        XCTAssertEqual(digests.count, 4)
        guard digests.count == 4 else { return }
        let (manifest, config, layer2) = (digests[0], digests[1], digests[3])
        let repo = try newRepo(dir, "repo", mode: "archive")
        try arborOK("commit", "--repo=\(repo)", "-b", "img", "--tree=oci=\(layout):v1")
        XCTAssertEqual(try treeSummary(repo, "img"), ["//", "/etc/", "/opt/", "/opt/keep/", "/opt/keep/c=c", "/usr/", "/usr/bin/",
                                                      "/usr/bin/tool=#!/bin/sh", "/var/", "/var/lib/", "/var/lib/x=new"])
        let show = try arborOK("show", "--repo=\(repo)", "img")
        XCTAssertTrue(show.contains("oci.manifest.digest: '\(manifest)'") || show.contains("oci.manifest.digest: \(manifest)"), show)
        XCTAssertTrue(show.contains(config), show)
        try arborOK("commit", "--repo=\(repo)", "-b", "base", "--tree=oci=\(layout):base")
        XCTAssertTrue(try treeSummary(repo, "base").contains("/etc/hostname=one"))
        // Two images and no tag: an error listing the tags. An unknown tag: an error naming it.
        assertFails(try arbor("commit", "--repo=\(repo)", "-b", "x", "--tree=oci=\(layout)"), mentioning: "base, v1")
        assertFails(try arbor("commit", "--repo=\(repo)", "-b", "x", "--tree=oci=\(layout):nope"), mentioning: "nope")

        // A tampered layer (same size, one byte changed): refused, naming the digest; nothing written.
        let blobPath = "\(layout)/blobs/sha256/\(layer2.dropFirst(7))"
        guard var bytes = FileManager.default.contents(atPath: blobPath) else { return XCTFail("no blob") }
        bytes[600] ^= 0x20
        try bytes.write(to: URL(fileURLWithPath: blobPath))
        let head = try arborOK("rev-parse", "--repo=\(repo)", "img")
        let before = try objectFiles(repo)
        assertFails(try arbor("commit", "--repo=\(repo)", "-b", "img", "--tree=oci=\(layout):v1"), mentioning: layer2)
        XCTAssertEqual(try arborOK("rev-parse", "--repo=\(repo)", "img"), head)
        XCTAssertEqual(try objectFiles(repo), before)
        // A blob cut short: the size is checked too.
        try bytes.prefix(100).write(to: URL(fileURLWithPath: blobPath))
        assertFails(try arbor("commit", "--repo=\(repo)", "-b", "img", "--tree=oci=\(layout):v1"), mentioning: layer2)
        XCTAssertEqual(try objectFiles(repo), before)
    }

    // MARK: Hostile archives

    func testHostileTarballs() throws {
        let dir = try scratchDirectory(self, "arbor-tar")
        let repo = try newRepo(dir, "repo", mode: "bare")
        let good = "\(dir)/good.tar"
        try craft(good, [("d", "./", ""), ("f", "ok", "fine")])
        let head = try arborOK("commit", "--repo=\(repo)", "-b", "main", "--tree=tar=\(good)")
        let before = try objectFiles(repo)
        func refused(_ name: String, _ spec: [(String, String, String)], mentioning needle: String, extra: [String] = [],
                     file: StaticString = #filePath, line: UInt = #line) throws {
            let path = "\(dir)/\(name).tar"
            try craft(path, spec)
            let r = try arbor(["commit", "--repo=\(repo)", "-b", "main", "--tree=tar=\(path)"] + extra)
            assertFails(r, mentioning: needle, file: file, line: line)
            XCTAssertEqual(try arborOK("rev-parse", "--repo=\(repo)", "main"), head, "ref moved", file: file, line: line)
            XCTAssertEqual(try objectFiles(repo), before, "objects left behind", file: file, line: line)
        }
        try refused("dotdot", [("d", "./", ""), ("f", "../escape", "x")], mentioning: "../escape")
        try refused("dotdot-inner", [("d", "./", ""), ("d", "a", ""), ("f", "a/../../escape", "x")], mentioning: "a/../../escape")
        try refused("through-symlink", [("d", "./", ""), ("l", "link", "\(dir)/outside"), ("f", "link/file", "x")],
                    mentioning: "link/file", extra: ["--tar-autocreate-parents"])
        XCTAssertFalse(FileManager.default.fileExists(atPath: "\(dir)/outside"), "something was written through the symlink")
        try refused("hardlink-missing", [("d", "./", ""), ("h", "x", "nowhere")], mentioning: "nowhere")
        try refused("hardlink-dotdot", [("d", "./", ""), ("h", "x", "../../etc/passwd")], mentioning: "../../etc/passwd")
        try refused("missing-parent", [("d", "./", ""), ("f", "no/such/dir/f", "x")], mentioning: "no")
        try refused("no-root", [("f", "f", "x")], mentioning: "--tar-autocreate-parents")
        try refused("long-name", [("d", "./", ""), ("f", String(repeating: "d/", count: 2100) + "f", "x")], mentioning: "longer than")
        try refused("chardev", [("d", "./", ""), ("c", "dev/null", "")], mentioning: "dev/null", extra: ["--tar-autocreate-parents"])
        try refused("fifo", [("d", "./", ""), ("p", "fifo", "")], mentioning: "fifo")

        // Absolute names are made relative, as tar does.
        let abs = "\(dir)/abs.tar"
        try craft(abs, [("d", "/", ""), ("d", "/etc", ""), ("f", "/etc/x", "abs"), ("f", "./etc/./y", "dot")])
        try arborOK("commit", "--repo=\(repo)", "-b", "abs", "--tree=tar=\(abs)")
        XCTAssertEqual(try treeSummary(repo, "abs"), ["//", "/etc/", "/etc/x=abs", "/etc/y=dot"])

        // With --tar-skip-special, special files are left out and listed on stderr.
        let special = "\(dir)/special.tar"
        try craft(special, [("d", "./", ""), ("d", "dev", ""), ("c", "dev/null", ""), ("p", "fifo", ""), ("f", "ok", "fine")])
        let r = try arbor("commit", "--repo=\(repo)", "-b", "special", "--tar-skip-special", "--tree=tar=\(special)")
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertTrue(r.stderr.contains("/dev/null") && r.stderr.contains("/fifo"), r.stderr)
        XCTAssertEqual(try treeSummary(repo, "special"), ["//", "/ok=fine", "/dev/"])
    }

    func testTruncatedAndCorruptArchives() throws {
        let dir = try scratchDirectory(self, "arbor-tar")
        let tree = "\(dir)/odd"
        try runScript("make-odd-tree.sh", [tree, "500"])
        let full = "\(dir)/odd.tar.gz"
        try gnuTar(["--numeric-owner", "--format=pax", "-C", tree, "-czf", full, "."])
        let repo = try newRepo(dir, "repo", mode: "archive")
        let head = try arborOK("commit", "--repo=\(repo)", "-b", "main", "--tree=dir=\(tree)")
        let before = try objectFiles(repo)
        guard let bytes = FileManager.default.contents(atPath: full) else { return XCTFail("no tarball") }
        let cases: [(String, Data)] = [
            ("truncated.tar.gz", bytes.prefix(bytes.count * 2 / 3)),
            ("corrupt.tar.gz", { var b = bytes; for i in stride(from: 4000, to: min(b.count, 4100), by: 1) { b[i] ^= 0x55 }; return b }()),
            ("garbage.tar", Data((0..<3000).map { UInt8(truncatingIfNeeded: $0 &* 7 &+ 1) })),
        ]
        for (name, data) in cases {
            let path = "\(dir)/\(name)"
            try data.write(to: URL(fileURLWithPath: path))
            assertFails(try arbor("commit", "--repo=\(repo)", "-b", "main", "--tree=tar=\(path)"), mentioning: name)
            XCTAssertEqual(try arborOK("rev-parse", "--repo=\(repo)", "main"), head)
            XCTAssertEqual(try objectFiles(repo), before, "\(name): objects left behind")
        }
        // A member whose header claims more data than the archive holds.
        let liar = "\(dir)/liar.tar"
        try python("""
        import io, sys, tarfile
        buf = io.BytesIO()
        with tarfile.open(fileobj=buf, mode="w", format=tarfile.PAX_FORMAT) as t:
            d = tarfile.TarInfo("./"); d.type = tarfile.DIRTYPE; t.addfile(d)
            ti = tarfile.TarInfo("big"); ti.size = 100000; t.addfile(ti, io.BytesIO(b"x" * 100000))
        open(sys.argv[1], "wb").write(buf.getvalue()[:3 * 512 + 4096])
        """, [liar])
        assertFails(try arbor("commit", "--repo=\(repo)", "-b", "main", "--tree=tar=\(liar)"), mentioning: "liar.tar")
        XCTAssertEqual(try objectFiles(repo), before)
    }

    // MARK: A real root filesystem (opt-in)

    /// With ARBOR_ROOTFS=DIR (built by scripts/make-rootfs.sh DIR), the debootstrap tarball
    /// commits to the same tree as its directory and as ostree's import, and round-trips.
    func testDebootstrapRootfs() throws {
        guard let rootfs = ProcessInfo.processInfo.environment["ARBOR_ROOTFS"] else {
            throw XCTSkip("set ARBOR_ROOTFS to a directory made by scripts/make-rootfs.sh")
        }
        let tarball = "\(rootfs)/v1.tar"
        try assertSameTree("\(rootfs)/v1", tarballs: [tarball])
        let dir = try scratchDirectory(self, "arbor-rootfs")
        let repo = try newRepo(dir, "repo", mode: "bare")
        try arborOK("commit", "--repo=\(repo)", "-b", "v1", "--tree=tar=\(tarball)")
        try arborOK("export", "--repo=\(repo)", "--output=\(dir)/v1.tar.zst", "v1")
        try arborOK("commit", "--repo=\(repo)", "-b", "back", "--tree=tar=\(dir)/v1.tar.zst")
        XCTAssertEqual(try arborRoot(repo, "back"), try arborRoot(repo, "v1"))
    }
}
