// IntegrityTests.swift - fsck, diff, prune, summary and signatures, each checked against the
// real `ostree` (2022.7) as the oracle and, for ed25519, against the spec's vector and an
// independent verifier (Python's `cryptography`, else `openssl pkeyutl`).
import Foundation
import XCTest

final class IntegrityTests: XCTestCase {

    // MARK: - Fixtures and helpers

    /// The ed25519 vector of Tests/Fixtures/ed25519-signature.txt.
    private static let vectorCommit = "924353b2d392dbe1a6f0515623b063fc4e5b2c5f9558b9b61400c9873aaf0454"
    private static let vectorSecret = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8DoQe/884Qvh1w3RjnS8CZZ+TWMJulDV8d3IZkElUxuA=="
    private static let vectorPublic = "A6EHv/POEL4dcN0Y50vAmWfk1jCbpQ1fHdyGZBJVMbg="
    private static let sampleOptions = ["--owner-uid=0", "--owner-gid=0", "--timestamp=2024-01-01T00:00:00Z",
                                        "-s", "Sample", "-m", "Body", "--add-metadata-string=version=1.0"]

    /// A small deterministic generator (SplitMix64), so "random" choices repeat run to run.
    private struct SplitMix {
        var state: UInt64
        mutating func next() -> UInt64 {
            state &+= 0x9E37_79B9_7F4A_7C15
            var z = state
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            return z ^ (z >> 31)
        }
        mutating func below(_ n: Int) -> Int { Int(next() % UInt64(n)) }
    }

    private func ostree(_ args: [String]) throws -> RunResult { try InteropTests.run(try ostreePath(), args) }

    @discardableResult
    private func ostreeMust(_ args: [String], file: StaticString = #filePath, line: UInt = #line) throws -> String {
        let r = try ostree(args)
        XCTAssertEqual(r.status, 0, "ostree \(args.joined(separator: " ")) failed: \(r.stdout)\(r.stderr)", file: file, line: line)
        return r.stdout
    }

    @discardableResult
    private func arborMust(_ args: [String], file: StaticString = #filePath, line: UInt = #line) throws -> String {
        let r = try arbor(args)
        XCTAssertEqual(r.status, 0, "arbor \(args.joined(separator: " ")) failed: \(r.stdout)\(r.stderr)", file: file, line: line)
        return r.stdout
    }

    private func trimmed(_ s: String) -> String { s.trimmingCharacters(in: .whitespacesAndNewlines) }
    private func lines(_ s: String) -> [String] { s.split(separator: "\n").map(String.init) }

    private func sh(_ script: String, file: StaticString = #filePath, line: UInt = #line) throws {
        let r = try InteropTests.run("/bin/sh", ["-c", script])
        XCTAssertEqual(r.status, 0, "sh failed: \(script)\n\(r.stderr)", file: file, line: line)
    }

    private func q(_ s: String) -> String { "'" + s.replacingOccurrences(of: "'", with: "'\\''") + "'" }

    private func objPath(_ repo: String, _ checksum: String, _ ext: String) -> String {
        "\(repo)/objects/\(checksum.prefix(2))/\(checksum.dropFirst(2)).\(ext)"
    }

    /// Object file paths of one extension, sorted; regular files only (bare symlink objects are symlinks).
    private func objectFiles(_ repo: String, _ ext: String) throws -> [String] {
        let r = try InteropTests.run("find", ["\(repo)/objects", "-type", "f", "-name", "*.\(ext)"])
        return lines(r.stdout).sorted()
    }

    private func checksumOf(_ objectFile: String) -> String {
        let url = URL(fileURLWithPath: objectFile)
        let dir = url.deletingLastPathComponent().lastPathComponent
        let rest = url.deletingPathExtension().lastPathComponent
        return dir + rest
    }

    /// Every object file (any type) under objects/, relative and sorted: the prune comparison.
    private func objectListing(_ repo: String) throws -> [String] {
        let r = try InteropTests.run("/bin/sh", ["-c", "cd \(q(repo))/objects && find . ! -type d | sort"])
        return lines(r.stdout)
    }

    private func copyRepo(_ src: String, _ dest: String) throws {
        try sh("rm -rf \(q(dest)) && cp -a \(q(src)) \(q(dest))")
    }

    private func readBytes(_ path: String) throws -> [UInt8] { [UInt8](try Data(contentsOf: URL(fileURLWithPath: path))) }
    private func writeBytes(_ path: String, _ bytes: [UInt8]) throws {
        // Write through the existing inode (objects may be read-only: open for writing as root works).
        let h = try FileHandle(forWritingTo: URL(fileURLWithPath: path))
        try h.truncate(atOffset: 0)
        try h.write(contentsOf: Data(bytes))
        try h.close()
    }

    private func flipByte(_ path: String, _ rng: inout SplitMix) throws {
        var b = try readBytes(path)
        precondition(!b.isEmpty)
        b[rng.below(b.count)] ^= 0xFF
        try writeBytes(path, b)
    }

    /// A copy of trees/NAME with the modes trees/README.md prescribes.
    private func demoTree(_ dir: String, _ name: String) throws -> String {
        let dest = "\(dir)/\(name)"
        let src = packageRoot.appendingPathComponent("trees/\(name)").path
        try sh("""
        set -e
        cp -a \(q(src)) \(q(dest))
        find \(q(dest)) -type d -exec chmod 0755 {} +
        find \(q(dest)) -type f -exec chmod 0644 {} +
        find \(q(dest))/usr/bin -type f -exec chmod 0755 {} +
        """)
        return dest
    }

    /// A repository of `mode` with branch `demo`: demo-1.0 (first) then demo-1.1 (second, its child).
    private func demoRepo(_ scratch: String, mode: String) throws -> (repo: String, first: String, second: String) {
        let repo = "\(scratch)/demo-\(mode)"
        try arborMust(["init", "--repo=\(repo)", "--mode=\(mode)"])
        let opts = ["--owner-uid=0", "--owner-gid=0"]
        let c1 = trimmed(try arborMust(["commit", "--repo=\(repo)", "-b", "demo", "--timestamp=2024-01-01T00:00:00Z", "-s", "one"]
                                       + opts + ["\(scratch)/demo-1.0"]))
        let c2 = trimmed(try arborMust(["commit", "--repo=\(repo)", "-b", "demo", "--timestamp=2024-01-02T00:00:00Z", "-s", "two",
                                        "--add-metadata-string=version=1.1"] + opts + ["\(scratch)/demo-1.1"]))
        return (repo, c1, c2)
    }

    private func prepareDemoTrees(_ scratch: String) throws {
        _ = try demoTree(scratch, "demo-1.0")
        _ = try demoTree(scratch, "demo-1.1")
    }

    /// One entry of `ostree ls -R -C`: kind ("d" or other), its checksums (dirtree, dirmeta for
    /// directories; the content checksum otherwise), and its path.
    private struct LsEntry { var isDir: Bool; var checksums: [String]; var path: String }

    private func ostreeListing(_ repo: String, _ rev: String) throws -> [LsEntry] {
        let out = try ostreeMust(["ls", "--repo=\(repo)", "-R", "-C", rev])
        return lines(out).compactMap { line in
            let f = line.split(separator: " ", omittingEmptySubsequences: true).map(String.init)
            guard f.count >= 6 else { return nil }
            let isDir = f[0].hasPrefix("d")
            let n = isDir ? 2 : 1
            let sums = Array(f[4..<(4 + n)])
            var path = f[(4 + n)...].joined(separator: " ")
            if f[0].hasPrefix("l"), let r = path.range(of: " -> ") { path = String(path[..<r.lowerBound]) }
            return LsEntry(isDir: isDir, checksums: sums, path: path)
        }
    }

    /// Where `checksum` (of `type`) is reached from, per `ostree ls -R -C` of each commit.
    private func expectedReach(_ repo: String, commits: [String], checksum: String, type: String) throws -> Set<String> {
        var out = Set<String>()
        for c in commits {
            for e in try ostreeListing(repo, c) {
                switch type {
                case "dirtree": if e.isDir && e.checksums[0] == checksum { out.insert("\(c) \(e.path)") }
                case "dirmeta": if e.isDir && e.checksums[1] == checksum { out.insert("\(c) \(e.path)") }
                default: if !e.isDir && e.checksums[0] == checksum { out.insert("\(c) \(e.path)") }
                }
            }
        }
        return out
    }

