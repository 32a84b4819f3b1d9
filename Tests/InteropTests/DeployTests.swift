// `arbor admin`: deployments in scratch sysroots, checked against the real `ostree admin`.
import Foundation
import XCTest

final class DeployTests: XCTestCase {
    let os = "testos"

    // MARK: Deploy, upgrade, rollback, status

    func testDeployUpgradeRollbackStatusAgreeWithOstree() throws {
        let s = try makeSysroot()
        let c1 = try commit(s, demo10, version: "1.0", timestamp: 1_700_000_000)
        let varFile = "\(s)/ostree/deploy/\(os)/var/lib/state"
        try "keep me\n".write(toFile: varFile, atomically: false, encoding: .utf8)
        let out = try arborOK("admin", "deploy", "--sysroot=\(s)", "--os=\(os)", "--karg=root=LABEL=root", "--karg=quiet", "testos/stable")
        XCTAssertTrue(out.contains("Deployed testos \(c1).0"), out)
        try assertToolsAgree(s, count: 1)
        XCTAssertEqual(try arborStatus(s).first?.origin, "testos/stable")
        let lsattr = try InteropTests.run("lsattr", ["-d", deployPath(s, "\(c1).0")])
        if lsattr.status == 0 { XCTAssertTrue(lsattr.stdout.prefix(20).contains("i"), "deployment root is immutable: \(lsattr.stdout)") }

        // The administrator edits /etc.
        let etc1 = deployPath(s, "\(c1).0") + "/etc"
        try "local edit\n".write(toFile: etc1 + "/hostname", atomically: false, encoding: .utf8)
        try "added locally\n".write(toFile: etc1 + "/local.conf", atomically: false, encoding: .utf8)
        var st = stat()
        XCTAssertEqual(lstat(etc1 + "/hostname", &st), 0)
        XCTAssertEqual(st.st_nlink, 1, "/etc holds copies, not hardlinks")

        let c2 = try commit(s, demo11, version: "1.1", timestamp: 1_700_001_000)
        let up = try arborOK("admin", "upgrade", "--sysroot=\(s)")
        XCTAssertTrue(up.contains("1.0 → 1.1"), up)
        XCTAssertTrue(up.contains("Copying /etc changes: 1 modified, 0 removed, 1 added"), up)
        try assertToolsAgree(s, count: 2)
        let status = try arborStatus(s)
        XCTAssertEqual(status.map(\.name), ["testos \(c2).0", "testos \(c1).0"])
        XCTAssertEqual(status.map(\.version), ["1.1", "1.0"])
        let etc2 = deployPath(s, "\(c2).0") + "/etc"
        XCTAssertEqual(readText(etc2 + "/hostname"), "local edit\n")
        XCTAssertEqual(readText(etc2 + "/local.conf"), "added locally\n")
        XCTAssertEqual(readText(etc2 + "/motd"), readText(demo11 + "/usr/etc/motd"), "untouched file takes the new default")
        XCTAssertNotNil(readText(etc2 + "/demo/extra.conf"), "new default appears")
        XCTAssertEqual(readText(varFile), "keep me\n", "/var untouched")
        XCTAssertEqual(try arborOK("admin", "upgrade", "--sysroot=\(s)"), "No update available (testos \(c2).0)")

        // Every entry carries the kernel arguments; rollback keeps them.
        let before = try bootEntries(s)
        XCTAssertEqual(before.count, 2)
        for (_, text) in before { XCTAssertTrue(text.contains("options root=LABEL=root quiet ostree=/ostree/boot."), text) }
        try arborOK("admin", "rollback", "--sysroot=\(s)")
        try assertToolsAgree(s, count: 2)
        XCTAssertEqual(try arborStatus(s).map(\.name), ["testos \(c1).0", "testos \(c2).0"])
        for (_, text) in try bootEntries(s) { XCTAssertTrue(text.contains("options root=LABEL=root quiet ostree=/ostree/boot."), text) }
        XCTAssertTrue(try bootEntries(s)["ostree-2-testos.conf"]?.contains("title Arbor Demo OS 1.0 (ostree:0)") ?? false)
        let text = try arborOK("admin", "status", "--sysroot=\(s)")
        XCTAssertTrue(text.contains("testos \(c1).0 (default)") && text.contains("testos \(c2).0 (rollback)"), text)
    }

