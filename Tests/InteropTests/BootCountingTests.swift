// Boot counting on the host side, checked against the real `ostree` on the same sysroots:
// counted entry names, counters carried per deployment through every rewrite, bless-boot (found
// by device and inode), health checks, the fallback's memory, kargs in place, and kills at each
// step. The boots themselves are scripts/boot-test.sh's (qemu).
import Foundation
import XCTest

final class BootCountingTests: XCTestCase {

    // MARK: Helpers

    /// A sysroot with `count` versions committed and deployed in order (the last one default),
    /// each upgrade with `tries`; returns the sysroot and the commits.
    func deployed(_ count: Int, tries: Int = 3) throws -> (String, [String]) {
        let s = try makeSysroot()
        var commits: [String] = []
        for v in 1...count {
            commits.append(try commit(s, demo10, version: "\(v)", timestamp: 1_700_000_000 + v))
            if v == 1 {
                try arborOK("admin", "deploy", "--sysroot=\(s)", "--os=\(testStateroot)", "--boot-tries=\(tries)", "--karg=root=/dev/vda", "testos/stable")
            } else {
                try arborOK("admin", "upgrade", "--sysroot=\(s)", "--boot-tries=\(tries)")
            }
        }
        return (s, commits)
    }

    /// Entry file names of the current loader directory, sorted.
    func entryNames(_ s: String) throws -> [String] { try bootEntries(s).keys.sorted() }