    private func json(_ s: String, file: StaticString = #filePath, line: UInt = #line) -> Any? {
        guard let obj = try? JSONSerialization.jsonObject(with: Data(s.utf8)) else {
            XCTFail("not JSON: \(s.prefix(400))", file: file, line: line)
            return nil
        }
        return obj
    }

    private struct FsckIssue { var kind: String; var object: String; var type: String; var ref: String?; var reach: Set<String> }
    private struct FsckReport { var status: Int32; var ok: Bool; var issues: [FsckIssue]; var partial: [String]
                                var deleted: [String]; var markedPartial: [String]; var raw: String }

    private func fsckJSON(_ repo: String, extra: [String] = [], file: StaticString = #filePath, line: UInt = #line) throws -> FsckReport {
        let r = try arbor(["fsck", "--repo=\(repo)", "--json"] + extra)
        guard let d = json(r.stdout, file: file, line: line) as? [String: Any] else {
            return FsckReport(status: r.status, ok: false, issues: [], partial: [], deleted: [], markedPartial: [], raw: r.stdout + r.stderr)
        }
        let issues: [FsckIssue] = (d["issues"] as? [[String: Any]] ?? []).map { i in
            let reach = Set((i["reachedFrom"] as? [[String: Any]] ?? []).map { "\($0["commit"] as? String ?? "?") \($0["path"] as? String ?? "?")" })
            return FsckIssue(kind: i["kind"] as? String ?? "", object: i["object"] as? String ?? "", type: i["type"] as? String ?? "",
                             ref: i["ref"] as? String, reach: reach)
        }
        func strings(_ k: String) -> [String] {
            (d[k] as? [Any] ?? []).map { v -> String in
                if let s = v as? String { return s }
                if let o = v as? [String: Any] { return (o["object"] as? String) ?? (o["checksum"] as? String) ?? (o["commit"] as? String) ?? "\(o)" }
                return "\(v)"
            }
        }
        return FsckReport(status: r.status, ok: d["ok"] as? Bool ?? false, issues: issues, partial: strings("partialCommits"),
                          deleted: strings("deleted"), markedPartial: strings("markedPartial"), raw: r.stdout + r.stderr)
    }

    /// Whether a serialized dirtree `(a(say)a(sayay))` has no subdirectories: the tuple's one
    /// framing offset (the end of the files array) then equals the start of the offsets.
    private func isLeafDirtree(_ bytes: [UInt8]) -> Bool {
        let n = bytes.count
        let size = n <= 0xFF ? 1 : (n <= 0xFFFF ? 2 : 4)
        guard n >= size else { return false }
        var end = 0
        for k in 0..<size { end |= Int(bytes[n - size + k]) << (8 * k) }
        return end == n - size
    }

    /// GLib's g_format_size (SI units, a no-break space before the unit), as `ostree diff --stats`
    /// and `ostree prune` print sizes.
    private func gFormatSize(_ n: UInt64) -> String {
        if n < 1000 { return n == 1 ? "1 byte" : "\(n) bytes" }
        let units: [(Double, String)] = [(1e3, "kB"), (1e6, "MB"), (1e9, "GB"), (1e12, "TB"), (1e15, "PB"), (1e18, "EB")]
        var chosen = units[0]
        for u in units where Double(n) >= u.0 { chosen = u }
        return String(format: "%.1f", Double(n) / chosen.0) + "\u{00A0}" + chosen.1
    }

    // MARK: - 1. fsck

    /// One corruption scenario: applies `damage` to a fresh copy of `base`, then checks that
    /// `arbor fsck` (text and JSON) names `checksum` with `kind`, and that `ostree fsck` fails.
    private func checkCorruption(_ label: String, base: String, scratch: String, checksum: String, type: String,
                                 kind: String, commits: [String], damage: (String) throws -> Void,
                                 file: StaticString = #filePath, line: UInt = #line) throws {
        let repo = "\(scratch)/case"
        try copyRepo(base, repo)
        // Where the object is reached from, computed by ostree before the damage.
        let reach = type == "commit" ? [] : try expectedReach(repo, commits: commits, checksum: checksum, type: type)
        try damage(repo)

        let text = try arbor(["fsck", "--repo=\(repo)"])
        XCTAssertEqual(text.status, 1, "\(label): arbor fsck should exit 1: \(text.stdout)\(text.stderr)", file: file, line: line)
        XCTAssertTrue((text.stdout + text.stderr).contains(checksum), "\(label): arbor fsck does not name \(checksum):\n\(text.stdout)\(text.stderr)",
                      file: file, line: line)

        let rep = try fsckJSON(repo, file: file, line: line)
        XCTAssertEqual(rep.status, 1, "\(label): arbor fsck --json should exit 1", file: file, line: line)
        XCTAssertFalse(rep.ok, "\(label): JSON ok should be false", file: file, line: line)
        let mine = rep.issues.filter { $0.object == checksum && $0.kind == kind }
        XCTAssertFalse(mine.isEmpty, "\(label): JSON has no \(kind) issue for \(checksum): \(rep.raw.prefix(1500))", file: file, line: line)
        if let i = mine.first {
            XCTAssertEqual(i.type, type, "\(label): JSON type", file: file, line: line)
            if type != "commit" {
                XCTAssertEqual(i.reach, reach, "\(label): reachedFrom differs from the commits/paths ostree ls lists", file: file, line: line)
            }
        }

        let o = try ostree(["fsck", "--repo=\(repo)"])
        XCTAssertNotEqual(o.status, 0, "\(label): ostree fsck accepted the damaged repository", file: file, line: line)
        if o.status > 1 { print("note: \(label): ostree fsck exited with status \(o.status)") }
    }