    func testLayoutIsByteIdenticalToOstree() throws {
        let a = try makeSysroot()
        let base = (a as NSString).deletingLastPathComponent
        let o = base + "/ostree-sysroot"
        try FileManager.default.createDirectory(atPath: o, withIntermediateDirectories: true)
        try ostreeOK("admin", "init-fs", o)
        try ostreeOK("admin", "os-init", "--sysroot=\(o)", os)
        try commit(a, demo10, version: "1.0", timestamp: 1_700_000_000)
        try ostreeOK("pull-local", "--repo=\(o)/ostree/repo", "\(a)/ostree/repo", "testos/stable")
        for (i, tree) in [demo10, demo11].enumerated() {
            if i == 1 {
                try commit(a, tree, version: "1.1", timestamp: 1_700_001_000)
                try ostreeOK("pull-local", "--repo=\(o)/ostree/repo", "\(a)/ostree/repo", "testos/stable")
            }
            try arborOK("admin", "deploy", "--sysroot=\(a)", "--os=\(os)", "--karg=root=LABEL=root", "--karg=quiet", "testos/stable")
            try ostreeOK("admin", "deploy", "--sysroot=\(o)", "--os=\(os)", "--karg=root=LABEL=root", "--karg=quiet", "testos/stable")
            // ostree also stamps /var for SELinux and leaves empty ref directories behind.
            let clean = { (t: String) in t.split(separator: "\n").filter { !$0.contains(".ostree-selabeled") && !$0.contains("refs/heads/ostree/") }.joined(separator: "\n") }
            let refs = { (s: String) in try InteropTests.run("/bin/sh", ["-c", "cd '\(s)/ostree/repo/refs/heads' && find ostree -type f | sort | xargs -n1 sh -c 'echo $0 $(cat $0)'"]).stdout }
            XCTAssertEqual(clean(try snapshot(a)), clean(try snapshot(o)), "after deploy \(i + 1)")
            XCTAssertEqual(try refs(a), try refs(o))
            XCTAssertEqual(try bootEntries(a), try bootEntries(o))
        }
    }

    func testArborReadsAndExtendsOstreeSysroot() throws {
        try XCTSkipUnless(isRoot, "deployments need root")
        let o = try scratchDirectory(self, "arbor-deploy") + "/o"
        try FileManager.default.createDirectory(atPath: o, withIntermediateDirectories: true)
        try ostreeOK("admin", "init-fs", o)
        try ostreeOK("admin", "os-init", "--sysroot=\(o)", os)
        let c1 = try ostreeOK("commit", "--repo=\(o)/ostree/repo", "-b", "testos/stable", "--add-metadata-string=version=1.0",
                              "--owner-uid=0", "--owner-gid=0", demo10).trimmingCharacters(in: .whitespacesAndNewlines)
        try ostreeOK("admin", "deploy", "--sysroot=\(o)", "--os=\(os)", "--karg=console=ttyS0", "testos/stable")
        XCTAssertEqual(try arborStatus(o), [DeploymentLine(name: "testos \(c1).0", version: "1.0", origin: "testos/stable", pinned: false)])
        try "x\n".write(toFile: deployPath(o, "\(c1).0") + "/etc/mine.conf", atomically: false, encoding: .utf8)
        let c2 = try ostreeOK("commit", "--repo=\(o)/ostree/repo", "-b", "testos/stable", "--add-metadata-string=version=1.1",
                              "--owner-uid=0", "--owner-gid=0", demo11).trimmingCharacters(in: .whitespacesAndNewlines)
        try arborOK("admin", "deploy", "--sysroot=\(o)", "testos/stable")
        try assertToolsAgree(o, count: 2)
        XCTAssertEqual(try arborStatus(o).map(\.name), ["testos \(c2).0", "testos \(c1).0"])
        XCTAssertEqual(readText(deployPath(o, "\(c2).0") + "/etc/mine.conf"), "x\n")
        for (_, text) in try bootEntries(o) { XCTAssertTrue(text.contains("options console=ttyS0 ostree="), "kernel args inherited: \(text)") }
        // And ostree keeps working on top of what Arbor wrote.
        try ostreeOK("admin", "undeploy", "--sysroot=\(o)", "1")
        try assertToolsAgree(o, count: 1)
        XCTAssertEqual(try arborOK("admin", "config-diff", "--sysroot=\(o)"),
                       try ostreeOK("admin", "config-diff", "--sysroot=\(o)", "--os=\(os)").trimmingCharacters(in: .whitespacesAndNewlines))
    }

