// Security review of paths: checkout, export, tar and OCI import and deploy must resolve every path
// under their root and never follow a symlink out of it. Trees full of traps (symlink loops, `..`
// targets, absolute targets, a directory replaced by a symlink between layers, tar entries named
// `../x` or `/x`, hardlinks to outside files, /etc merges through symlinks) are imported, checked
// out, exported and deployed, and a sentinel directory outside must stay exactly as it was:
// same entries, same bytes, same modes, same mtimes.
import Foundation
import XCTest

private let K = TortureKit.self

/// A directory outside every target whose listing, contents and mtimes must never change.
private struct Sentinel {
    let path: String
    let secret = "sentinel secret: must never be read into a tree\n"
    private var snapshot: String = ""

    init(_ base: String) throws {
        path = "\(base)/outside"
        try FileManager.default.createDirectory(atPath: "\(path)/subdir", withIntermediateDirectories: true)
        for name in ["sentinel.txt", "f.conf", "del.conf", "subdir/x.txt"] {
            try secret.write(toFile: "\(path)/\(name)", atomically: false, encoding: .utf8)
        }
        try "ID=pwned\nPRETTY_NAME=\"PWNED OS\"\n".write(toFile: "\(path)/os-release", atomically: false, encoding: .utf8)
        // Old mtimes, so that any touch shows.
        _ = try K.exec("touch", ["-h", "-d", "2001-01-01 00:00:00", path, "\(path)/subdir"] +
                       ["sentinel.txt", "f.conf", "del.conf", "subdir/x.txt", "os-release"].map { "\(path)/\($0)" })
        snapshot = try Sentinel.list(path)
    }

    static func list(_ path: String) throws -> String {
        try K.python("""
            import hashlib, stat
            root = sys.argv[1]
            out = []
            for d, dirs, files in os.walk(root):
                dirs.sort()
                for n in sorted(dirs) + sorted(files) + ([''] if d == root else []):
                    p = os.path.join(d, n) if n else d
                    st = os.lstat(p)
                    what = ''
                    if stat.S_ISLNK(st.st_mode): what = os.readlink(p)
                    elif stat.S_ISREG(st.st_mode): what = hashlib.sha256(open(p, 'rb').read()).hexdigest()
                    out.append('%s %o %d %d %d %s' % (os.path.relpath(p, root), st.st_mode, st.st_size, st.st_mtime_ns, st.st_nlink, what))
            print('\\n'.join(out))
            """, [path])
    }

    func assertUnchanged(_ what: String, file: StaticString = #filePath, line: UInt = #line) throws {
        let now = try Sentinel.list(path)
        XCTAssertEqual(now, snapshot, "\(what): something outside the target changed", file: file, line: line)
    }
}

final class PathSecurityTests: XCTestCase {
    /// `arbor ls -R` of a revision: path -> type character.
    private func listing(_ repo: String, _ rev: String) throws -> [String: Character] {
        var out: [String: Character] = [:]
        for line in try K.arborMust(["ls", "--repo=\(repo)", "-R", rev]).split(separator: "\n") {
            let f = line.split(separator: " ", omittingEmptySubsequences: true)
            guard f.count >= 5, let t = f[0].first else { continue }
            // The path is everything from the fifth field on, up to a symlink's " -> ".
            out[f[4...].joined(separator: " ").components(separatedBy: " -> ")[0]] = t
        }
        return out
    }