    func testFsckFindsEveryCorruptionAndOstreeAgrees() throws {
        _ = try ostreePath()
        let scratch = try scratchDirectory(self, "arbor-integ-fsck")
        try prepareDemoTrees(scratch)
        var rng = SplitMix(state: 0xA4B0_2024)
        for mode in ["bare", "archive"] {
            let (base, c1, c2) = try demoRepo(scratch, mode: mode)
            let commits = [c1, c2]

            // A clean repository passes both.
            let clean = try arbor(["fsck", "--repo=\(base)"])
            XCTAssertEqual(clean.status, 0, "\(mode): clean arbor fsck: \(clean.stdout)\(clean.stderr)")
            let cleanJSON = try fsckJSON(base)
            XCTAssertTrue(cleanJSON.ok && cleanJSON.issues.isEmpty, "\(mode): clean fsck --json: \(cleanJSON.raw)")
            XCTAssertEqual(try ostree(["fsck", "--repo=\(base)"]).status, 0, "\(mode): clean ostree fsck")

            let fileExt = mode == "archive" ? "filez" : "file"
            let types: [(type: String, ext: String)] = [("commit", "commit"), ("dirtree", "dirtree"), ("dirmeta", "dirmeta"), ("file", fileExt)]

            // Flip one byte of a randomly chosen object of each type (two rounds each).
            for (type, ext) in types {
                let candidates = try objectFiles(base, ext)
                XCTAssertFalse(candidates.isEmpty, "\(mode): no .\(ext) objects")
                guard !candidates.isEmpty else { continue }
                for round in 0..<2 {
                    let chosen = candidates[rng.below(candidates.count)]
                    let sum = checksumOf(chosen)
                    let rel = String(chosen.dropFirst(base.count))
                    var local = rng
                    _ = rng.next()
                    try checkCorruption("\(mode) flip \(type) #\(round) \(sum)", base: base, scratch: scratch, checksum: sum, type: type,
                                        kind: "corrupt", commits: commits) { repo in
                        try self.flipByte(repo + rel, &local)
                    }
                }
            }

            // Truncate one object of each non-commit type to half its size.
            for (type, ext) in types where type != "commit" {
                let candidates = try objectFiles(base, ext)
                guard !candidates.isEmpty else { continue }
                let chosen = candidates[rng.below(candidates.count)]
                let rel = String(chosen.dropFirst(base.count))
                try checkCorruption("\(mode) truncate \(type)", base: base, scratch: scratch, checksum: checksumOf(chosen), type: type,
                                    kind: "corrupt", commits: commits) { repo in
                    let b = try self.readBytes(repo + rel)
                    try self.writeBytes(repo + rel, Array(b.prefix(b.count / 2)))
                }
            }

            // Delete one object of each non-commit type: "missing".
            for (type, ext) in types where type != "commit" {
                let candidates = try objectFiles(base, ext)
                guard !candidates.isEmpty else { continue }
                let chosen = candidates[rng.below(candidates.count)]
                let rel = String(chosen.dropFirst(base.count))
                try checkCorruption("\(mode) delete \(type)", base: base, scratch: scratch, checksum: checksumOf(chosen), type: type,
                                    kind: "missing", commits: commits) { repo in
                    try FileManager.default.removeItem(atPath: repo + rel)
                }
            }

            // Replace an object with a different valid object of the same type (wrong checksum).
            // The parent commit takes the tip's bytes.
            try checkCorruption("\(mode) replace commit", base: base, scratch: scratch, checksum: c1, type: "commit",
                                kind: "corrupt", commits: commits) { repo in
                try self.writeBytes(self.objPath(repo, c1, "commit"), try self.readBytes(self.objPath(repo, c2, "commit")))
            }
            // The tip takes the parent's bytes: also a ref naming a corrupt commit.
            try checkCorruption("\(mode) replace tip commit", base: base, scratch: scratch, checksum: c2, type: "commit",
                                kind: "corrupt", commits: commits) { repo in
                try self.writeBytes(self.objPath(repo, c2, "commit"), try self.readBytes(self.objPath(repo, c1, "commit")))
            }
            // A dirtree takes a leaf dirtree's bytes (a leaf, so that no cycle appears).
            let dirtrees = try objectFiles(base, "dirtree")
            let leaves = try dirtrees.filter { isLeafDirtree(try readBytes($0)) }
            XCTAssertFalse(leaves.isEmpty, "\(mode): no leaf dirtree found")
            if let leaf = leaves.first, let victim = dirtrees.first(where: { $0 != leaf && !leaves.contains($0) }) ?? dirtrees.first(where: { $0 != leaf }) {
                let rel = String(victim.dropFirst(base.count)), leafRel = String(leaf.dropFirst(base.count))
                try checkCorruption("\(mode) replace dirtree", base: base, scratch: scratch, checksum: checksumOf(victim), type: "dirtree",
                                    kind: "corrupt", commits: commits) { repo in
                    try self.writeBytes(repo + rel, try self.readBytes(repo + leafRel))
                }
            }
            // A content object takes another content object's bytes.
            let files = try objectFiles(base, fileExt)
            if files.count >= 2 {
                let i = rng.below(files.count), j = (i + 1 + rng.below(files.count - 1)) % files.count
                let rel = String(files[i].dropFirst(base.count)), otherRel = String(files[j].dropFirst(base.count))
                try checkCorruption("\(mode) replace file", base: base, scratch: scratch, checksum: checksumOf(files[i]), type: "file",
                                    kind: "corrupt", commits: commits) { repo in
                    try self.writeBytes(repo + rel, try self.readBytes(repo + otherRel))
                }
            }

            // Every bad object is reported, not just the first.
            let repo = "\(scratch)/multi"
            try copyRepo(base, repo)
            let dt = dirtrees[rng.below(dirtrees.count)], fo = files[rng.below(files.count)]
            try flipByte(repo + String(dt.dropFirst(base.count)), &rng)
            try FileManager.default.removeItem(atPath: repo + String(fo.dropFirst(base.count)))
            let rep = try fsckJSON(repo)
            XCTAssertEqual(rep.status, 1)
            XCTAssertTrue(rep.issues.contains { $0.object == checksumOf(dt) && $0.kind == "corrupt" && $0.type == "dirtree" },
                          "\(mode): corrupt dirtree not reported alongside a missing file: \(rep.raw.prefix(1500))")
            XCTAssertTrue(rep.issues.contains { $0.object == checksumOf(fo) && $0.kind == "missing" && $0.type == "file" }
                          || reachableOnlyBelow(dt, fo, base, commits),
                          "\(mode): missing file not reported alongside a corrupt dirtree: \(rep.raw.prefix(1500))")
        }
    }

    /// Whether every path reaching `fileObj` lies below a directory whose dirtree is `dirtreeObj`
    /// (then a checker cannot see the file once that dirtree is corrupt).
    private func reachableOnlyBelow(_ dirtreeObj: String, _ fileObj: String, _ repo: String, _ commits: [String]) -> Bool {
        let dt = checksumOf(dirtreeObj), fo = checksumOf(fileObj)
        for c in commits {
            guard let entries = try? ostreeListing(repo, c) else { return false }
            let dirs = entries.filter { $0.isDir && $0.checksums[0] == dt }.map { $0.path == "/" ? "/" : $0.path + "/" }
            for e in entries where !e.isDir && e.checksums[0] == fo {
                if !dirs.contains(where: { e.path.hasPrefix($0) }) { return false }
            }
        }
        return true
    }

    /// File objects a commit needs that its parent does not.
    private func contentOnlyIn(_ repo: String, _ commit: String, notIn other: String) throws -> [String] {
        let mine = Set(try ostreeListing(repo, commit).filter { !$0.isDir }.map { $0.checksums[0] })
        let theirs = Set(try ostreeListing(repo, other).filter { !$0.isDir }.map { $0.checksums[0] })
        return mine.subtracting(theirs).sorted()
    }

    func testFsckPartialCommits() throws {
        _ = try ostreePath()
        let scratch = try scratchDirectory(self, "arbor-integ-partial")
        try prepareDemoTrees(scratch)
        for mode in ["archive", "bare"] {
            let (base, c1, c2) = try demoRepo(scratch, mode: mode)
            let only = try contentOnlyIn(base, c2, notIn: c1)
            let victim = try XCTUnwrap(only.first, "\(mode): no object unique to the second commit")
            let ext = mode == "archive" ? "filez" : "file"

            // A partial tip that a ref names: the issue's rule is exit 1.
            let repo = "\(scratch)/partial-\(mode)"
            try copyRepo(base, repo)
            try FileManager.default.removeItem(atPath: objPath(repo, victim, ext))
            XCTAssertTrue(FileManager.default.createFile(atPath: "\(repo)/state/\(c2).commitpartial", contents: Data()))
            let withRef = try fsckJSON(repo)
            XCTAssertEqual(withRef.status, 1, "\(mode): a ref naming a partial commit must fail fsck: \(withRef.raw)")
            XCTAssertTrue(withRef.partial.contains(c2), "\(mode): partialCommits should list \(c2): \(withRef.raw)")
            XCTAssertFalse(withRef.issues.contains { $0.object == victim },
                           "\(mode): the object a partial commit lacks is not corruption: \(withRef.raw)")
            XCTAssertTrue(withRef.issues.contains { $0.object == c2 && $0.ref == "demo" }, "\(mode): the issue should name ref demo: \(withRef.raw)")
            let oWithRef = try ostree(["fsck", "--repo=\(repo)"])
            // Observed: ostree 2022.7 exits 0 here (it does not check whether refs name partial
            // commits). The issue deliberately asks Arbor to fail; this divergence is reported.
            print("note: \(mode): ostree fsck with a ref naming a partial commit exits \(oWithRef.status)")

            // The same partial commit once no ref names it: exit 0, reported as partial; ostree agrees.
            try arborMust(["refs", "--repo=\(repo)", "--create=demo", c1])
            XCTAssertEqual(trimmed(try arborMust(["rev-parse", "--repo=\(repo)", "demo"])), c1)
            let text = try arbor(["fsck", "--repo=\(repo)"])
            XCTAssertEqual(text.status, 0, "\(mode): partial commits alone are not corruption: \(text.stdout)\(text.stderr)")
            XCTAssertTrue((text.stdout + text.stderr).lowercased().contains("partial"), "\(mode): fsck should report the partial commit: \(text.stdout)")
            let noRef = try fsckJSON(repo)
            XCTAssertEqual(noRef.status, 0)
            XCTAssertTrue(noRef.ok, "\(mode): \(noRef.raw)")
            XCTAssertEqual(noRef.partial, [c2], "\(mode): partialCommits")
            let oNoRef = try ostree(["fsck", "--repo=\(repo)"])
            XCTAssertEqual(oNoRef.status, 0, "\(mode): ostree fsck on the same repository: \(oNoRef.stderr)")
            XCTAssertTrue(oNoRef.stdout.contains("1 partial commits not verified"), "\(mode): ostree: \(oNoRef.stdout)")

            // Without the marker, the same missing object is corruption.
            try FileManager.default.removeItem(atPath: "\(repo)/state/\(c2).commitpartial")
            let unmarked = try fsckJSON(repo)
            XCTAssertEqual(unmarked.status, 1, "\(mode): a complete commit lacking an object must fail")
            XCTAssertTrue(unmarked.issues.contains { $0.object == victim && $0.kind == "missing" }, "\(mode): \(unmarked.raw)")
            XCTAssertNotEqual(try ostree(["fsck", "--repo=\(repo)"]).status, 0)
        }
    }