    // MARK: /etc merge

    func testEtcMergeCases() throws {
        let s = try makeSysroot()
        let old = try makeTree("old", version: "1", etc: [
            "a.conf": "a1\n", "b.conf": "b1\n", "d.conf": "d1\n", "e.conf": "e1\n", "f.conf": "f1\n", "g.conf": "g1\n",
            "sub/x.conf": "x1\n", "sub/y.conf": "y1\n", "keep/z.conf": "z1\n",
        ])
        let new = try makeTree("new", version: "2", etc: [
            "a.conf": "a1\n", "b.conf": "b2\n", "c.conf": "c2\n", "d.conf": "d1\n", "e.conf": "e1\n", "f.conf": "f1\n", "g.conf": "g2\n",
            "sub/x.conf": "x1\n", "sub/y.conf": "y1\n", "keep/z.conf": "z1\n",
        ])
        let c1 = try commit(s, old, version: "1", timestamp: 1_700_000_000)
        try arborOK("admin", "deploy", "--sysroot=\(s)", "--os=\(os)", "testos/stable")
        let etc = deployPath(s, "\(c1).0") + "/etc"
        let fm = FileManager.default
        try "a-local\n".write(toFile: etc + "/a.conf", atomically: false, encoding: .utf8)       // modified
        try "mine\n".write(toFile: etc + "/local.conf", atomically: false, encoding: .utf8)     // added
        try fm.removeItem(atPath: etc + "/d.conf")                                               // deleted
        XCTAssertEqual(chmod(etc + "/e.conf", 0o600), 0)                                         // mode
        try fm.removeItem(atPath: etc + "/f.conf")
        try fm.createSymbolicLink(atPath: etc + "/f.conf", withDestinationPath: "/usr/share/outside") // file → absolute symlink
        try "g-local\n".write(toFile: etc + "/g.conf", atomically: false, encoding: .utf8)       // both changed
        try fm.removeItem(atPath: etc + "/sub")                                                  // directory deleted
        try fm.createDirectory(atPath: etc + "/newdir", withIntermediateDirectories: false)       // directory added
        try "n\n".write(toFile: etc + "/newdir/n.conf", atomically: false, encoding: .utf8)

        let c2 = try commit(s, new, version: "2", timestamp: 1_700_001_000)
        let r = try InteropTests.run(arborBinary, ["admin", "deploy", "--sysroot=\(s)", "testos/stable"])
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertTrue(r.stdout.contains("Copying /etc changes: 4 modified, 2 removed, 3 added"), r.stdout)
        XCTAssertTrue(r.stdout.contains("conflict: /etc/g.conf"), "conflict reported: \(r.stdout)")
        XCTAssertFalse(r.stdout.contains("conflict: /etc/a.conf"), r.stdout)
        let e2 = deployPath(s, "\(c2).0") + "/etc"
        XCTAssertEqual(readText(e2 + "/a.conf"), "a-local\n", "modified kept")
        XCTAssertEqual(readText(e2 + "/b.conf"), "b2\n", "untouched takes the new default")
        XCTAssertEqual(readText(e2 + "/c.conf"), "c2\n", "new default appears")
        XCTAssertEqual(readText(e2 + "/local.conf"), "mine\n", "local addition carried")
        XCTAssertFalse(fm.fileExists(atPath: e2 + "/d.conf"), "local deletion carried")
        var st = stat()
        XCTAssertEqual(lstat(e2 + "/e.conf", &st), 0)
        XCTAssertEqual(st.st_mode & 0o7777, 0o600, "mode change carried")
        XCTAssertEqual(st.st_nlink, 1, "copies, not hardlinks")
        XCTAssertEqual(try fm.destinationOfSymbolicLink(atPath: e2 + "/f.conf"), "/usr/share/outside", "symlink carried, not followed")
        XCTAssertEqual(readText(e2 + "/g.conf"), "g-local\n", "the administrator wins a conflict")
        XCTAssertFalse(fm.fileExists(atPath: e2 + "/sub"), "deleted directory stays deleted")
        XCTAssertEqual(readText(e2 + "/newdir/n.conf"), "n\n", "added directory carried")
        XCTAssertEqual(readText(e2 + "/keep/z.conf"), "z1\n")
        XCTAssertEqual(readText(deployPath(s, "\(c2).0") + "/usr/etc/a.conf"), "a1\n", "usr/etc stays pristine")
        let diff = try arborOK("admin", "config-diff", "--sysroot=\(s)")
        XCTAssertTrue(diff.contains("M    a.conf") && diff.contains("D    d.conf") && diff.contains("A    local.conf"), diff)
    }