    /// `arbor admin status --json` as a dictionary (the booted deployment's directory stands in for `/`).
    func statusJSON(_ s: String, root: String? = nil, file: StaticString = #filePath, line: UInt = #line) throws -> [String: Any] {
        let r = try InteropTests.run(arborBinary, ["admin", "status", "--sysroot=\(s)", "--json"], env: root.map { ["ARBOR_TEST_ROOT": $0] } ?? [:])
        XCTAssertEqual(r.status, 0, r.stderr, file: file, line: line)
        return try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as? [String: Any], file: file, line: line)
    }

    /// Per deployment (boot order): version, entry name, assessment.
    func counting(_ s: String, root: String? = nil, file: StaticString = #filePath, line: UInt = #line) throws -> [String] {
        let list = try XCTUnwrap(try statusJSON(s, root: root, file: file, line: line)["deployments"] as? [[String: Any]], file: file, line: line)
        return list.map { "v\($0["version"] ?? "?") \($0["bootEntry"] ?? "?") \($0["bootCounting"] ?? "?")" }
    }

    /// The deployment directory of the deployment whose commit is `c`.
    func dirOf(_ s: String, _ c: String) throws -> String {
        let names = try FileManager.default.contentsOfDirectory(atPath: "\(s)/ostree/deploy/\(testStateroot)/deploy")
        let name = try XCTUnwrap(names.filter { $0.hasPrefix(c + ".") && !$0.hasSuffix(".origin") }.sorted().last)
        return deployPath(s, name)
    }

    /// Renames an entry as the boot loader does before a boot attempt.
    func bump(_ s: String, _ from: String, _ to: String) throws {
        let d = "\(s)/boot/loader/entries"
        try FileManager.default.moveItem(atPath: "\(d)/\(from)", toPath: "\(d)/\(to)")
    }

    /// Runs arbor with the booted deployment's directory standing in for `/`.
    func booted(_ dir: String, _ args: [String]) throws -> RunResult {
        try InteropTests.run(arborBinary, args, env: ["ARBOR_TEST_ROOT": dir])
    }

    /// Every deployment has exactly one entry, and every entry is either counted or plain.
    func assertOneEntryPerDeployment(_ s: String, file: StaticString = #filePath, line: UInt = #line) throws {
        let entries = try bootEntries(s)
        var seen: [String: String] = [:]
        for (name, text) in entries {
            let link = text.split(separator: "\n").first { $0.hasPrefix("options ") }?.split(separator: " ").first { $0.hasPrefix("ostree=") }
            let target = try FileManager.default.destinationOfSymbolicLink(atPath: s + String(try XCTUnwrap(link, file: file, line: line).dropFirst(7)))
            XCTAssertNil(seen[target], "two entries for one deployment: \(name) and \(seen[target] ?? "")", file: file, line: line)
            seen[target] = name
        }
        XCTAssertEqual(seen.count, try arborStatus(s).count, "entries vs deployments: \(entries.keys.sorted())", file: file, line: line)
    }

    // MARK: Entry names and counters

    func testNewDefaultIsCountedAndCountersFollowTheirDeployments() throws {
        let (s, c) = try deployed(2)
        // The first deploy had nothing to fall back to: not counted.
        XCTAssertEqual(try entryNames(s), ["ostree-1-testos.conf", "ostree-2-testos+3.conf"])
        try assertToolsAgree(s, count: 2)
        // The loader tried v2 once; v3 arrives with --retain: v2 keeps +2-1 under its new name.
        try bump(s, "ostree-2-testos+3.conf", "ostree-2-testos+2-1.conf")
        let c3 = try commit(s, demo10, version: "3", timestamp: 1_700_000_003)
        try arborOK("admin", "deploy", "--sysroot=\(s)", "--retain", "--boot-tries=2", "testos/stable")
        XCTAssertEqual(try counting(s), ["v3 ostree-3-testos+2.conf indeterminate", "v2 ostree-2-testos+2-1.conf indeterminate",
                                         "v1 ostree-1-testos.conf good"])
        try assertToolsAgree(s, count: 3)
        // Rollback swaps v3 and v2; each keeps its own counter under the name of its new index.
        try arborOK("admin", "rollback", "--sysroot=\(s)")
        XCTAssertEqual(try counting(s), ["v2 ostree-3-testos+2-1.conf indeterminate", "v3 ostree-2-testos+2.conf indeterminate",
                                         "v1 ostree-1-testos.conf good"])
        // Undeploying v1 renumbers the others; counters stay with them.
        try arborOK("admin", "undeploy", "--sysroot=\(s)", "2")
        XCTAssertEqual(try counting(s), ["v2 ostree-2-testos+2-1.conf indeterminate", "v3 ostree-1-testos+2.conf indeterminate"])
        try assertOneEntryPerDeployment(s)
        try assertToolsAgree(s, count: 2)
        // A pin and a cleanup rewrite no entries.
        try arborOK("admin", "pin", "--sysroot=\(s)", "1")
        try arborOK("admin", "cleanup", "--sysroot=\(s)")
        XCTAssertEqual(try entryNames(s), ["ostree-1-testos+2.conf", "ostree-2-testos+2-1.conf"])
        _ = (c, c3)
    }

    func testConfigKeyAndRangeAndNoCountingWithoutAFallback() throws {
        let s = try makeSysroot()
        let cfg = "\(s)/ostree/repo/config"
        let base = try String(contentsOfFile: cfg, encoding: .utf8)
        try (base + "\n[sysroot]\nboot-counting-tries=2\n").write(toFile: cfg, atomically: true, encoding: .utf8)
        _ = try commit(s, demo10, version: "1", timestamp: 1_700_000_001)
        try arborOK("admin", "deploy", "--sysroot=\(s)", "--os=\(testStateroot)", "testos/stable")
        XCTAssertEqual(try entryNames(s), ["ostree-1-testos.conf"], "a first deploy has nothing to fall back to")
        _ = try commit(s, demo10, version: "2", timestamp: 1_700_000_002)
        try arborOK("admin", "upgrade", "--sysroot=\(s)")
        XCTAssertEqual(try entryNames(s), ["ostree-1-testos.conf", "ostree-2-testos+2.conf"], "from [sysroot] boot-counting-tries")
        try ostreeOK("admin", "status", "--sysroot=\(s)")
        // --boot-tries=0 turns it off for one deploy; out of range is refused before anything changes.
        _ = try commit(s, demo10, version: "3", timestamp: 1_700_000_003)
        let before = try snapshot(s)
        for bad in ["6", "-1", "x"] {
            let r = try arbor("admin", "upgrade", "--sysroot=\(s)", "--boot-tries=\(bad)")
            XCTAssertNotEqual(r.status, 0, "--boot-tries=\(bad)")
            XCTAssertTrue(r.stderr.hasPrefix("arbor: error: "), r.stderr)
        }
        for bad in ["9", "three"] {
            try (base + "\n[sysroot]\nboot-counting-tries=\(bad)\n").write(toFile: cfg, atomically: true, encoding: .utf8)
            let r = try arbor("admin", "upgrade", "--sysroot=\(s)")
            XCTAssertEqual(r.status, 1)
            XCTAssertTrue(r.stderr.contains("boot-counting-tries"), r.stderr)
        }
        XCTAssertEqual(try snapshot(s), before, "refused upgrades changed the sysroot")
        // v2 never booted: it keeps its counter (Arbor adds none to a rollback target), and v1,
        // the last deployment that booted well, stays as well.
        try arborOK("admin", "upgrade", "--sysroot=\(s)", "--boot-tries=0")
        XCTAssertEqual(try entryNames(s), ["ostree-1-testos.conf", "ostree-2-testos+2.conf", "ostree-3-testos.conf"])
    }

    /// ostree 2022.7's `kargs edit-in-place` writes a plain twin beside a counted entry; Arbor
    /// reads one deployment and its next write leaves one counted entry.
    func testOstreeTwinEntryIsHealedKeepingTheCounter() throws {
        let (s, _) = try deployed(2)
        try ostreeOK("admin", "kargs", "edit-in-place", "--sysroot=\(s)", "--append-if-missing=twin=1")
        let withTwin = try entryNames(s)
        XCTAssertEqual(withTwin.count, 3, "ostree left a twin: \(withTwin)")
        XCTAssertEqual(try arborStatus(s).count, 2)
        try arborOK("admin", "kargs", "--sysroot=\(s)", "--append=healed=1")
        try arborOK("admin", "rollback", "--sysroot=\(s)")
        try arborOK("admin", "rollback", "--sysroot=\(s)")
        XCTAssertEqual(try counting(s), ["v2 ostree-2-testos+3.conf indeterminate", "v1 ostree-1-testos.conf good"])
        try assertOneEntryPerDeployment(s)
        try assertToolsAgree(s, count: 2)
        // The twin's arguments (the newer edit) survive; kargs alone heals a twin too.
        XCTAssertEqual(try arborOK("admin", "kargs", "--sysroot=\(s)"), "root=/dev/vda twin=1 healed=1")
        try ostreeOK("admin", "kargs", "edit-in-place", "--sysroot=\(s)", "--append-if-missing=again=1")
        XCTAssertEqual(try entryNames(s).count, 3)
        try arborOK("admin", "kargs", "--sysroot=\(s)", "--append=once=1")
        XCTAssertEqual(try entryNames(s), ["ostree-1-testos.conf", "ostree-2-testos+3.conf"])
        XCTAssertEqual(try arborOK("admin", "kargs", "--sysroot=\(s)"), "root=/dev/vda twin=1 healed=1 again=1 once=1")
    }

    /// ostree 2022.7 reads counted entries, and drops every counter when it writes the entries
    /// (it knows none): a documented limitation of mixing the tools, pinned here.
    func testOstree2022RewriteDropsCounters() throws {
        let (s, _) = try deployed(2)
        try bump(s, "ostree-2-testos+3.conf", "ostree-2-testos+1-2.conf")
        try assertToolsAgree(s, count: 2)
        _ = try commit(s, demo10, version: "3", timestamp: 1_700_000_003)
        try ostreeOK("admin", "deploy", "--sysroot=\(s)", "--os=\(testStateroot)", "--retain", "testos/stable")
        XCTAssertEqual(try entryNames(s), ["ostree-1-testos.conf", "ostree-2-testos.conf", "ostree-3-testos.conf"])
        try assertToolsAgree(s, count: 3)
    }

    // MARK: bless-boot

    func testBlessGoodFindsTheBootedEntryByIdentityAfterEntriesMoved() throws {
        let (s, c) = try deployed(2)
        let v2 = try dirOf(s, c[1])
        try bump(s, "ostree-2-testos+3.conf", "ostree-2-testos+2-1.conf")
        XCTAssertEqual(try booted(v2, ["admin", "bless-boot", "status", "--sysroot=\(s)"]).stdout, "indeterminate ostree-2-testos+2-1.conf\n")
        // A deploy since boot flipped boot.N and renamed the entries: v2 is now index 1.
        _ = try commit(s, demo10, version: "3", timestamp: 1_700_000_003)
        try arborOK("admin", "deploy", "--sysroot=\(s)", "--retain", "--boot-tries=0", "testos/stable")
        XCTAssertEqual(try entryNames(s), ["ostree-1-testos.conf", "ostree-2-testos+2-1.conf", "ostree-3-testos.conf"])
        let r = try booted(v2, ["admin", "bless-boot", "good", "--sysroot=\(s)"])
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertEqual(try counting(s, root: v2), ["v3 ostree-3-testos.conf good", "v2 ostree-2-testos.conf good", "v1 ostree-1-testos.conf good"])
        // Not a fallback: the order stays; a second blessing is a no-op.
        XCTAssertEqual(try booted(v2, ["admin", "bless-boot", "good", "--sysroot=\(s)"]).status, 0)
        XCTAssertEqual(try entryNames(s), ["ostree-1-testos.conf", "ostree-2-testos.conf", "ostree-3-testos.conf"])
        try assertToolsAgree(s, count: 3)
        // Outside any booted deployment there is nothing to bless.
        let none = try arbor("admin", "bless-boot", "good", "--sysroot=\(s)")
        XCTAssertEqual(none.status, 1)
        XCTAssertTrue(none.stderr.hasPrefix("arbor: error: ") && none.stderr.contains("booted"), none.stderr)
    }

    /// v3 fails three times; v2 boots as the fallback, blesses itself, becomes the default again,
    /// and the failed commit is remembered: upgrade refuses it, --allow-failed takes it.
    func testFallbackIsMadePermanentAndTheFailedCommitRefused() throws {
        var (s, c) = try deployed(2)
        let v2 = try dirOf(s, c[1])
        XCTAssertEqual(try booted(v2, ["admin", "bless-boot", "good", "--sysroot=\(s)"]).status, 0, "v2 boots well")
        c.append(try commit(s, demo10, version: "3", timestamp: 1_700_000_003))
        XCTAssertEqual(try booted(v2, ["admin", "upgrade", "--sysroot=\(s)", "--boot-tries=3"]).status, 0)
        XCTAssertEqual(try entryNames(s), ["ostree-1-testos.conf", "ostree-2-testos+3.conf"], "the upgrade to v3 dropped v1")
        _ = s
        try bump(s, "ostree-2-testos+3.conf", "ostree-2-testos+0-3.conf")
        var st = try statusJSON(s)
        XCTAssertEqual(st["defaultFailed"] as? Bool, true)
        XCTAssertEqual((st["nextBoot"] as? String)?.hasPrefix("testos \(c[1])"), true, "the loader skips the bad v3")
        st = try statusJSON(s, root: v2)
        XCTAssertEqual(st["fallback"] as? Bool, true)
        let r = try booted(v2, ["admin", "bless-boot", "good", "--sysroot=\(s)", "--json"])
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertTrue(r.stdout.contains("\"madeDefault\": true"), r.stdout)
        XCTAssertEqual(try counting(s, root: v2), ["v2 ostree-2-testos.conf good", "v3 ostree-1-testos+0-3.conf bad"])
        st = try statusJSON(s, root: v2)
        XCTAssertEqual(st["fallback"] as? Bool, false, "v2 is the default again")
        let failed = try XCTUnwrap(st["failedCommits"] as? [[String: Any]])
        XCTAssertEqual(failed.map { $0["checksum"] as? String }, [c[2]])
        try assertToolsAgree(s, count: 2)
        // The origin still names v3: the updater must not deploy it again.
        let before = try snapshot(s)
        let up = try booted(v2, ["admin", "upgrade", "--sysroot=\(s)"])
        XCTAssertEqual(up.status, 1)
        XCTAssertTrue(up.stderr.hasPrefix("arbor: error: ") && up.stderr.contains("failed to boot") && up.stderr.contains("--allow-failed"), up.stderr)
        XCTAssertEqual(try snapshot(s), before)
        let forced = try booted(v2, ["admin", "upgrade", "--sysroot=\(s)", "--allow-failed", "--boot-tries=3"])
        XCTAssertEqual(forced.status, 0, forced.stderr)
        XCTAssertEqual(try counting(s, root: v2).map { $0.components(separatedBy: " ")[0] }, ["v3", "v2"])
        XCTAssertEqual(try entryNames(s).filter { $0.contains("+") }, ["ostree-2-testos+3.conf"], "the retry is counted again")
    }

    func testBlessBadAndHealthChecks() throws {
        let (s, c) = try deployed(2)
        let v2 = try dirOf(s, c[1])
        let health = try scratchDirectory(self, "arbor-health")
        func check(_ name: String, _ body: String) throws {
            try "#!/bin/sh\n\(body)\n".write(toFile: "\(health)/\(name)", atomically: false, encoding: .utf8)
            XCTAssertEqual(try InteropTests.run("chmod", ["+x", "\(health)/\(name)"]).status, 0)
        }
        try check("10-ok", "exit 0")
        try "not executable".write(toFile: "\(health)/20-skipped", atomically: false, encoding: .utf8)
        try check("30-fails", "echo failing >&2; exit 3")
        // A failing check with --on-failure=none changes nothing.
        var r = try booted(v2, ["admin", "bless-boot", "good", "--sysroot=\(s)", "--health-dir=\(health)"])
        XCTAssertEqual(r.status, 1)
        XCTAssertTrue(r.stderr.contains("arbor: error: health check failed: 30-fails (exit 3)"), r.stderr)
        XCTAssertEqual(try entryNames(s), ["ostree-1-testos.conf", "ostree-2-testos+3.conf"])
        // A hung check (and the child it forked) is killed at the timeout.
        try FileManager.default.removeItem(atPath: "\(health)/30-fails")
        try check("40-hangs", "sleep 300 & sleep 300")
        let t0 = Date()
        r = try booted(v2, ["admin", "bless-boot", "good", "--sysroot=\(s)", "--health-dir=\(health)", "--health-timeout=1", "--on-failure=bad"])
        XCTAssertLessThan(Date().timeIntervalSince(t0), 10, "the hung check was not killed in time")
        XCTAssertEqual(r.status, 1)
        XCTAssertTrue(r.stderr.contains("40-hangs (timed out after 1 s)") && r.stderr.contains("marked the entry bad"), r.stderr)
        XCTAssertEqual(try entryNames(s), ["ostree-1-testos.conf", "ostree-2-testos+0-1.conf"], "never +0, which ostree 2025.3 reads as good")
        XCTAssertEqual(try InteropTests.run("pgrep", ["-f", "sleep 300"]).status, 1, "a health check's child outlived it")
        XCTAssertEqual(try booted(v2, ["admin", "bless-boot", "status", "--sysroot=\(s)"]).stdout, "bad ostree-2-testos+0-1.conf\n")
        // Marked bad: the commit is remembered, and an uncounted entry cannot be marked bad.
        let v1 = try dirOf(s, c[0])
        let refused = try booted(v1, ["admin", "bless-boot", "bad", "--sysroot=\(s)"])
        XCTAssertEqual(refused.status, 1)
        XCTAssertTrue(refused.stderr.contains("not counted"), refused.stderr)
        let failed = try XCTUnwrap(try statusJSON(s)["failedCommits"] as? [[String: Any]])
        XCTAssertEqual(failed.map { $0["checksum"] as? String }, [c[1]])
        try assertToolsAgree(s, count: 2)
        // All checks pass: good.
        try FileManager.default.removeItem(atPath: "\(health)/40-hangs")
        try bump(s, "ostree-2-testos+0-1.conf", "ostree-2-testos+1-1.conf")
        r = try booted(v2, ["admin", "bless-boot", "good", "--sysroot=\(s)", "--health-dir=\(health)", "--health-timeout=5"])
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertEqual(try entryNames(s), ["ostree-1-testos.conf", "ostree-2-testos.conf"])
    }

    /// A health check that escapes its process group (a new session, a double fork) is killed
    /// with it; a reboot that would loop (the entry is not on trial) is refused.
    func testHealthChecksCannotOutliveTheirLimitAndRebootNeverLoops() throws {
        let (s, c) = try deployed(2)
        let v1 = try dirOf(s, c[0]), v2 = try dirOf(s, c[1])
        let health = try scratchDirectory(self, "arbor-health")
        let marker = "\(health)/escaped"
        try "#!/bin/sh\nsetsid sh -c 'sleep 4; touch \(marker)' &\n(sleep 4; touch \(marker)) &\nexit 0\n".write(toFile: "\(health)/10-daemon", atomically: false, encoding: .utf8)
        XCTAssertEqual(try InteropTests.run("chmod", ["+x", "\(health)/10-daemon"]).status, 0)
        let t0 = Date()
        let r = try booted(v2, ["admin", "bless-boot", "good", "--sysroot=\(s)", "--health-dir=\(health)", "--health-timeout=2"])
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertLessThan(Date().timeIntervalSince(t0), 4, "a descendant of the check held arbor's output")
        sleep(5)
        XCTAssertFalse(FileManager.default.fileExists(atPath: marker), "a descendant of the check outlived it")
        // A failing check on an entry that is not on trial must not reboot (it would boot again, for ever).
        try "#!/bin/sh\nexit 1\n".write(toFile: "\(health)/10-daemon", atomically: false, encoding: .utf8)
        // Unprivileged, with an empty /run (no systemd to ask), so that a decision to reboot
        // shows as reboot(2) refused instead of rebooting the test machine.
        func failedCheck(_ dir: String) throws -> RunResult {
            try InteropTests.run("unshare", ["-m", "sh", "-c", "mount -t tmpfs none /run && exec \"$@\"", "sh",
                                             "setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", arborBinary, "admin", "bless-boot", "good",
                                             "--sysroot=\(s)", "--health-dir=\(health)", "--on-failure=reboot"], env: ["ARBOR_TEST_ROOT": dir])
        }
        for dir in [v1, v2] {
            let r = try failedCheck(dir)
            XCTAssertEqual(r.status, 1)
            XCTAssertTrue(r.stderr.contains("not rebooting"), r.stderr)
        }
        // On trial, and on its last try with another entry to fall back to: reboot.
        let e = "\(s)/boot/loader/entries"
        try FileManager.default.moveItem(atPath: "\(e)/ostree-2-testos.conf", toPath: "\(e)/ostree-2-testos+1-2.conf")
        for name in ["ostree-2-testos+1-2.conf", "ostree-2-testos+0-3.conf"] {
            if !FileManager.default.fileExists(atPath: "\(e)/\(name)") {
                try FileManager.default.moveItem(atPath: "\(e)/ostree-2-testos+1-2.conf", toPath: "\(e)/\(name)")
            }
            let r = try failedCheck(v2)
            XCTAssertEqual(r.status, 1)
            XCTAssertTrue(r.stderr.contains("rebooting") && r.stderr.contains("reboot: Operation not permitted"), "\(name): \(r.stderr)")
        }
        // The last entry that is not bad: no reboot.
        try FileManager.default.moveItem(atPath: "\(e)/ostree-1-testos.conf", toPath: "\(e)/ostree-1-testos+0-1.conf")
        XCTAssertTrue(try failedCheck(v2).stderr.contains("not rebooting"))
    }

    /// Deploying while the fallback is still on trial keeps the last deployment that booted well.
    func testTheLastGoodDeploymentIsKept() throws {
        let (s, _) = try deployed(2)
        try bump(s, "ostree-2-testos+3.conf", "ostree-2-testos+2-1.conf")
        _ = try commit(s, demo10, version: "3", timestamp: 1_700_000_003)
        let out = try arborOK("admin", "upgrade", "--sysroot=\(s)", "--boot-tries=3")
        XCTAssertTrue(out.contains("has not been marked good yet"), out)
        XCTAssertEqual(try counting(s), ["v3 ostree-3-testos+3.conf indeterminate", "v2 ostree-2-testos+2-1.conf indeterminate",
                                         "v1 ostree-1-testos.conf good"])
        try assertToolsAgree(s, count: 3)
    }

    /// Entries the kernel would read otherwise than Arbor, and files that are not entries.
    func testHostileEntriesAreErrorsNotSilentDrops() throws {
        let (s, c) = try deployed(2)
        let e = "\(s)/boot/loader/entries"
        let text = try XCTUnwrap(readText("\(e)/ostree-2-testos+3.conf"))
        // An unbalanced quote swallows ostree=: an error, and cleanup deletes nothing.
        try text.replacingOccurrences(of: "options ", with: "options foo=\"bar ").write(toFile: "\(e)/ostree-2-testos+3.conf", atomically: true, encoding: .utf8)
        for args in [["admin", "status", "--sysroot=\(s)"], ["admin", "cleanup", "--sysroot=\(s)"]] {
            let r = try arbor(args)
            XCTAssertEqual(r.status, 1, args.joined(separator: " "))
            XCTAssertTrue(r.stderr.hasPrefix("arbor: error: ") && r.stderr.contains("quote"), r.stderr)
        }
        XCTAssertTrue(FileManager.default.fileExists(atPath: try dirOf(s, c[1])))
        // Two ostree= arguments: an error.
        try text.replacingOccurrences(of: "options ", with: "options ostree=/ostree/boot.1/x/y/0 ").write(toFile: "\(e)/ostree-2-testos+3.conf", atomically: true, encoding: .utf8)
        XCTAssertTrue(try arbor("admin", "status", "--sysroot=\(s)").stderr.contains("more than one ostree="))
        try text.write(toFile: "\(e)/ostree-2-testos+3.conf", atomically: true, encoding: .utf8)
        // A FIFO named like an entry, or as the failure record: an error at once, never a hang.
        XCTAssertEqual(mkfifo("\(e)/zz.conf", 0o644), 0)
        let t0 = Date()
        let r = try arbor("admin", "status", "--sysroot=\(s)")
        XCTAssertLessThan(Date().timeIntervalSince(t0), 5)
        XCTAssertTrue(r.status == 1 && r.stderr.contains("not a regular file"), r.stderr)
        try FileManager.default.removeItem(atPath: "\(e)/zz.conf")
        XCTAssertEqual(mkfifo("\(s)/ostree/deploy/\(testStateroot)/arbor-failed-boots", 0o644), 0)
        XCTAssertEqual(try arbor("admin", "status", "--sysroot=\(s)").status, 0, "status shows the deployments despite a damaged record")
        _ = try commit(s, demo10, version: "3", timestamp: 1_700_000_003)
        let up = try arbor("admin", "upgrade", "--sysroot=\(s)")
        XCTAssertTrue(up.status == 1 && up.stderr.contains("not a regular file"), "upgrade fails closed: \(up.stderr)")
    }

    /// The failed-commit memory through every path: switch, deploy, and a later good boot.
    func testFailedCommitMemoryOnEveryPath() throws {
        let (s, c) = try deployed(2)
        let v1 = try dirOf(s, c[0])
        try bump(s, "ostree-2-testos+3.conf", "ostree-2-testos+0-3.conf")
        XCTAssertEqual(try booted(v1, ["admin", "bless-boot", "good", "--sysroot=\(s)"]).status, 0)
        try arborOK("refs", "--repo=\(s)/ostree/repo", "--create=testos/other", c[1])
        let sw = try booted(v1, ["admin", "switch", "--sysroot=\(s)", "testos/other"])
        XCTAssertTrue(sw.status == 1 && sw.stderr.contains("--allow-failed"), sw.stderr)
        XCTAssertEqual(try booted(v1, ["admin", "switch", "--sysroot=\(s)", "--allow-failed", "--boot-tries=2", "testos/other"]).status, 0)
        let dep = try booted(v1, ["admin", "deploy", "--sysroot=\(s)", "--boot-tries=2", c[1]])
        XCTAssertTrue(dep.stdout.contains("failed to boot on this node before"), dep.stdout)
        // It boots well this time: the memory of its failure goes.
        let again = try dirOf(s, c[1])
        XCTAssertEqual(try booted(again, ["admin", "bless-boot", "good", "--sysroot=\(s)"]).status, 0)
        XCTAssertEqual((try statusJSON(s)["failedCommits"] as? [Any])?.count, 0)
    }

    /// Arguments that the kernel would read as more than themselves are refused everywhere.
    func testKernelArgumentsCannotSmuggleOstree() throws {
        let (s, _) = try deployed(2)
        let before = try snapshot(s)
        let link = "/ostree/boot.1/testos/x/0"
        for bad in ["x ostree=\(link)", "\"ostree=\(link)\"", "x\u{a0}ostree=\(link)", "quiet=voil\u{e0}", "foo=\"bar", "a=\"b c"] {
            let k = try arbor("admin", "kargs", "--sysroot=\(s)", "--append=\(bad)")
            XCTAssertEqual(k.status, 1, bad)
            XCTAssertTrue(k.stderr.hasPrefix("arbor: error: "), k.stderr)
            let d = try arbor("admin", "deploy", "--sysroot=\(s)", "--karg-none", "--karg=\(bad)", "testos/stable")
            XCTAssertEqual(d.status, 1, bad)
        }
        XCTAssertEqual(try snapshot(s), before)
        XCTAssertEqual(try arborOK("admin", "kargs", "--sysroot=\(s)", "--append=a=\"b c\""), "root=/dev/vda a=\"b c\"", "quoted spaces are fine")
    }

    // MARK: kargs

    func testKargsKeepTheCounterAndRefuseHostileValues() throws {
        let (s, _) = try deployed(2)
        try bump(s, "ostree-2-testos+3.conf", "ostree-2-testos+2-1.conf")
        XCTAssertEqual(try arborOK("admin", "kargs", "--sysroot=\(s)", "--append=console=ttyS0", "--replace=root=/dev/vdb"), "root=/dev/vdb console=ttyS0")
        XCTAssertEqual(try entryNames(s), ["ostree-1-testos.conf", "ostree-2-testos+2-1.conf"])
        XCTAssertTrue(try bootEntries(s)["ostree-2-testos+2-1.conf"]?.contains("options root=/dev/vdb ostree=/ostree/boot.") ?? false)
        try arborOK("admin", "kargs", "--sysroot=\(s)", "--delete=console")
        XCTAssertEqual(try arborOK("admin", "kargs", "--sysroot=\(s)"), "root=/dev/vdb")
        try assertToolsAgree(s, count: 2)
        let before = try snapshot(s)
        for bad in ["--append=a\nb", "--append=x=\r", "--replace=ostree=/evil", "--delete=absent", "--replace=absent=1", "--append=", "--append=a b\""] {
            let r = try arbor("admin", "kargs", "--sysroot=\(s)", bad)
            XCTAssertNotEqual(r.status, 0, bad)
            XCTAssertTrue(r.stderr.hasPrefix("arbor: error: "), r.stderr)
        }
        let d = try arbor("admin", "upgrade", "--sysroot=\(s)", "--karg=x=\n")
        XCTAssertNotEqual(d.status, 0)
        XCTAssertEqual(try snapshot(s), before, "refused edits changed the sysroot")
        // The next deploy inherits the edited arguments.
        _ = try commit(s, demo10, version: "3", timestamp: 1_700_000_003)
        try arborOK("admin", "upgrade", "--sysroot=\(s)", "--boot-tries=0")
        let after = try bootEntries(s)
        XCTAssertTrue(after["ostree-3-testos.conf"]?.contains("options root=/dev/vdb ostree=") ?? false, after.keys.sorted().description)
    }

    // MARK: Kills

    /// Killed after each step of an upgrade, a rollback and a bless-boot: one entry per
    /// deployment, counted or plain; and the loader's next choice is the old or the new default.
    func testKilledAtEachStepLeavesOldOrNewState() throws {
        for step in ["checkout", "etc", "origin", "kernel", "entries", "bootlinks", "refs", "bootlink-swap", "sync", "switch", "cleanup"] {
            let (s, c) = try deployed(2)
            XCTAssertEqual(try booted(try dirOf(s, c[1]), ["admin", "bless-boot", "good", "--sysroot=\(s)"]).status, 0)
            let c3 = try commit(s, demo10, version: "3", timestamp: 1_700_000_003)
            let r = try InteropTests.run(arborBinary, ["admin", "upgrade", "--sysroot=\(s)", "--boot-tries=3"], env: ["ARBOR_DEPLOY_FAULT": step])
            XCTAssertEqual(r.status, 99, "\(step): \(r.stderr)")
            try assertOneEntryPerDeployment(s)
            let next = try XCTUnwrap(try statusJSON(s)["nextBoot"] as? String)
            let names = try entryNames(s)
            let switched = ["switch", "cleanup"].contains(step)
            XCTAssertEqual(names, switched ? ["ostree-1-testos.conf", "ostree-2-testos+3.conf"] : ["ostree-1-testos.conf", "ostree-2-testos.conf"], step)
            XCTAssertTrue(next.hasPrefix("testos \(switched ? c3 : c[1])."), "\(step): next boot \(next)")
            try arborOK("admin", "cleanup", "--sysroot=\(s)")
            try assertToolsAgree(s, count: 2)

            // A rollback killed at the same step.
            let rb = try InteropTests.run(arborBinary, ["admin", "rollback", "--sysroot=\(s)"], env: ["ARBOR_DEPLOY_FAULT": step])
            if ["checkout", "etc", "origin", "kernel"].contains(step) {
                XCTAssertEqual(rb.status, 0, "\(step): rollback has no such step")
            } else {
                XCTAssertEqual(rb.status, 99, "\(step): \(rb.stderr)")
            }
            try assertOneEntryPerDeployment(s)
            XCTAssertEqual(try entryNames(s).filter { $0.contains("+") }.count, switched ? 1 : 0, "\(step): the counter is kept exactly once")
            try arborOK("admin", "cleanup", "--sysroot=\(s)")
            try assertToolsAgree(s, count: 2)
        }
        // bless-boot killed between its rename and the directory sync, and after it.
        for step in ["bless-rename", "blessed"] {
            let (s, c) = try deployed(2)
            let v2 = try dirOf(s, c[1])
            let r = try InteropTests.run(arborBinary, ["admin", "bless-boot", "good", "--sysroot=\(s)"], env: ["ARBOR_DEPLOY_FAULT": step, "ARBOR_TEST_ROOT": v2])
            XCTAssertEqual(r.status, 99, r.stderr)
            XCTAssertEqual(try entryNames(s), ["ostree-1-testos.conf", "ostree-2-testos.conf"], step)
            try assertOneEntryPerDeployment(s)
            try assertToolsAgree(s, count: 2)
        }
    }
}