    func testFsckDeleteMarksPartialLikeOstree() throws {
        _ = try ostreePath()
        let scratch = try scratchDirectory(self, "arbor-integ-fsckdel")
        try prepareDemoTrees(scratch)
        var rng = SplitMix(state: 77)
        for mode in ["bare", "archive"] {
            let (base, c1, c2) = try demoRepo(scratch, mode: mode)
            let ext = mode == "archive" ? "filez" : "file"
            // An object only the tip needs, so only the tip becomes partial.
            let regular = Set(try objectFiles(base, ext).map { checksumOf($0) })
            let only = try contentOnlyIn(base, c2, notIn: c1).filter { regular.contains($0) }
            let victim = try XCTUnwrap(only.first)
            let a = "\(scratch)/del-arbor-\(mode)", o = "\(scratch)/del-ostree-\(mode)"
            try copyRepo(base, a)
            try flipByte(objPath(a, victim, ext), &rng)
            try copyRepo(a, o)

            let rep = try fsckJSON(a, extra: ["--delete"])
            let oDel = try ostree(["fsck", "--repo=\(o)", "--delete"])
            XCTAssertNotEqual(oDel.status, 0, "ostree fsck --delete reports the corruption it found")
            XCTAssertEqual(rep.status, 1, "\(mode): fsck --delete found a corrupt object, so it should exit 1 as ostree fsck --delete does (\(oDel.status)): \(rep.raw)")
            XCTAssertTrue(rep.issues.contains { $0.object == victim && $0.kind == "corrupt" }, "\(mode): \(rep.raw)")
            XCTAssertTrue(rep.deleted.contains { $0.contains(victim) }, "\(mode): JSON deleted should list \(victim): \(rep.raw)")
            XCTAssertEqual(rep.markedPartial, [c2], "\(mode): JSON markedPartial")
            XCTAssertFalse(FileManager.default.fileExists(atPath: objPath(a, victim, ext)), "\(mode): corrupt object not removed")
            XCTAssertTrue(FileManager.default.fileExists(atPath: "\(a)/state/\(c2).commitpartial"), "\(mode): tip not marked partial")
            XCTAssertFalse(FileManager.default.fileExists(atPath: "\(a)/state/\(c1).commitpartial"), "\(mode): parent wrongly marked partial")
            // Same objects and same markers as ostree fsck --delete leaves.
            XCTAssertEqual(try objectListing(a), try objectListing(o), "\(mode): objects after fsck --delete differ from ostree's")
            XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: "\(a)/state").sorted(),
                           try FileManager.default.contentsOfDirectory(atPath: "\(o)/state").sorted(), "\(mode): state/ markers differ")

            // Afterwards the ref still names a partial commit: an error for Arbor, on its own
            // repository and on ostree's; and ostree fsck must also keep failing on Arbor's
            // repository, as it does on its own (ostree writes "f" into the marker of commits it
            // marked partial after fsck-detected corruption).
            let after = try arbor(["fsck", "--repo=\(a)"])
            XCTAssertEqual(after.status, 1, "\(mode): the ref names a partial commit: \(after.stdout)\(after.stderr)")
            XCTAssertEqual(try arbor(["fsck", "--repo=\(o)"]).status, 1, "\(mode): arbor fsck on ostree's repository after --delete")
            XCTAssertNotEqual(try ostree(["fsck", "--repo=\(o)"]).status, 0, "ostree fsck on its own repository after --delete")
            let oAfter = try ostree(["fsck", "--repo=\(a)"])
            let markerA = try readBytes("\(a)/state/\(c2).commitpartial"), markerO = try readBytes("\(o)/state/\(c2).commitpartial")
            XCTAssertNotEqual(oAfter.status, 0,
                              "\(mode): ostree fsck accepts Arbor's repository after arbor fsck --delete (marker bytes: \(markerA), ostree's: \(markerO))")