    // MARK: Atomicity

    /// The sysroot describes either the old set (one deployment, `old`) or the new set (two, `new` first).
    func assertOldOrNew(_ s: String, old: String, new: String, context: String, file: StaticString = #filePath, line: UInt = #line) throws {
        let a = try arborStatus(s, file: file, line: line)
        let o = try ostreeStatus(s, file: file, line: line)
        XCTAssertEqual(a, o, "tools disagree (\(context))", file: file, line: line)
        let names = a.map(\.name)
        XCTAssertTrue(names == ["testos \(old).0"] || names == ["testos \(new).0", "testos \(old).0"], "\(context): \(names)", file: file, line: line)
        let e = try bootEntries(s)
        XCTAssertEqual(e.count, names.count, "\(context): entries \(e.keys)", file: file, line: line)
        for (_, text) in e { XCTAssertTrue(text.contains("linux ") && text.contains("initrd ") && text.contains("ostree="), text, file: file, line: line) }
    }

    func testFaultAfterEveryStepLeavesOldOrNewSet() throws {
        let steps = ["checkout", "etc", "origin", "kernel", "entries", "bootlinks", "refs", "bootlink-swap", "sync", "switch", "cleanup"]
        for step in steps {
            let s = try makeSysroot()
            let c1 = try commit(s, demo10, version: "1.0", timestamp: 1_700_000_000)
            try arborOK("admin", "deploy", "--sysroot=\(s)", "--os=\(os)", "--karg=quiet", "testos/stable")
            let c2 = try commit(s, demo11, version: "1.1", timestamp: 1_700_001_000)
            let r = try InteropTests.run(arborBinary, ["admin", "upgrade", "--sysroot=\(s)"], env: ["ARBOR_DEPLOY_FAULT": step])
            XCTAssertEqual(r.status, 99, "fault at \(step): \(r.stderr)")
            try assertOldOrNew(s, old: c1, new: c2, context: "after fault at \(step)")
            try arborOK("admin", "cleanup", "--sysroot=\(s)")
            try assertOldOrNew(s, old: c1, new: c2, context: "cleanup after fault at \(step)")
            let dirs = try FileManager.default.contentsOfDirectory(atPath: "\(s)/ostree/deploy/\(os)/deploy").filter { !$0.hasSuffix(".origin") }
            XCTAssertEqual(dirs.count, try arborStatus(s).count, "cleanup removed leftovers after \(step): \(dirs)")
            try arborOK("admin", "upgrade", "--sysroot=\(s)")
            XCTAssertEqual(try arborStatus(s).first?.name, "testos \(c2).0")
            try assertToolsAgree(s, count: 2)
        }
    }