    /// Checks a committed revision out (hardlinks and copies) and exports it; nothing may land outside.
    private func materialise(_ repo: String, _ rev: String, _ base: String, _ sentinel: Sentinel, _ what: String,
                             file: StaticString = #filePath, line: UInt = #line) throws {
        for copy in [false, true] {
            let parent = "\(base)/co-\(UUID().uuidString.prefix(6))"
            try FileManager.default.createDirectory(atPath: parent, withIntermediateDirectories: true)
            let o = try K.arbor(["checkout", "--repo=\(repo)"] + (copy ? ["-C"] : []) + [rev, "\(parent)/dest"])
            if o.status != 0 { K.assertCleanError(o, "\(what): checkout\(copy ? " -C" : "")", file: file, line: line) }
            XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: parent).filter { $0 != "dest" }, [],
                           "\(what): checkout wrote next to its destination", file: file, line: line)
            try sentinel.assertUnchanged("\(what): checkout\(copy ? " -C" : "")", file: file, line: line)
            // A union checkout over the first one must not follow the symlinks it placed there.
            if o.status == 0 {
                let u = try K.arbor(["checkout", "--repo=\(repo)", "--union"] + (copy ? ["-C"] : []) + [rev, "\(parent)/dest"])
                if u.status != 0 { K.assertCleanError(u, "\(what): union checkout over itself", file: file, line: line) }
                try sentinel.assertUnchanged("\(what): union checkout\(copy ? " -C" : "")", file: file, line: line)
            }
        }
        let tarball = "\(base)/export-\(UUID().uuidString.prefix(6)).tar"
        let e = try K.arbor(["export", "--repo=\(repo)", "--output=\(tarball)", rev])
        XCTAssertEqual(e.status, 0, "\(what): export: \(e.summary)", file: file, line: line)
        try sentinel.assertUnchanged("\(what): export", file: file, line: line)
        if e.status == 0 {
            // Every member stays under the root; nothing of the sentinel's bytes is inside.
            let bad = try K.python("""
                import tarfile
                secret = open(sys.argv[2], 'rb').read()
                bad = []
                with tarfile.open(sys.argv[1]) as t:
                    for m in t.getmembers():
                        parts = m.name.split('/')
                        if m.name.startswith('/') or '..' in parts:
                            bad.append('member name ' + m.name)
                        if m.islnk() and (m.linkname.startswith('/') or '..' in m.linkname.split('/')):
                            bad.append('hardlink %s -> %s' % (m.name, m.linkname))
                        if m.isfile() and t.extractfile(m).read() == secret:
                            bad.append('outside bytes in ' + m.name)
                print('\\n'.join(bad))
                """, [tarball, "\(sentinel.path)/sentinel.txt"], file: file, line: line)
            XCTAssertEqual(bad.trimmingCharacters(in: .whitespacesAndNewlines), "", "\(what): exported tarball", file: file, line: line)
        }
    }

    /// The trap tree's first layer: loops, `..` and absolute targets, and directories later layers replace.
    private func makeLayerA(_ dir: String, _ outside: String) throws {
        let fm = FileManager.default
        for d in ["sub/deeper", "swap", "usr/etc"] { try fm.createDirectory(atPath: "\(dir)/\(d)", withIntermediateDirectories: true) }
        try "inner\n".write(toFile: "\(dir)/sub/inner.txt", atomically: false, encoding: .utf8)
        try "deeper\n".write(toFile: "\(dir)/sub/deeper/x.txt", atomically: false, encoding: .utf8)
        try "swap\n".write(toFile: "\(dir)/swap/f.txt", atomically: false, encoding: .utf8)
        let links: [(String, String)] = [
            ("loop1", "loop2"), ("loop2", "loop1"), ("self", "self"), ("dotdot", ".."),
            ("up", String(repeating: "../", count: 12)), ("abs-dir", outside),
            ("abs-missing", "\(outside)/created-by-arbor"), ("abs-file", "\(outside)/sentinel.txt"),
            ("rel-escape", String(repeating: "../", count: 30) + outside.dropFirst()),
            ("sub/deeper/back", "../../../../../.."), ("usr/etc/passwd-link", "/etc/passwd"),
        ]
        for (name, target) in links { try fm.createSymbolicLink(atPath: "\(dir)/\(name)", withDestinationPath: target) }
    }

    /// The second layer: `sub` (a directory below) becomes a symlink out; `abs-dir` (a symlink
    /// below) becomes a directory; `swap` becomes a `..` symlink.
    private func makeLayerB(_ dir: String, _ outside: String) throws {
        let fm = FileManager.default
        try fm.createDirectory(atPath: "\(dir)/abs-dir", withIntermediateDirectories: true)
        try "pwned?\n".write(toFile: "\(dir)/abs-dir/pwned.txt", atomically: false, encoding: .utf8)
        try fm.createSymbolicLink(atPath: "\(dir)/sub", withDestinationPath: outside)
        try fm.createSymbolicLink(atPath: "\(dir)/swap", withDestinationPath: "../../../..")
    }

    private func newRepo(_ base: String) throws -> String {
        let repo = "\(base)/repo"
        try K.arborMust(["init", "--repo=\(repo)", "--mode=bare"])
        return repo
    }

    // MARK: Directory layers

    func testDirectoryLayersFullOfTrapsStayInside() throws {
        try XCTSkipUnless(isRoot, "bare checkouts need root")
        let base = try scratchDirectory(self, "arbor-pathsec-dir")
        let sentinel = try Sentinel(base)
        let work = "\(base)/work"
        let a = "\(work)/A", b = "\(work)/B"
        try makeLayerA(a, sentinel.path)
        try makeLayerB(b, sentinel.path)
        let repo = try newRepo(work)

        // B over A: sub is the symlink (A's entries below it are gone), abs-dir is a directory.
        try K.arborMust(["commit", "--repo=\(repo)", "-b", "ab", "--tree=dir=\(a)", "--tree=dir=\(b)"])
        let ab = try listing(repo, "ab")
        XCTAssertEqual(ab["/sub"], "l", "B's symlink replaces A's directory")
        XCTAssertNil(ab["/sub/inner.txt"], "A's entries under a directory B replaced by a symlink must go")
        XCTAssertEqual(ab["/abs-dir"], "d")
        XCTAssertEqual(ab["/abs-dir/pwned.txt"], "-")
        XCTAssertEqual(ab["/swap"], "l")
        try sentinel.assertUnchanged("commit of B over A")
        try materialise(repo, "ab", work, sentinel, "B over A")

        // A over B: the directories win back.
        try K.arborMust(["commit", "--repo=\(repo)", "-b", "ba", "--tree=dir=\(b)", "--tree=dir=\(a)"])
        let ba = try listing(repo, "ba")
        XCTAssertEqual(ba["/sub"], "d")
        XCTAssertEqual(ba["/sub/inner.txt"], "-")
        XCTAssertEqual(ba["/abs-dir"], "l")
        XCTAssertNil(ba["/abs-dir/pwned.txt"])
        try materialise(repo, "ba", work, sentinel, "A over B")

        // Reading through a symlink in the tree never reaches the disk outside.
        for path in ["/abs-file", "/abs-dir/sentinel.txt", "/sub/sentinel.txt", "/rel-escape/sentinel.txt", "/loop1", "/self"] {
            let o = try K.arbor(["cat", "--repo=\(repo)", "ab", path])
            XCTAssertFalse(o.stdout.contains(sentinel.secret), "cat \(path) read the outside file")
            if o.status != 0 { K.assertCleanError(o, "cat \(path)") }
        }
        for sub in ["/sub", "/rel-escape", "/up", "/loop1"] {
            let dest = "\(work)/subpath-\(sub.dropFirst())"
            let o = try K.arbor(["checkout", "--repo=\(repo)", "--subpath=\(sub)", "ab", dest])
            if o.status != 0 { K.assertCleanError(o, "checkout --subpath=\(sub)") }
            let e = try K.arbor(["export", "--repo=\(repo)", "--subpath=\(sub)", "--output=\(dest).tar", "ab"])
            if e.status != 0 { K.assertCleanError(e, "export --subpath=\(sub)") }
            if e.status == 0 {
                let t = try K.exec("tar", ["-tvf", "\(dest).tar"])
                XCTAssertFalse(t.stdout.contains("sentinel.txt"), "export --subpath=\(sub) followed the symlink out: \(t.stdout)")
            }
            try sentinel.assertUnchanged("--subpath=\(sub)")
        }
    }

    // MARK: Tarballs and OCI layouts

    /// Python: writes tarballs and OCI layouts full of traps into argv[1]; argv[2] is the outside dir.
    private let makeHostileArchives = """
        import tarfile, io, hashlib
        out, outside = sys.argv[1], sys.argv[2]
        os.makedirs(out, exist_ok=True)
        def member(name, kind, data=b'', target=''):
            ti = tarfile.TarInfo(name)
            ti.mtime = 1700000000
            ti.mode = 0o755 if kind == 'dir' else 0o644
            if kind == 'dir': ti.type = tarfile.DIRTYPE
            elif kind == 'sym': ti.type = tarfile.SYMTYPE; ti.linkname = target
            elif kind == 'hard': ti.type = tarfile.LNKTYPE; ti.linkname = target
            else: ti.size = len(data)
            return ti, (io.BytesIO(data) if kind == 'file' else None)
        def tarball(path, members):
            with tarfile.open(path, 'w', format=tarfile.PAX_FORMAT) as t:
                for m in [('./', 'dir')] + members: t.addfile(*member(*m))
        layer_a = [('sub', 'dir'), ('sub/inner.txt', 'file', b'inner\\n'), ('sub/deeper', 'dir'),
                   ('sub/deeper/x.txt', 'file', b'deeper\\n'), ('abs-dir', 'sym', b'', outside),
                   ('loop1', 'sym', b'', 'loop2'), ('loop2', 'sym', b'', 'loop1'), ('dotdot', 'sym', b'', '..'),
                   ('up', 'sym', b'', '../' * 12), ('rel-escape', 'sym', b'', '../' * 30 + outside.lstrip('/'))]
        layer_b = [('sub', 'sym', b'', outside), ('abs-dir', 'dir'), ('abs-dir/pwned.txt', 'file', b'pwned?\\n')]
        tarball(out + '/A.tar', layer_a)
        tarball(out + '/B.tar', layer_b)
        cases = {
            'symlink-then-child': [('sub', 'sym', b'', outside), ('sub/pwned.txt', 'file', b'x\\n')],
            'symlink-then-subdir': [('d', 'sym', b'', outside), ('d/x', 'dir'), ('d/x/y.txt', 'file', b'y\\n')],
            'dir-then-symlink': [('s', 'dir'), ('s/f.txt', 'file', b'f\\n'), ('s', 'sym', b'', outside), ('s/g.txt', 'file', b'g\\n')],
            'dotdot-name': [('../escape.txt', 'file', b'e\\n')],
            'dotdot-inside': [('a', 'dir'), ('a/../../b.txt', 'file', b'b\\n')],
            'absolute-name': [(outside + '/abs-escape.txt', 'file', b'abs\\n')],
            'hardlink-dotdot': [('hl', 'hard', b'', '../' * 8 + outside.lstrip('/') + '/sentinel.txt')],
            'hardlink-absolute': [('hl', 'hard', b'', outside + '/sentinel.txt')],
            'hardlink-through-symlink': [('l', 'sym', b'', outside), ('hl', 'hard', b'', 'l/sentinel.txt')],
        }
        for name, members in cases.items():
            tarball('%s/case-%s.tar' % (out, name), members)
        # OCI layouts: a directory below replaced by a symlink out, then a file below that symlink.
        def blob(layout, data):
            h = hashlib.sha256(data).hexdigest()
            os.makedirs(layout + '/blobs/sha256', exist_ok=True)
            open('%s/blobs/sha256/%s' % (layout, h), 'wb').write(data)
            return {'digest': 'sha256:' + h, 'size': len(data)}
        def oci(layout, layers):
            os.makedirs(layout, exist_ok=True)
            open(layout + '/oci-layout', 'w').write('{"imageLayoutVersion": "1.0.0"}')
            descs, diffs = [], []
            for members in layers:
                buf = io.BytesIO()
                with tarfile.open(fileobj=buf, mode='w', format=tarfile.PAX_FORMAT) as t:
                    for m in members: t.addfile(*member(*m))
                data = buf.getvalue()
                d = blob(layout, data); d['mediaType'] = 'application/vnd.oci.image.layer.v1.tar'
                descs.append(d); diffs.append(d['digest'])
            config = blob(layout, json.dumps({'architecture': 'amd64', 'os': 'linux', 'rootfs': {'type': 'layers', 'diff_ids': diffs}}).encode())
            config['mediaType'] = 'application/vnd.oci.image.config.v1+json'
            manifest = blob(layout, json.dumps({'schemaVersion': 2, 'mediaType': 'application/vnd.oci.image.manifest.v1+json',
                                                'config': config, 'layers': descs}).encode())
            manifest['mediaType'] = 'application/vnd.oci.image.manifest.v1+json'
            json.dump({'schemaVersion': 2, 'manifests': [manifest]}, open(layout + '/index.json', 'w'))
        oci(out + '/oci-swap', [layer_a, layer_b, [('sub/pwned.txt', 'file', b'below a symlink\\n')]])
        oci(out + '/oci-whiteout', [layer_a, [('sub/.wh...', 'file', b''), ('.wh.abs-dir', 'file', b'')]])
        oci(out + '/oci-dotdot', [layer_a, [('sub/../../oci-escape.txt', 'file', b'e\\n')]])
        oci(out + '/oci-absolute', [[(outside + '/oci-abs.txt', 'file', b'abs\\n')]])
        """

    /// Checks a commit made from hostile input: no name escapes, no outside bytes, then materialises it.
    private func checkImported(_ repo: String, _ ref: String, _ work: String, _ sentinel: Sentinel, _ what: String) throws {
        let l = try listing(repo, ref)
        for p in l.keys {
            XCTAssertFalse(p.split(separator: "/").contains(".."), "\(what): path \(p) in the tree")
        }
        for (p, t) in l where t == "-" {
            let o = try K.arbor(["cat", "--repo=\(repo)", ref, p])
            XCTAssertFalse(o.stdout.contains(sentinel.secret), "\(what): \(p) holds the outside file's bytes")
        }
        try materialise(repo, ref, work, sentinel, what)
    }

    func testTarballTrapsStayInside() throws {
        try XCTSkipUnless(isRoot, "bare checkouts need root")
        let base = try scratchDirectory(self, "arbor-pathsec-tar")
        let sentinel = try Sentinel(base)
        let work = "\(base)/work"
        let archives = "\(work)/archives"
        try K.python(makeHostileArchives, [archives, sentinel.path])
        let repo = try newRepo(work)

        try K.arborMust(["commit", "--repo=\(repo)", "-b", "ab", "--tree=tar=\(archives)/A.tar", "--tree=tar=\(archives)/B.tar"])
        let ab = try listing(repo, "ab")
        XCTAssertEqual(ab["/sub"], "l", "the tarball layer's symlink replaces the directory")
        XCTAssertNil(ab["/sub/inner.txt"])
        XCTAssertEqual(ab["/abs-dir"], "d")
        try checkImported(repo, "ab", work, sentinel, "tar B over tar A")
        try K.arborMust(["commit", "--repo=\(repo)", "-b", "ba", "--tree=tar=\(archives)/B.tar", "--tree=tar=\(archives)/A.tar"])
        XCTAssertEqual(try listing(repo, "ba")["/sub"], "d")
        try checkImported(repo, "ba", work, sentinel, "tar A over tar B")

        for name in ["symlink-then-child", "symlink-then-subdir", "dir-then-symlink", "dotdot-name", "dotdot-inside",
                     "absolute-name", "hardlink-dotdot", "hardlink-absolute", "hardlink-through-symlink"] {
            let o = try K.arbor(["commit", "--repo=\(repo)", "-b", "case/\(name)", "--tar-autocreate-parents", "--tree=tar=\(archives)/case-\(name).tar"])
            try sentinel.assertUnchanged("tar case \(name): commit")
            if o.status != 0 {
                K.assertCleanError(o, "tar case \(name)")
                continue
            }
            try checkImported(repo, "case/\(name)", work, sentinel, "tar case \(name)")
        }
        try K.assertRepoSane(repo, "after the hostile tarballs")
    }

    func testOCILayoutTrapsStayInside() throws {
        try XCTSkipUnless(isRoot, "bare checkouts need root")
        let base = try scratchDirectory(self, "arbor-pathsec-oci")
        let sentinel = try Sentinel(base)
        let work = "\(base)/work"
        let archives = "\(work)/archives"
        try K.python(makeHostileArchives, [archives, sentinel.path])
        let repo = try newRepo(work)
        for name in ["oci-swap", "oci-whiteout", "oci-dotdot", "oci-absolute"] {
            let o = try K.arbor(["commit", "--repo=\(repo)", "-b", name, "--tree=oci=\(archives)/\(name)"])
            try sentinel.assertUnchanged("\(name): commit")
            if o.status != 0 {
                K.assertCleanError(o, name)
                continue
            }
            if name == "oci-swap" {
                // The file below the symlink: either a real directory replaced the symlink, or nothing is below it.
                let l = try listing(repo, name)
                if l["/sub"] == "l" { XCTAssertNil(l["/sub/pwned.txt"], "a file listed below a symlink") }
            }
            try checkImported(repo, name, work, sentinel, name)
        }
    }

    // MARK: Deploy and the /etc merge

    /// A deployable tree (demo) with extra /usr/etc entries and symlinks; `etc` maps paths to
    /// file text, or to "->TARGET" for symlinks, or to "/" for directories.
    private func osTree(_ dir: String, demo: String, etc: [(String, String)], usr: [(String, String)] = []) throws {
        try K.copyTree(demo, to: dir)
        let fm = FileManager.default
        for (prefix, list) in [("usr/etc", etc), ("usr", usr)] {
            for (path, what) in list {
                let p = "\(dir)/\(prefix)/\(path)"
                try fm.createDirectory(atPath: (p as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
                if (try? fm.attributesOfItem(atPath: p)) != nil || (try? fm.destinationOfSymbolicLink(atPath: p)) != nil {
                    _ = try K.exec("rm", ["-rf", p])
                }
                if what == "/" {
                    try fm.createDirectory(atPath: p, withIntermediateDirectories: true)
                } else if what.hasPrefix("->") {
                    try fm.createSymbolicLink(atPath: p, withDestinationPath: String(what.dropFirst(2)))
                } else {
                    try what.write(toFile: p, atomically: false, encoding: .utf8)
                }
            }
        }
    }

    private func sysroot(_ base: String) throws -> String {
        let s = "\(base)/sysroot"
        try FileManager.default.createDirectory(atPath: base, withIntermediateDirectories: true)
        try K.arborMust(["admin", "init-fs", s])
        try K.arborMust(["admin", "os-init", "--sysroot=\(s)", "testos"])
        return s
    }

    private func commitOS(_ s: String, _ tree: String, version: String, ref: String = "testos/stable") throws {
        try K.arborMust(["commit", "--repo=\(s)/ostree/repo", "-b", ref, "--add-metadata-string=version=\(version)",
                         "--owner-uid=0", "--owner-gid=0", tree])
    }

    func testDeployEtcMergeNeverFollowsSymlinksOut() throws {
        try XCTSkipUnless(isRoot, "deployments need root")
        _ = try ostreePath()
        let base = try scratchDirectory(self, "arbor-pathsec-deploy")
        let sentinel = try Sentinel(base)
        let out = sentinel.path
        let escape = String(repeating: "../", count: 30) + out.dropFirst()
        let work = "\(base)/work"
        let s = try sysroot(work)
        let common: [(String, String)] = [("abs-link", "->\(out)"), ("abs-file", "->\(out)/sentinel.txt"), ("up", "->../../../../../../../.."),
                                          ("loop", "->loop"), ("dotdot", "->.."), ("rel-escape", "->\(escape)")]
        let v1 = "\(work)/v1", v2 = "\(work)/v2"
        try osTree(v1, demo: "demo-1.0", etc: common + [("d/f.conf", "default f\n"), ("e/del.conf", "default del\n"), ("g/keep.conf", "g\n")],
                   usr: [("lib/abs", "->\(out)"), ("share/up", "->../../../../../..")])
        try commitOS(s, v1, version: "1.0")
        try K.arborMust(["admin", "deploy", "--sysroot=\(s)", "--os=testos", "testos/stable"])
        try sentinel.assertUnchanged("deploy of v1")
        guard let d1 = try K.bootSet(s).order.first else { return XCTFail("v1 was not deployed") }
        let etc = "\(s)/ostree/deploy/\(d1)/etc"
        // The administrator's changes: a modified file, a deleted file, an added directory and file,
        // an added symlink out, and a symlink replaced by a file.
        try "admin f\n".write(toFile: "\(etc)/d/f.conf", atomically: false, encoding: .utf8)
        try FileManager.default.removeItem(atPath: "\(etc)/e/del.conf")
        try FileManager.default.createDirectory(atPath: "\(etc)/newdir", withIntermediateDirectories: true)
        try "admin added\n".write(toFile: "\(etc)/newdir/added.conf", atomically: false, encoding: .utf8)
        try FileManager.default.createSymbolicLink(atPath: "\(etc)/admin-link", withDestinationPath: "\(out)/created-by-merge")
        try FileManager.default.removeItem(atPath: "\(etc)/up")
        try "no longer a link\n".write(toFile: "\(etc)/up", atomically: false, encoding: .utf8)

        // The new defaults turn those directories into symlinks out of the deployment.
        try osTree(v2, demo: "demo-1.1", etc: common + [("d", "->\(out)"), ("e", "->\(escape)"), ("newdir", "->\(out)"),
                                                         ("g", "->../../../../../../../../..\(out)")],
                   usr: [("lib/abs", "->\(out)"), ("share/up", "->../../../../../..")])
        try commitOS(s, v2, version: "1.1")
        let o = try K.arbor(["admin", "upgrade", "--sysroot=\(s)"])
        try sentinel.assertUnchanged("upgrade with an /etc merge through symlinks")
        XCTAssertEqual(o.status, 0, "upgrade: \(o.summary)")
        let set = try K.bootSet(s)
        XCTAssertEqual(set.problems, [])
        guard o.status == 0, set.order.count == 2 else { return }
        let etc2 = "\(s)/ostree/deploy/\(set.order[0])/etc"
        // The administrator's file landed inside the new deployment, in a real directory.
        var st = stat()
        XCTAssertEqual(lstat("\(etc2)/d", &st), 0)
        XCTAssertEqual(st.st_mode & S_IFMT, S_IFDIR, "etc/d should be the administrator's directory again")
        XCTAssertEqual(try? String(contentsOfFile: "\(etc2)/d/f.conf", encoding: .utf8), "admin f\n")
        XCTAssertEqual(try? String(contentsOfFile: "\(etc2)/newdir/added.conf", encoding: .utf8), "admin added\n")
        XCTAssertEqual(try? FileManager.default.destinationOfSymbolicLink(atPath: "\(etc2)/admin-link"), "\(out)/created-by-merge")
        XCTAssertEqual(try? FileManager.default.destinationOfSymbolicLink(atPath: "\(etc2)/abs-link"), out)
        XCTAssertEqual(try? FileManager.default.destinationOfSymbolicLink(atPath: "\(etc2)/loop"), "loop")
        // Rollback, config-diff, cleanup and another deploy from the merged /etc: still nothing outside.
        try K.arborMust(["admin", "config-diff", "--sysroot=\(s)"])
        try K.arborMust(["admin", "rollback", "--sysroot=\(s)"])
        try K.arborMust(["admin", "rollback", "--sysroot=\(s)"])
        try K.arborMust(["admin", "deploy", "--sysroot=\(s)", "--os=testos", "testos/stable"])
        try K.arborMust(["admin", "cleanup", "--sysroot=\(s)"])
        try sentinel.assertUnchanged("rollback, config-diff, deploy and cleanup")
        try K.assertRepoSane("\(s)/ostree/repo", "sysroot repo")
        try materialise("\(s)/ostree/repo", "testos/stable", work, sentinel, "the deployed commit")
    }

    func testDeployNeverReadsKernelOrOSReleaseThroughSymlinksOut() throws {
        try XCTSkipUnless(isRoot, "deployments need root")
        _ = try ostreePath()
        let base = try scratchDirectory(self, "arbor-pathsec-kernel")
        let sentinel = try Sentinel(base)
        let out = sentinel.path
        let work = "\(base)/work"
        let s = try sysroot(work)
        let modules = "lib/modules/6.1.0-demo"
        let cases: [(String, [(String, String)])] = [
            ("kernel-abs", [("\(modules)/vmlinuz", "->\(out)/sentinel.txt")]),
            ("kernel-dotdot", [("\(modules)/vmlinuz", "->" + String(repeating: "../", count: 30) + out.dropFirst() + "/sentinel.txt")]),
            ("initramfs-abs", [("\(modules)/initramfs.img", "->\(out)/sentinel.txt")]),
            ("modules-abs", [("lib/modules", "->\(out)")]),
            ("os-release-abs", [("lib/os-release", "->\(out)/os-release")]),
        ]
        for (name, usr) in cases {
            let tree = "\(work)/\(name)"
            try osTree(tree, demo: "demo-1.0", etc: [], usr: usr)
            if name.hasPrefix("os-release") { _ = try K.exec("rm", ["-f", "\(tree)/usr/etc/os-release"]) }
            try commitOS(s, tree, version: name, ref: "testos/\(name)")
            let o = try K.arbor(["admin", "deploy", "--sysroot=\(s)", "--os=testos", "--retain", "testos/\(name)"])
            try sentinel.assertUnchanged("deploy of \(name)")
            if o.status != 0 {
                K.assertCleanError(o, "deploy of \(name)")
                continue
            }
            // Whatever was installed in /boot and written in the entries holds nothing from outside.
            let grep = try K.exec("grep", ["-rl", "--", "sentinel secret", "\(s)/boot"])
            XCTAssertEqual(grep.out, "", "\(name): the outside file was copied into /boot")
            let pwned = try K.exec("grep", ["-rl", "PWNED", "\(s)/boot"])
            XCTAssertEqual(pwned.out, "", "\(name): the outside os-release named the boot entry")
            XCTAssertEqual(try K.bootSet(s).problems, [], name)
        }
        try K.assertRepoSane("\(s)/ostree/repo", "sysroot repo")
    }
}