            // Even once no ref names it, a commit fsck marked partial stays an error until a pull
            // repairs it, for both tools (ostree: "partial commits from fsck-detected corruption").
            try arborMust(["refs", "--repo=\(a)", "--create=demo", c1])
            let moved = try arbor(["fsck", "--repo=\(a)"])
            XCTAssertEqual(moved.status, 1, "\(mode): fsck-detected partial commit: \(moved.stdout)\(moved.stderr)")
            XCTAssertNotEqual(try ostree(["fsck", "--repo=\(a)"]).status, 0, "\(mode): ostree fsck agrees")
        }
    }

    // MARK: - 2. diff

    private func assertDiffMatches(_ repo: String, _ a: String, _ b: String, _ label: String,
                                   file: StaticString = #filePath, line: UInt = #line) throws {
        let ours = try arborMust(["diff", "--repo=\(repo)", a, b], file: file, line: line)
        let theirs = try ostreeMust(["diff", "--repo=\(repo)", a, b], file: file, line: line)
        XCTAssertEqual(ours, theirs, "\(label): arbor diff \(a) \(b) differs from ostree diff", file: file, line: line)
        XCTAssertFalse(theirs.isEmpty, "\(label): expected some differences", file: file, line: line)

        // --json lists the same paths in the same groups and order.
        var expected: [String: [String]] = ["modified": [], "removed": [], "added": []]
        for l in lines(theirs) {
            let key = l.hasPrefix("M") ? "modified" : (l.hasPrefix("D") ? "removed" : "added")
            expected[key]!.append(String(l.dropFirst(1)).trimmingCharacters(in: .whitespaces))
        }
        let j = try arborMust(["diff", "--repo=\(repo)", "--json", a, b], file: file, line: line)
        if let d = json(j, file: file, line: line) as? [String: Any] {
            for key in ["modified", "removed", "added"] {
                XCTAssertEqual(d[key] as? [String], expected[key], "\(label): --json \(key)", file: file, line: line)
            }
        }

        let s1 = try arborMust(["diff", "--repo=\(repo)", "--stats", a, b], file: file, line: line)
        let s2 = try ostreeMust(["diff", "--repo=\(repo)", "--stats", a, b], file: file, line: line)
        XCTAssertEqual(s1, s2, "\(label): arbor diff --stats differs from ostree diff --stats", file: file, line: line)
    }

    func testDiffMatchesOstree() throws {
        _ = try ostreePath()
        let scratch = try scratchDirectory(self, "arbor-integ-diff")
        try prepareDemoTrees(scratch)
        let (repo, c1, c2) = try demoRepo(scratch, mode: "bare")
        try assertDiffMatches(repo, c1, c2, "demo 1.0 -> 1.1")
        try assertDiffMatches(repo, "demo", "demo^", "demo 1.1 -> 1.0")
        XCTAssertEqual(lines(try arborMust(["diff", "--repo=\(repo)", "demo^", "demo"])),
                       ["M    /usr/bin/hello", "M    /usr/etc/motd", "M    /usr/etc/demo/app.conf", "M    /usr/lib/os-release",
                        "D    /usr/bin/arbor-demo-info", "D    /usr/share/doc/demo/OLD-NOTES",
                        "A    /usr/bin/newtool", "A    /usr/etc/demo/extra.conf", "A    /usr/share/doc/demo/CHANGES"])
        XCTAssertEqual(try arborMust(["diff", "--repo=\(repo)", c1, c1]), "", "a commit has no differences with itself")

        // The odd tree against a modified copy.
        let odd = "\(scratch)/odd", odd2 = "\(scratch)/odd2"
        try runScript("make-odd-tree.sh", [odd, "400"])
        try sh("""
        set -e
        cp -a \(q(odd)) \(q(odd2))
        cd \(q(odd2))
        echo changed > names/abc
        printf x >> sizes/random-4096
        rm names/a symlinks/dangling
        echo new > names/new-file
        echo added > empty/dir/added
        rm -r 'names-dirs/with space' deep
        mkdir -p newdir/sub/deeper
        echo f > newdir/sub/deeper/file
        echo x > newdir/x
        rm names/B && mkdir names/B && echo in > names/B/inside
        rmdir empty/dir-0700 && echo now-a-file > empty/dir-0700
        chmod 0700 modes/dir-0755
        chmod 0600 modes/file-0644
        ln -sfn elsewhere symlinks/relative
        setfattr -n user.one -v 2 xattrs/one
        """)
        try arborMust(["commit", "--repo=\(repo)", "-b", "odd", "--timestamp=2024-01-01T00:00:00Z", "-s", "odd", odd])
        try arborMust(["commit", "--repo=\(repo)", "-b", "odd", "--timestamp=2024-01-02T00:00:00Z", "-s", "odd2", odd2])
        try assertDiffMatches(repo, "odd^", "odd", "odd -> modified")
        try assertDiffMatches(repo, "odd", "odd^", "modified -> odd")
        // Spot checks of the shape ostree prints: a deleted directory only itself, an added one everything under it.
        let out = lines(try arborMust(["diff", "--repo=\(repo)", "odd^", "odd"]))
        XCTAssertTrue(out.contains("D    /deep") && !out.contains { $0.hasPrefix("D    /deep/") })
        XCTAssertTrue(out.contains("A    /newdir/sub/deeper/file"))
        XCTAssertTrue(out.contains("M    /modes/dir-0755") && out.contains("M    /modes/file-0644"))
    }

    // MARK: - 3. prune

    private func prunedCount(_ output: String) -> Int? {
        // "Deleted 31 objects, ..." / "Would delete 31 objects" / ostree's "Would delete: 31 objects"
        for l in lines(output) {
            for prefix in ["Deleted ", "Would delete: ", "Would delete "] where l.hasPrefix(prefix) {
                let rest = l.dropFirst(prefix.count)
                if let n = Int(rest.prefix { $0.isNumber }) { return n }
            }
            if l.contains("No unreachable objects") { return 0 }
        }
        return nil
    }

    func testPruneMatchesOstree() throws {
        _ = try ostreePath()
        let scratch = try scratchDirectory(self, "arbor-integ-prune")
        try prepareDemoTrees(scratch)
        let sample = "\(scratch)/sample"
        try runScript("make-sample-tree.sh", [sample])
        let base = "\(scratch)/base"
        try arborMust(["init", "--repo=\(base)", "--mode=bare"])
        let opts = ["--owner-uid=0", "--owner-gid=0"]
        let ca = trimmed(try arborMust(["commit", "--repo=\(base)", "-b", "a", "--timestamp=2024-01-01T00:00:00Z", "-s", "a"] + opts + ["\(scratch)/demo-1.0"]))
        let cb = trimmed(try arborMust(["commit", "--repo=\(base)", "-b", "b", "--parent=\(ca)", "--timestamp=2024-01-02T00:00:00Z", "-s", "b"]
                                       + opts + ["\(scratch)/demo-1.1"]))
        let orphan = trimmed(try arborMust(["commit", "--repo=\(base)", "--orphan", "--timestamp=2024-01-03T00:00:00Z", "-s", "orphan"]
                                           + opts + [sample]))
        XCTAssertEqual(try ostree(["fsck", "--repo=\(base)"]).status, 0)
        let all = try objectListing(base)

        var n = 0
        /// Copies base twice, deletes `ref` in both, runs arbor/ostree prune with `flags`; compares.
        func compare(delete ref: String, _ flags: [String], _ label: String) throws -> (arbor: String, ostree: String) {
            n += 1
            let a = "\(scratch)/a\(n)", o = "\(scratch)/o\(n)"
            try copyRepo(base, a)
            try copyRepo(base, o)
            try arborMust(["refs", "--repo=\(a)", "--delete", ref])
            try ostreeMust(["refs", "--repo=\(o)", "--delete", ref])
            let ar = try arborMust(["prune", "--repo=\(a)"] + flags)
            let orr = try ostreeMust(["prune", "--repo=\(o)"] + flags)
            let la = try objectListing(a), lo = try objectListing(o)
            XCTAssertEqual(la.count, lo.count, "\(label): object count left differs (arbor \(la.count), ostree \(lo.count))")
            XCTAssertTrue(la == lo, "\(label): objects left differ; only arbor: \(Array(Set(la).subtracting(lo)).sorted().prefix(5)), only ostree: \(Array(Set(lo).subtracting(la)).sorted().prefix(5))")
            XCTAssertEqual(prunedCount(ar), prunedCount(orr), "\(label): reported counts differ:\n\(ar)\n\(orr)")
            XCTAssertNotNil(prunedCount(ar), "\(label): no count in arbor's report: \(ar)")
            let f = try ostree(["fsck", "--repo=\(a)"])
            XCTAssertEqual(f.status, 0, "\(label): ostree fsck after arbor prune: \(f.stderr)")
            XCTAssertEqual(try arbor(["fsck", "--repo=\(a)"]).status, 0, "\(label): arbor fsck after arbor prune")
            XCTAssertEqual(try ostree(["fsck", "--repo=\(o)"]).status, 0)
            return (a, o)
        }

        // Delete b: its commit and everything only it (and the orphan) held go.
        let (a1, _) = try compare(delete: "b", ["--refs-only"], "refs-only after deleting b")
        XCTAssertTrue(FileManager.default.fileExists(atPath: objPath(a1, ca, "commit")))
        XCTAssertFalse(FileManager.default.fileExists(atPath: objPath(a1, cb, "commit")))
        XCTAssertFalse(FileManager.default.fileExists(atPath: objPath(a1, orphan, "commit")))
        XCTAssertLessThan(try objectListing(a1).count, all.count)

        // Delete a: b's parent is a's commit, so --refs-only keeps it; --depth=0 does not.
        let (a2, _) = try compare(delete: "a", ["--refs-only"], "refs-only after deleting a")
        XCTAssertTrue(FileManager.default.fileExists(atPath: objPath(a2, ca, "commit")), "the parent of b is kept")
        let (a3, _) = try compare(delete: "a", ["--refs-only", "--depth=0"], "refs-only depth=0 after deleting a")
        XCTAssertFalse(FileManager.default.fileExists(atPath: objPath(a3, ca, "commit")), "depth=0 keeps only ref tips")
        XCTAssertTrue(FileManager.default.fileExists(atPath: objPath(a3, cb, "commit")))
        XCTAssertEqual(lines(try arborMust(["diff", "--repo=\(a3)", "b", "b"])), [], "b's tree intact")

        // Without --refs-only every commit (and its tree) is kept.
        let (a4, _) = try compare(delete: "b", [], "full prune after deleting b")
        XCTAssertEqual(try objectListing(a4), all, "prune without --refs-only keeps every commit")

        // --keep-younger-than: b's parent (a's commit, now unnamed) is older than the date and goes;
        // ref tips stay. ostree computes reachability from refs whenever this option is given
        // (with or without --refs-only), so the orphan goes too.
        let (a5, _) = try compare(delete: "a", ["--refs-only", "--keep-younger-than=2024-01-01 12:00:00"], "refs-only keep-younger-than")
        XCTAssertFalse(FileManager.default.fileExists(atPath: objPath(a5, ca, "commit")))
        XCTAssertTrue(FileManager.default.fileExists(atPath: objPath(a5, cb, "commit")))
        _ = try compare(delete: "a", ["--keep-younger-than=2024-01-01 12:00:00"], "keep-younger-than without --refs-only")

        // --no-prune deletes nothing and reports the count that would go (as ostree --no-prune).
        let dry = "\(scratch)/dry", dryO = "\(scratch)/dryO"
        try copyRepo(base, dry)
        try copyRepo(base, dryO)
        try arborMust(["refs", "--repo=\(dry)", "--delete", "b"])
        try ostreeMust(["refs", "--repo=\(dryO)", "--delete", "b"])
        let dr = try arborMust(["prune", "--repo=\(dry)", "--refs-only", "--no-prune"])
        let dro = try ostreeMust(["prune", "--repo=\(dryO)", "--refs-only", "--no-prune"])
        XCTAssertEqual(try objectListing(dry), all, "--no-prune deleted something")
        XCTAssertEqual(try objectListing(dryO), all)
        XCTAssertEqual(prunedCount(dr), prunedCount(dro), "--no-prune counts:\n\(dr)\n\(dro)")
        XCTAssertEqual(prunedCount(dr), all.count - (try objectListing(a1)).count, "--no-prune count equals what a real prune deletes")
        if let d = json(try arborMust(["prune", "--repo=\(dry)", "--refs-only", "--no-prune", "--json"])) as? [String: Any] {
            XCTAssertEqual((d["unreachable"] as? NSNumber)?.intValue, prunedCount(dro), "--json unreachable: \(d)")
            // The bytes it would free, printed the way ostree prints them, match ostree's figure.
            if let bytes = (d["bytes"] as? NSNumber)?.uint64Value {
                XCTAssertTrue(dro.contains("freeing \(gFormatSize(bytes))"), "bytes \(bytes) (\(gFormatSize(bytes))) vs ostree: \(dro)")
            } else { XCTFail("--json has no bytes: \(d)") }
        }
        XCTAssertEqual(try objectListing(dry), all)
    }

    func testPruneHoldsTheExclusiveLock() throws {
        let scratch = try scratchDirectory(self, "arbor-integ-prunelock")
        try prepareDemoTrees(scratch)
        let (repo, _, _) = try demoRepo(scratch, mode: "archive")
        try arborMust(["refs", "--repo=\(repo)", "--delete", "demo"])
        // Lock timeout of 2 s under [core].
        let config = try String(contentsOfFile: "\(repo)/config", encoding: .utf8)
        let edited = config.replacingOccurrences(of: "[core]\n", with: "[core]\nlock-timeout-secs=2\n")
        XCTAssertNotEqual(config, edited)
        try edited.write(toFile: "\(repo)/config", atomically: true, encoding: .utf8)
        let before = try objectListing(repo)
        XCTAssertFalse(before.isEmpty)

        // A shared OFD lock on R/.lock held by another process.
        let holder = Process()
        holder.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        holder.arguments = ["python3", "-c", """
        import fcntl, os, struct, sys
        fd = os.open(sys.argv[1], os.O_RDWR | os.O_CREAT, 0o640)
        fcntl.fcntl(fd, 37, struct.pack('hhqqi', fcntl.F_RDLCK, 0, 0, 0, 0))
        print('locked', flush=True)
        sys.stdin.read()
        """, "\(repo)/.lock"]
        let inPipe = Pipe(), outPipe = Pipe()
        holder.standardInput = inPipe
        holder.standardOutput = outPipe
        try holder.run()
        defer {
            try? inPipe.fileHandleForWriting.close()
            holder.waitUntilExit()
        }
        var got = Data()
        while !String(decoding: got, as: UTF8.self).contains("locked") {
            let d = outPipe.fileHandleForReading.availableData
            if d.isEmpty { break }
            got.append(d)
        }
        XCTAssertTrue(String(decoding: got, as: UTF8.self).contains("locked"), "lock holder did not start")

        let start = Date()
        let r = try arbor(["prune", "--repo=\(repo)", "--refs-only"])
        let elapsed = Date().timeIntervalSince(start)
        XCTAssertNotEqual(r.status, 0, "prune ran while another process held a shared lock: \(r.stdout)")
        XCTAssertTrue(r.stderr.contains("locked"), "error should mention the lock: \(r.stderr)")
        XCTAssertTrue(r.stderr.contains("arbor: error:"), r.stderr)
        XCTAssertGreaterThan(elapsed, 1.5, "prune should wait lock-timeout-secs before giving up")
        XCTAssertLessThan(elapsed, 30)
        XCTAssertEqual(try objectListing(repo), before, "prune deleted objects without the lock")

        // Released: prune now proceeds and deletes everything (no refs remain).
        try inPipe.fileHandleForWriting.close()
        holder.waitUntilExit()
        try arborMust(["prune", "--repo=\(repo)", "--refs-only"])
        XCTAssertLessThan(try objectListing(repo).count, before.count)
    }

    // MARK: - 4. summary

    /// (ref, commit, version) triples from `summary --view` text (Arbor's or ostree's).
    private func summaryRefs(_ view: String) -> [String] {
        var out: [String] = []
        var ref: String?, commit: String?, version = "-"
        func flush() { if let r = ref { out.append("\(r) \(commit ?? "?") \(version)") }; ref = nil; commit = nil; version = "-" }
        let ls = lines(view)
        for (i, l) in ls.enumerated() {
            if l.hasPrefix("* ") { flush(); ref = String(l.dropFirst(2)) }
            else if l.contains("Latest Commit"), i + 1 < ls.count { commit = trimmed(ls[i + 1]) }
            else if l.contains("Version (ostree.commit.version):") { version = trimmed(String(l.split(separator: ":", maxSplits: 1)[1])) }
        }
        flush()
        return out
    }

    func testSummaryInteroperates() throws {
        _ = try ostreePath()
        let scratch = try scratchDirectory(self, "arbor-integ-summary")
        try prepareDemoTrees(scratch)
        for mode in ["archive", "bare"] {
            let (repo, c1, c2) = try demoRepo(scratch, mode: mode)
            try arborMust(["refs", "--repo=\(repo)", "--create=stable", c1])
            let expected = ["demo \(c2) 1.1", "stable \(c1) -"]

            // Arbor writes, ostree reads.
            try arborMust(["summary", "--repo=\(repo)", "-u"])
            let theirs = try ostreeMust(["summary", "--repo=\(repo)", "--view"])
            let ours = try arborMust(["summary", "--repo=\(repo)", "--view"])
            XCTAssertEqual(summaryRefs(theirs), expected, "\(mode): ostree's view of Arbor's summary:\n\(theirs)")
            XCTAssertEqual(summaryRefs(ours), summaryRefs(theirs), "\(mode): arbor summary --view")
            let wantMode = mode == "archive" ? "archive-z2" : mode
            XCTAssertTrue(theirs.contains("Repository Mode (ostree.summary.mode): \(wantMode)"), "\(mode): \(theirs)")
            XCTAssertTrue(ours.contains("Repository Mode (ostree.summary.mode): \(wantMode)"), "\(mode): \(ours)")

            // The refs arbor lists are the summary's.
            if let refs = json(try arborMust(["refs", "--repo=\(repo)", "--json"])) {
                var pairs: [String] = []
                if let list = refs as? [[String: Any]] { pairs = list.map { "\($0["name"] as? String ?? "?") \($0["checksum"] as? String ?? "?")" } }
                else if let dict = refs as? [String: String] { pairs = dict.map { "\($0.key) \($0.value)" } }
                XCTAssertEqual(pairs.sorted(), ["demo \(c2)", "stable \(c1)"], "\(mode): refs --json")
            }

            // ostree writes, Arbor reads.
            try FileManager.default.removeItem(atPath: "\(repo)/summary")
            let before = Date().timeIntervalSince1970
            try ostreeMust(["summary", "--repo=\(repo)", "-u"])
            let view = try arborMust(["summary", "--repo=\(repo)", "--view"])
            XCTAssertEqual(summaryRefs(view), expected, "\(mode): arbor's view of ostree's summary:\n\(view)")
            XCTAssertEqual(summaryRefs(view), summaryRefs(try ostreeMust(["summary", "--repo=\(repo)", "--view"])))
            XCTAssertTrue(view.contains("Repository Mode (ostree.summary.mode): \(wantMode)"), "\(mode): \(view)")
            if let d = json(try arborMust(["summary", "--repo=\(repo)", "--view", "--json"])) as? [String: Any] {
                let refs = (d["refs"] as? [[String: Any]] ?? []).map {
                    "\($0["name"] as? String ?? "?") \($0["checksum"] as? String ?? "?") \($0["version"] as? String ?? "-")"
                }
                XCTAssertEqual(refs, expected, "\(mode): summary --view --json refs")
                let meta = d["metadata"] as? [String: Any] ?? [:]
                XCTAssertEqual(meta["ostree.summary.mode"] as? String, wantMode)
                // ostree.summary.last-modified is a big-endian uint64 of seconds: JSON should carry the time.
                if let lm = meta["ostree.summary.last-modified"] as? NSNumber {
                    XCTAssertLessThan(abs(lm.doubleValue - before), 86400,
                                      "\(mode): summary --view --json last-modified \(lm) is not the Unix time (now \(Int(before))) — byte order?")
                }
            }
        }
    }

    // MARK: - 5/6. signatures

    /// Expected .commitmeta bytes from the fixture's hex dump.
    private func fixtureCommitmeta() throws -> [UInt8] {
        let text = try String(contentsOf: packageRoot.appendingPathComponent("Tests/Fixtures/ed25519-signature.txt"), encoding: .utf8)
        var out: [UInt8] = []
        for l in lines(text) {
            guard l.count > 10, l.prefix(8).allSatisfy({ $0.isHexDigit }), l.dropFirst(8).hasPrefix("  ") else { continue }
            var body = l.dropFirst(10)
            if let bar = body.firstIndex(of: "|") { body = body[..<bar] }
            for tok in body.split(separator: " ") where tok.count == 2 { out.append(UInt8(tok, radix: 16)!) }
        }
        return out
    }

    private func fixtureValue(_ label: String) throws -> String {
        let text = try String(contentsOf: packageRoot.appendingPathComponent("Tests/Fixtures/ed25519-signature.txt"), encoding: .utf8)
        for l in lines(text) where l.hasPrefix(label) {
            return String(l.dropFirst(label.count).split(separator: " ", omittingEmptySubsequences: true)[0])
        }
        throw NSError(domain: "fixture", code: 1, userInfo: [NSLocalizedDescriptionKey: "no \(label) in fixture"])
    }

    /// Signatures of a commit as `ostree show --print-detached-metadata-key` prints them (64 bytes each).
    private func ostreeSignatures(_ repo: String, _ rev: String, file: StaticString = #filePath, line: UInt = #line) throws -> [String] {
        let out = try ostreeMust(["show", "--repo=\(repo)", "--print-detached-metadata-key=ostree.sign.ed25519", rev], file: file, line: line)
        // GLib prints each `ay` either as [byte 0x.., ...] or, when it ends with a NUL byte and
        // has no other, as a b"..." literal with C escapes and without that final NUL; both are
        // valid Python literals once the `byte` annotations are dropped.
        let script = """
        import ast, sys
        text = sys.stdin.read().replace('[byte ', '[')
        for item in ast.literal_eval(text.strip()):
            print((item + b'\\0' if isinstance(item, bytes) else bytes(item)).hex())
        """
        let r = try InteropTests.run("python3", ["-c", script], stdin: Data(out.utf8))
        XCTAssertEqual(r.status, 0, "cannot parse ostree's output: \(out) \(r.stderr)", file: file, line: line)
        let sigs = r.stdout.split(separator: "\n").map(String.init)
        for s in sigs { XCTAssertEqual(s.count, 128, "a signature is 64 bytes: \(out)", file: file, line: line) }
        return sigs
    }

    /// Verifies an ed25519 signature with Python's `cryptography`, else `openssl pkeyutl`.
    private func independentVerify(publicKey: String, signatureHex: String, messageFile: String) throws -> Bool {
        let script = """
        import base64, os, subprocess, sys, tempfile
        pub = base64.b64decode(sys.argv[1]); sig = bytes.fromhex(sys.argv[2]); msg = open(sys.argv[3], 'rb').read()
        try:
            from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
            from cryptography.exceptions import InvalidSignature
            try:
                Ed25519PublicKey.from_public_bytes(pub).verify(sig, msg); print('cryptography: ok'); sys.exit(0)
            except InvalidSignature:
                print('cryptography: bad'); sys.exit(1)
        except ImportError:
            pass
        d = tempfile.mkdtemp()
        der = bytes.fromhex('302a300506032b6570032100') + pub
        pem = '-----BEGIN PUBLIC KEY-----\\n' + base64.b64encode(der).decode() + '\\n-----END PUBLIC KEY-----\\n'
        open(os.path.join(d, 'pub.pem'), 'w').write(pem); open(os.path.join(d, 'sig'), 'wb').write(sig)
        r = subprocess.run(['openssl', 'pkeyutl', '-verify', '-rawin', '-pubin', '-inkey', os.path.join(d, 'pub.pem'),
                            '-sigfile', os.path.join(d, 'sig'), '-in', sys.argv[3]])
        print('openssl:', r.returncode); sys.exit(0 if r.returncode == 0 else 1)
        """
        let r = try InteropTests.run("python3", ["-c", script, publicKey, signatureHex, messageFile])
        return r.status == 0
    }

    /// An ed25519 key pair from `openssl genpkey`, in OSTree's text form.
    private func opensslKey(_ dir: String, _ name: String) throws -> (secret: String, public: String) {
        let pem = "\(dir)/\(name).pem"
        XCTAssertEqual(try InteropTests.run("openssl", ["genpkey", "-algorithm", "ed25519", "-out", pem]).status, 0)
        let seed = try InteropTests.run("/bin/sh", ["-c", "openssl pkey -in \(q(pem)) -outform DER | tail -c 32"]).stdoutData
        let pub = try InteropTests.run("/bin/sh", ["-c", "openssl pkey -in \(q(pem)) -pubout -outform DER | tail -c 32"]).stdoutData
        XCTAssertEqual(seed.count, 32)
        XCTAssertEqual(pub.count, 32)
        return ((seed + pub).base64EncodedString(), pub.base64EncodedString())
    }

    private func assertCleanFailure(_ r: RunResult, _ what: String, mentions: String? = nil,
                                    file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertEqual(r.status, 1, "\(what): expected exit 1, got \(r.status): \(r.stdout)\(r.stderr)", file: file, line: line)
        XCTAssertTrue(r.stderr.contains("arbor: error:"), "\(what): no 'arbor: error:' line: \(r.stderr)", file: file, line: line)
        XCTAssertFalse(r.stderr.contains("Fatal error") || r.stderr.contains("Stack dump"), "\(what): crashed: \(r.stderr)", file: file, line: line)
        if let m = mentions {
            XCTAssertTrue(r.stderr.lowercased().contains(m.lowercased()), "\(what): error should mention \(m): \(r.stderr)", file: file, line: line)
        }
    }

    func testCommitSignaturesVectorAndIndependentVerifier() throws {
        _ = try ostreePath()
        let scratch = try scratchDirectory(self, "arbor-integ-sign")
        let sample = "\(scratch)/sample"
        try runScript("make-sample-tree.sh", [sample])
        XCTAssertEqual(try fixtureValue("secret key, ostree"), Self.vectorSecret)
        XCTAssertEqual(try fixtureValue("public key, ostree"), Self.vectorPublic)
        let vectorSig = try fixtureValue("signature (64 bytes)")
        let expectedMeta = try fixtureCommitmeta()
        XCTAssertEqual(expectedMeta.count, 0x5f)

        for mode in ["archive", "bare"] {
            let repo = "\(scratch)/repo-\(mode)"
            try arborMust(["init", "--repo=\(repo)", "--mode=\(mode)"])
            let c = trimmed(try arborMust(["commit", "--repo=\(repo)", "-b", "sample/main"] + Self.sampleOptions + [sample]))
            XCTAssertEqual(c, Self.vectorCommit, "\(mode): sample commit checksum")
            let commitFile = objPath(repo, c, "commit"), metaFile = objPath(repo, c, "commitmeta")

            // Missing signature: a clear error.
            assertCleanFailure(try arbor(["sign", "--repo=\(repo)", "--verify", "sample/main", Self.vectorPublic]), "\(mode): unsigned commit",
                               mentions: "signature")

            // The vector: byte-exact .commitmeta.
            try arborMust(["sign", "--repo=\(repo)", "sample/main", Self.vectorSecret])
            XCTAssertEqual(try readBytes(metaFile), expectedMeta, "\(mode): .commitmeta bytes differ from the fixture")
            let ok = try arbor(["sign", "--repo=\(repo)", "--verify", "sample/main", Self.vectorPublic])
            XCTAssertEqual(ok.status, 0, "\(mode): verify with the vector key: \(ok.stderr)")
            // Signing again with the same key does not duplicate the signature.
            _ = try arbor(["sign", "--repo=\(repo)", "sample/main", Self.vectorSecret])
            XCTAssertEqual(try readBytes(metaFile), expectedMeta, "\(mode): re-signing changed .commitmeta")

            // ostree reads the container (6) and an independent verifier accepts the signature.
            let sigs = try ostreeSignatures(repo, "sample/main")
            XCTAssertEqual(sigs, [vectorSig], "\(mode): ostree show --print-detached-metadata-key")
            XCTAssertTrue(try independentVerify(publicKey: Self.vectorPublic, signatureHex: vectorSig, messageFile: commitFile),
                          "\(mode): independent verifier rejects the vector signature")
            XCTAssertEqual(try ostree(["fsck", "--repo=\(repo)"]).status, 0, "\(mode): ostree fsck with detached metadata")

            // Wrong key.
            let keys = try opensslKey(scratch, "wrong-\(mode)")
            assertCleanFailure(try arbor(["sign", "--repo=\(repo)", "--verify", "sample/main", keys.public]), "\(mode): wrong key")
            // A malformed key.
            assertCleanFailure(try arbor(["sign", "--repo=\(repo)", "--verify", "sample/main", "not-a-key"]), "\(mode): malformed key")

            // A signature copied onto another commit does not verify there.
            let other = trimmed(try arborMust(["commit", "--repo=\(repo)", "-b", "other", "--timestamp=2024-02-01T00:00:00Z", "-s", "Other", sample]))
            try FileManager.default.copyItem(atPath: metaFile, toPath: objPath(repo, other, "commitmeta"))
            assertCleanFailure(try arbor(["sign", "--repo=\(repo)", "--verify", "other", Self.vectorPublic]), "\(mode): copied signature")
            XCTAssertFalse(try independentVerify(publicKey: Self.vectorPublic, signatureHex: vectorSig, messageFile: objPath(repo, other, "commit")))

            // A tampered commit (one byte of the .commit flipped).
            let tampered = "\(scratch)/tampered-\(mode)"
            try copyRepo(repo, tampered)
            var rng = SplitMix(state: 5)
            try flipByte(objPath(tampered, c, "commit"), &rng)
            assertCleanFailure(try arbor(["sign", "--repo=\(tampered)", "--verify", c, Self.vectorPublic]), "\(mode): tampered commit")
        }
    }

    func testSignaturesWithOpensslKeysAndKeysFile() throws {
        _ = try ostreePath()
        let scratch = try scratchDirectory(self, "arbor-integ-sign2")
        let sample = "\(scratch)/sample"
        try runScript("make-sample-tree.sh", [sample])
        let repo = "\(scratch)/repo"
        try arborMust(["init", "--repo=\(repo)", "--mode=archive"])
        let c = trimmed(try arborMust(["commit", "--repo=\(repo)", "-b", "main", "--timestamp=2024-03-01T00:00:00Z", "-s", "Keys", sample]))
        let k1 = try opensslKey(scratch, "k1"), k2 = try opensslKey(scratch, "k2"), k3 = try opensslKey(scratch, "k3")

        // One key on the command line.
        let single = trimmed(try arborMust(["commit", "--repo=\(repo)", "-b", "single", "--timestamp=2024-03-02T00:00:00Z", "-s", "One", sample]))
        try arborMust(["sign", "--repo=\(repo)", single, k3.secret])
        XCTAssertEqual(try arbor(["sign", "--repo=\(repo)", "--verify", single, k3.public]).status, 0)
        let s3 = try ostreeSignatures(repo, single)
        XCTAssertEqual(s3.count, 1)
        XCTAssertTrue(try independentVerify(publicKey: k3.public, signatureHex: s3[0], messageFile: objPath(repo, single, "commit")),
                      "independent verifier rejects the signature by an openssl-generated key")

        // Several secret keys in a --keys-file, one a line.
        try "\(k1.secret)\n\(k2.secret)\n".write(toFile: "\(scratch)/secret.keys", atomically: true, encoding: .utf8)
        try arborMust(["sign", "--repo=\(repo)", "--keys-file=\(scratch)/secret.keys", c])
        let sigs = try ostreeSignatures(repo, c)
        XCTAssertEqual(sigs.count, 2, "two keys give two signatures")
        for (key, sig) in zip([k1.public, k2.public], sigs) {
            XCTAssertTrue(try independentVerify(publicKey: key, signatureHex: sig, messageFile: objPath(repo, c, "commit")),
                          "independent verifier: signature \(sig.prefix(16))… by \(key)")
        }
        for key in [k1.public, k2.public] {
            let r = try arbor(["sign", "--repo=\(repo)", "--verify", c, key])
            XCTAssertEqual(r.status, 0, "verify with \(key): \(r.stderr)")
        }
        // Public keys from a file: any one trusted key that verifies is enough.
        try "\(k3.public)\n\(k2.public)\n".write(toFile: "\(scratch)/public.keys", atomically: true, encoding: .utf8)
        XCTAssertEqual(try arbor(["sign", "--repo=\(repo)", "--verify", "--keys-file=\(scratch)/public.keys", c]).status, 0)
        try "\(k3.public)\n\(Self.vectorPublic)\n".write(toFile: "\(scratch)/untrusted.keys", atomically: true, encoding: .utf8)
        assertCleanFailure(try arbor(["sign", "--repo=\(repo)", "--verify", "--keys-file=\(scratch)/untrusted.keys", c]), "keys-file without a signer")
        assertCleanFailure(try arbor(["sign", "--repo=\(repo)", "--verify", c, k3.public]), "key that did not sign")
    }

    func testCommitSignsAsItCommits() throws {
        // Issue 4, item 5: "`--sign` on `commit` signs as it commits."
        let scratch = try scratchDirectory(self, "arbor-integ-commitsign")
        let sample = "\(scratch)/sample"
        try runScript("make-sample-tree.sh", [sample])
        let repo = "\(scratch)/repo"
        try arborMust(["init", "--repo=\(repo)", "--mode=archive"])
        let r = try arbor(["commit", "--repo=\(repo)", "-b", "sample/main", "--sign=\(Self.vectorSecret)"] + Self.sampleOptions + [sample])
        XCTAssertEqual(r.status, 0, "arbor commit --sign: \(r.stderr)")
        guard r.status == 0 else { return }
        XCTAssertEqual(trimmed(r.stdout), Self.vectorCommit)
        XCTAssertEqual(try readBytes(objPath(repo, Self.vectorCommit, "commitmeta")), try fixtureCommitmeta(),
                       "commit --sign writes the same .commitmeta as sign")
        XCTAssertEqual(try arbor(["sign", "--repo=\(repo)", "--verify", "sample/main", Self.vectorPublic]).status, 0)
    }

    func testSummarySignatures() throws {
        _ = try ostreePath()
        let scratch = try scratchDirectory(self, "arbor-integ-sumsig")
        try prepareDemoTrees(scratch)
        let (repo, _, _) = try demoRepo(scratch, mode: "archive")
        let other = try opensslKey(scratch, "other")

        try arborMust(["summary", "--repo=\(repo)", "-u", "--sign=\(Self.vectorSecret)"])
        XCTAssertTrue(FileManager.default.fileExists(atPath: "\(repo)/summary.sig"))
        let ok = try arbor(["summary", "--repo=\(repo)", "--verify", Self.vectorPublic])
        XCTAssertEqual(ok.status, 0, "summary --verify: \(ok.stderr)")
        assertCleanFailure(try arbor(["summary", "--repo=\(repo)", "--verify", other.public]), "summary, wrong key")
        // ostree still reads the signed summary, and an independent verifier checks summary.sig.
        XCTAssertEqual(try ostree(["summary", "--repo=\(repo)", "--view"]).status, 0)
        let sig = try readBytes("\(repo)/summary.sig")
        let prefix = Array("ostree.sign.ed25519".utf8) + [0]
        XCTAssertEqual(Array(sig.prefix(prefix.count)), prefix, "summary.sig is an a{sv} with ostree.sign.ed25519")
        if sig.count >= 88 {
            let hex = sig[24..<88].map { String(format: "%02x", $0) }.joined()
            XCTAssertTrue(try independentVerify(publicKey: Self.vectorPublic, signatureHex: hex, messageFile: "\(repo)/summary"),
                          "independent verifier rejects the summary signature")
        }

        // Tampering with the summary breaks verification.
        let saved = try readBytes("\(repo)/summary")
        var rng = SplitMix(state: 9)
        try flipByte("\(repo)/summary", &rng)
        assertCleanFailure(try arbor(["summary", "--repo=\(repo)", "--verify", Self.vectorPublic]), "tampered summary")
        try writeBytes("\(repo)/summary", saved)
        XCTAssertEqual(try arbor(["summary", "--repo=\(repo)", "--verify", Self.vectorPublic]).status, 0)

        // Regenerating without --sign removes the now stale signature.
        try arborMust(["summary", "--repo=\(repo)", "-u"])
        XCTAssertFalse(FileManager.default.fileExists(atPath: "\(repo)/summary.sig"), "summary.sig left behind by an unsigned summary -u")
        assertCleanFailure(try arbor(["summary", "--repo=\(repo)", "--verify", Self.vectorPublic]), "unsigned summary", mentions: "signature")
    }
}