    func testRollbackFaultLeavesOldOrNewOrder() throws {
        for step in ["entries", "bootlinks", "refs", "bootlink-swap", "sync", "switch"] {
            let s = try makeSysroot()
            try commit(s, demo10, version: "1.0", timestamp: 1_700_000_000)
            try arborOK("admin", "deploy", "--sysroot=\(s)", "--os=\(os)", "testos/stable")
            try commit(s, demo11, version: "1.1", timestamp: 1_700_001_000)
            try arborOK("admin", "upgrade", "--sysroot=\(s)")
            let before = try arborStatus(s)
            let r = try InteropTests.run(arborBinary, ["admin", "rollback", "--sysroot=\(s)"], env: ["ARBOR_DEPLOY_FAULT": step])
            XCTAssertEqual(r.status, 99, r.stderr)
            let after = try arborStatus(s)
            XCTAssertTrue(after == before || after == before.reversed(), "\(step): \(after.map(\.name))")
            try assertToolsAgree(s, count: 2)
        }
    }

    func testKilledAtRandomMomentsLeavesOldOrNewSet() throws {
        for attempt in 0..<6 {
            let s = try makeSysroot()
            let c1 = try commit(s, demo10, version: "1.0", timestamp: 1_700_000_000)
            try arborOK("admin", "deploy", "--sysroot=\(s)", "--os=\(os)", "testos/stable")
            let c2 = try commit(s, demo11, version: "1.1", timestamp: 1_700_001_000)
            let p = Process()
            p.executableURL = URL(fileURLWithPath: arborBinary)
            p.arguments = ["admin", "upgrade", "--sysroot=\(s)", "-q"]
            try p.run()
            usleep(UInt32(attempt * 7_000))
            kill(p.processIdentifier, SIGKILL)
            p.waitUntilExit()
            try assertOldOrNew(s, old: c1, new: c2, context: "SIGKILL attempt \(attempt)")
            try arborOK("admin", "cleanup", "--sysroot=\(s)")
            try assertOldOrNew(s, old: c1, new: c2, context: "cleanup after SIGKILL \(attempt)")
        }
    }

    func testConcurrentDeploysAreSerialised() throws {
        let s = try makeSysroot()
        try commit(s, demo10, version: "1.0", timestamp: 1_700_000_000)
        try arborOK("admin", "deploy", "--sysroot=\(s)", "--os=\(os)", "testos/stable")
        let group = DispatchGroup()
        final class Results: @unchecked Sendable { var list: [RunResult?] = [nil, nil]; let lock = NSLock() }
        let box = Results()
        for i in 0..<2 {
            group.enter()
            DispatchQueue.global().async {
                let r = try? InteropTests.run(arborBinary, ["admin", "deploy", "--sysroot=\(s)", "--retain", "testos/stable"])
                box.lock.lock(); box.list[i] = r; box.lock.unlock()
                group.leave()
            }
        }
        group.wait()
        for r in box.list { XCTAssertEqual(r?.status, 0, r?.stderr ?? "did not run") }
        try assertToolsAgree(s, count: 3)
        XCTAssertEqual(Set(try arborStatus(s).map(\.name)).count, 3, "three distinct deployments (serials 0, 1, 2)")
    }

    func testLockHeldElsewhereFailsClearly() throws {
        let s = try makeSysroot()
        try commit(s, demo10, version: "1.0", timestamp: 1_700_000_000)
        // Another process holds the sysroot lock: an open-file-description write lock (F_OFD_SETLK = 38), as ostree takes it.
        let holder = Process()
        holder.executableURL = URL(fileURLWithPath: "/usr/bin/python3")
        holder.arguments = ["-c", "import fcntl,os,struct,time,sys; fd=os.open(sys.argv[1], os.O_RDWR|os.O_CREAT, 0o600); fcntl.fcntl(fd, 38, struct.pack('hhqqi4x', fcntl.F_WRLCK, 0, 0, 0, 0)); print('locked', flush=True); time.sleep(5)", "\(s)/ostree/lock"]
        let out = Pipe()
        holder.standardOutput = out
        try holder.run()
        _ = out.fileHandleForReading.availableData
        let r = try InteropTests.run(arborBinary, ["admin", "deploy", "--sysroot=\(s)", "--os=\(os)", "testos/stable"], env: ["ARBOR_SYSROOT_LOCK_TIMEOUT": "0.5"])
        holder.terminate()
        holder.waitUntilExit()
        XCTAssertEqual(r.status, 1)
        XCTAssertTrue(r.stderr.contains("locked"), r.stderr)
        XCTAssertEqual(try arborStatus(s).count, 0)
    }

    // MARK: Refusals, pinning, cleanup

    func testRefusalsChangeNothing() throws {
        let s = try makeSysroot()
        try commit(s, demo10, version: "1.0", timestamp: 1_700_000_000)
        try arborOK("admin", "deploy", "--sysroot=\(s)", "--os=\(os)", "testos/stable")

        let noKernel = try makeTree("nokernel", version: "9", etc: ["a.conf": "a\n"], kernel: false)
        try commit(s, noKernel, version: "9", timestamp: 1_700_002_000, ref: "testos/nokernel")
        let big = try makeTree("other-kernel", version: "3", etc: [:]) { base in
            try "another kernel\n".write(toFile: base + "/usr/lib/modules/6.1.0-t/vmlinuz", atomically: false, encoding: .utf8)
        }
        try commit(s, big, version: "3", timestamp: 1_700_003_000, ref: "testos/other")
        let before = try snapshot(s)

        let unknown = try arbor("admin", "deploy", "--sysroot=\(s)", "no/such/ref")
        XCTAssertEqual(unknown.status, 1)
        XCTAssertTrue(unknown.stderr.contains("no/such/ref"), unknown.stderr)

        let nk = try arbor("admin", "deploy", "--sysroot=\(s)", "testos/nokernel")
        XCTAssertEqual(nk.status, 1)
        XCTAssertTrue(nk.stderr.contains("no kernel"), nk.stderr)

        let full = try InteropTests.run(arborBinary, ["admin", "upgrade", "--sysroot=\(s)"], env: ["ARBOR_TEST_BOOT_FREE_BYTES": "100"])
        XCTAssertEqual(full.status, 0, "no update: nothing to check yet")
        let space = try InteropTests.run(arborBinary, ["admin", "deploy", "--sysroot=\(s)", "testos/other"], env: ["ARBOR_TEST_BOOT_FREE_BYTES": "100"])
        XCTAssertEqual(space.status, 1)
        XCTAssertTrue(space.stderr.contains("not enough space"), space.stderr)

        let idx = try arbor("admin", "undeploy", "--sysroot=\(s)", "5")
        XCTAssertEqual(idx.status, 1)
        let rb = try arbor("admin", "rollback", "--sysroot=\(s)")
        XCTAssertEqual(rb.status, 1)
        XCTAssertTrue(rb.stderr.contains("no rollback"), rb.stderr)
        let pull = try arbor("admin", "upgrade", "--sysroot=\(s)", "--pull-only")
        XCTAssertEqual(pull.status, 1)
        XCTAssertTrue(pull.stderr.contains("nothing to pull"), pull.stderr)

        XCTAssertEqual(try snapshot(s), before, "refused operations changed the sysroot")
        try assertToolsAgree(s, count: 1)
    }

    /// The booted deployment (named by the kernel command line's `ostree=` bootlink) is refused
    /// by undeploy, and status marks it; nothing changes.
    func testUndeployOfTheBootedDeploymentIsRefused() throws {
        let s = try makeSysroot()
        _ = try commit(s, demo10, version: "1.0", timestamp: 1_700_000_000)
        try arborOK("admin", "deploy", "--sysroot=\(s)", "--os=\(os)", "testos/stable")
        _ = try commit(s, demo11, version: "1.1", timestamp: 1_700_000_100)
        try arborOK("admin", "deploy", "--sysroot=\(s)", "testos/stable")
        // Booted into the older deployment (index 1): its directory stands in for `/` (the
        // booted deployment is found by device and inode, as ostree finds it).
        let older = try XCTUnwrap(try arborStatus(s).last).name.split(separator: " ").last.map(String.init) ?? ""
        let env = ["ARBOR_TEST_ROOT": deployPath(s, older)]
        let status = try InteropTests.run(arborBinary, ["admin", "status", "--sysroot=\(s)", "--json"], env: env)
        XCTAssertEqual(status.status, 0, status.stderr)
        let top = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(status.stdout.utf8)) as? [String: Any])
        let list = try XCTUnwrap(top["deployments"] as? [[String: Any]])
        XCTAssertEqual(list.map { $0["booted"] as? Bool ?? false }, [false, true], status.stdout)
        let before = try snapshot(s)
        let r = try InteropTests.run(arborBinary, ["admin", "undeploy", "--sysroot=\(s)", "1"], env: env)
        XCTAssertEqual(r.status, 1)
        XCTAssertTrue(r.stderr.hasPrefix("arbor: error: ") && r.stderr.contains("booted"), r.stderr)
        XCTAssertEqual(try snapshot(s), before, "a refused undeploy changed the sysroot")
        // The other one may go.
        let ok = try InteropTests.run(arborBinary, ["admin", "undeploy", "--sysroot=\(s)", "0"], env: env)
        XCTAssertEqual(ok.status, 0, ok.stderr)
        try assertToolsAgree(s, count: 1)
    }

    func testPinUndeployAndCleanup() throws {
        let s = try makeSysroot()
        let c1 = try commit(s, demo10, version: "1.0", timestamp: 1_700_000_000)
        try arborOK("admin", "deploy", "--sysroot=\(s)", "--os=\(os)", "testos/stable")
        try arborOK("admin", "pin", "--sysroot=\(s)", "0")
        XCTAssertTrue(readText(deployPath(s, "\(c1).0") + ".origin")?.contains("[libostree-transient]\npinned=true") ?? false)
        try arborOK("admin", "deploy", "--sysroot=\(s)", "testos/stable")
        try arborOK("admin", "deploy", "--sysroot=\(s)", "testos/stable")
        // The pinned one survives two deploys; the unpinned middle one went.
        let names = try arborStatus(s).map(\.name)
        XCTAssertEqual(names, ["testos \(c1).2", "testos \(c1).1", "testos \(c1).0"])
        XCTAssertEqual(try arborStatus(s).map(\.pinned), [false, false, true])
        try assertToolsAgree(s, count: 3)
        try arborOK("admin", "pin", "--sysroot=\(s)", "--unpin", "2")
        try arborOK("admin", "undeploy", "--sysroot=\(s)", "2")
        try assertToolsAgree(s, count: 2)
        XCTAssertFalse(FileManager.default.fileExists(atPath: deployPath(s, "\(c1).0")))
        // A leftover of an interrupted deploy is collected.
        let r = try InteropTests.run(arborBinary, ["admin", "deploy", "--sysroot=\(s)", "testos/stable"], env: ["ARBOR_DEPLOY_FAULT": "origin"])
        XCTAssertEqual(r.status, 99)
        XCTAssertTrue(FileManager.default.fileExists(atPath: deployPath(s, "\(c1).3")))
        let out = try arborOK("admin", "cleanup", "--sysroot=\(s)")
        XCTAssertTrue(out.contains("Removed 1 deployment"), out)
        XCTAssertFalse(FileManager.default.fileExists(atPath: deployPath(s, "\(c1).3")))
        try ostreeOK("fsck", "--repo=\(s)/ostree/repo")
        try assertToolsAgree(s, count: 2)
    }
}
