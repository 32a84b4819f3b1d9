// PullTests.swift - `arbor pull` over HTTP from a real nginx (started per test on 127.0.0.1 and a
// free port, with its own config and access log), `arbor pull-local`, and remotes; checked against
// the real `ostree` (2022.7) both ways. Request counts come from nginx's access log.
import Foundation
import XCTest
#if canImport(Glibc)
import Glibc
#endif

final class PullTests: XCTestCase {

    // MARK: - Keys (Tests/Fixtures/ed25519-signature.txt)

    private static let vectorSecret = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8DoQe/884Qvh1w3RjnS8CZZ+TWMJulDV8d3IZkElUxuA=="
    private static let vectorPublic = "A6EHv/POEL4dcN0Y50vAmWfk1jCbpQ1fHdyGZBJVMbg="

    // MARK: - A private nginx

    /// One request from nginx's access log.
    private struct LoggedRequest { var method: String; var path: String; var status: Int; var connection: Int }

    /// An nginx serving `root` (a symlink the test re-points with `serve`), stopped by pid.
    private final class Nginx {
        let dir: String
        let root: String
        let accessLog: String
        private(set) var port = 0
        private var process: Process?

        init(dir: String, root: String, extraServer: String = "") throws {
            self.dir = dir
            self.root = root
            accessLog = "\(dir)/access.log"
            try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
            var lastError = ""
            for _ in 0..<6 {
                let p = try InteropTests.run("python3", ["-c", "import socket; s=socket.socket(); s.bind(('127.0.0.1', 0)); print(s.getsockname()[1]); s.close()"])
                guard p.status == 0, let port = Int(p.stdout.trimmingCharacters(in: .whitespacesAndNewlines)) else { continue }
                let conf = """
                daemon off;
                user root;
                worker_processes 1;
                pid \(dir)/nginx.pid;
                error_log \(dir)/error.log;
                events { worker_connections 1024; }
                http {
                    log_format arbortest '$remote_addr - - [$time_local] "$request" $status $body_bytes_sent $connection';
                    access_log \(accessLog) arbortest;
                    keepalive_requests 1000000;
                    client_body_temp_path \(dir)/body;
                    proxy_temp_path \(dir)/proxy;
                    fastcgi_temp_path \(dir)/fastcgi;
                    uwsgi_temp_path \(dir)/uwsgi;
                    scgi_temp_path \(dir)/scgi;
                    server {
                        listen 127.0.0.1:\(port);
                        root \(root);
                        \(extraServer)
                    }
                }
                """
                try conf.write(toFile: "\(dir)/nginx.conf", atomically: true, encoding: .utf8)
                let proc = Process()
                proc.executableURL = URL(fileURLWithPath: "/usr/sbin/nginx")
                proc.arguments = ["-c", "\(dir)/nginx.conf", "-p", dir, "-e", "\(dir)/error.log"]
                proc.standardOutput = FileHandle.nullDevice
                proc.standardError = FileHandle.nullDevice
                proc.standardInput = FileHandle.nullDevice
                try proc.run()
                // Wait until it accepts connections (or dies because the port was taken meanwhile).
                let wait = try InteropTests.run("python3", ["-c", """
                import socket, sys, time
                for _ in range(100):
                    try:
                        socket.create_connection(('127.0.0.1', int(sys.argv[1])), timeout=0.2).close(); sys.exit(0)
                    except OSError: time.sleep(0.05)
                sys.exit(1)
                """, String(port)])
                if wait.status == 0 && proc.isRunning {
                    self.port = port
                    process = proc
                    return
                }
                if proc.isRunning { proc.terminate() }
                proc.waitUntilExit()
                lastError = (try? String(contentsOfFile: "\(dir)/error.log", encoding: .utf8)) ?? ""
            }
            throw NSError(domain: "nginx", code: 1, userInfo: [NSLocalizedDescriptionKey: "nginx did not start: \(lastError)"])
        }

        var url: String { "http://127.0.0.1:\(port)/" }

        func stop() {
            guard let p = process else { return }
            process = nil
            if p.isRunning { p.terminate() }
            p.waitUntilExit()
        }

        /// The access log's current size: requests after it are those of the next command.
        func mark() -> UInt64 {
            ((try? FileManager.default.attributesOfItem(atPath: accessLog))?[.size] as? NSNumber)?.uint64Value ?? 0
        }

        /// Requests logged since `mark` (nginx logs when a request finishes; give it a moment).
        func requests(since mark: UInt64) -> [LoggedRequest] {
            // Until the log stops growing for 100 ms.
            var last = self.mark()
            var stable = 0
            while stable < 2 {
                usleep(50_000)
                let now = self.mark()
                stable = now == last ? stable + 1 : 0
                last = now
            }
            guard let h = FileHandle(forReadingAtPath: accessLog) else { return [] }
            defer { try? h.close() }
            try? h.seek(toOffset: mark)
            let text = String(decoding: h.readDataToEndOfFile(), as: UTF8.self)
            var out: [LoggedRequest] = []
            for line in text.split(separator: "\n") {
                let parts = line.split(separator: "\"", omittingEmptySubsequences: false)
                guard parts.count >= 3 else { continue }
                let req = parts[1].split(separator: " ")
                let tail = parts[2].split(separator: " ")
                let status = Int(tail.first ?? "") ?? 0
                let connection = Int(tail.last ?? "") ?? -1
                guard req.count >= 2 else { continue }
                out.append(LoggedRequest(method: String(req[0]), path: String(req[1]), status: status, connection: connection))
            }
            return out
        }
    }

    /// Starts an nginx serving `scratch/srv` (see `serve`), stopped when the test ends.
    private func startNginx(_ scratch: String, extraServer: String = "", name: String = "nginx") throws -> Nginx {
        let n = try Nginx(dir: "\(scratch)/\(name)", root: "\(scratch)/srv", extraServer: extraServer)
        addTeardownBlock { n.stop() }
        return n
    }

    /// Points the server root (`scratch/srv`) at `repo`.
    private func serve(_ scratch: String, _ repo: String) throws {
        try sh("ln -sfn \(q(repo)) \(q(scratch + "/srv"))")
    }

    // MARK: - Small helpers

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
    private func q(_ s: String) -> String { "'" + s.replacingOccurrences(of: "'", with: "'\\''") + "'" }

    private func sh(_ script: String, file: StaticString = #filePath, line: UInt = #line) throws {
        let r = try InteropTests.run("/bin/sh", ["-c", script])
        XCTAssertEqual(r.status, 0, "sh failed: \(script)\n\(r.stderr)", file: file, line: line)
    }

    private func json(_ s: String, file: StaticString = #filePath, line: UInt = #line) -> [String: Any] {
        guard let d = s.data(using: .utf8), let o = try? JSONSerialization.jsonObject(with: d) as? [String: Any] else {
            XCTFail("not a JSON object: \(s)", file: file, line: line)
            return [:]
        }
        return o
    }

    private func int(_ v: Any?) -> Int { (v as? NSNumber)?.intValue ?? -1 }

    /// A fresh repository of `mode` with remote `origin` at `url` (extra `remote add` options first).
    private func clientRepo(_ path: String, mode: String, url: String, remoteOptions: [String] = [],
                            file: StaticString = #filePath, line: UInt = #line) throws -> String {
        try arborMust(["init", "--repo=\(path)", "--mode=\(mode)"], file: file, line: line)
        try arborMust(["remote", "add", "--repo=\(path)"] + remoteOptions + ["origin", url], file: file, line: line)
        return path
    }

    private func pull(_ repo: String, _ args: [String]) throws -> RunResult { try arbor(["pull", "--repo=\(repo)"] + args) }

    @discardableResult
    private func pullOK(_ repo: String, _ args: [String], file: StaticString = #filePath, line: UInt = #line) throws -> [String: Any] {
        let r = try pull(repo, args + ["--json"])
        XCTAssertEqual(r.status, 0, "arbor pull \(args.joined(separator: " ")) into \(repo) failed: \(r.stdout)\(r.stderr)", file: file, line: line)
        return r.status == 0 ? json(r.stdout, file: file, line: line) : [:]
    }

    /// A failure that is an error message, not a crash: exit 1 and one `arbor: error:` line.
    private func assertCleanFailure(_ r: RunResult, _ what: String, mentions: [String] = [],
                                    file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertEqual(r.status, 1, "\(what): expected exit 1, got \(r.status): \(r.stdout)\(r.stderr)", file: file, line: line)
        let err = trimmed(r.stderr)
        XCTAssertTrue(err.hasPrefix("arbor: error:"), "\(what): stderr should be an 'arbor: error:' line: \(r.stderr)", file: file, line: line)
        XCTAssertFalse(err.contains("\n"), "\(what): the error should be one line: \(r.stderr)", file: file, line: line)
        XCTAssertFalse(err.contains("Fatal error") || err.contains("Stack dump"), "\(what): crashed: \(r.stderr)", file: file, line: line)
        for m in mentions {
            XCTAssertTrue(err.lowercased().contains(m.lowercased()), "\(what): error should mention '\(m)': \(r.stderr)", file: file, line: line)
        }
    }

    private func refFile(_ repo: String, remoteRef ref: String) -> String { "\(repo)/refs/remotes/origin/\(ref)" }

    private func refValue(_ repo: String, remoteRef ref: String) -> String? {
        (try? String(contentsOfFile: refFile(repo, remoteRef: ref), encoding: .utf8)).map(trimmed)
    }

    private func partialMarkers(_ repo: String) -> [String] {
        ((try? FileManager.default.contentsOfDirectory(atPath: "\(repo)/state")) ?? []).filter { $0.hasSuffix(".commitpartial") }.sorted()
    }

    /// Object names in a repository, normalised to "CHECKSUM.TYPE" (`.filez` read as `.file`).
    private func objectNames(_ repo: String) throws -> Set<String> {
        let r = try InteropTests.run("find", ["\(repo)/objects", "-mindepth", "2", "!", "-type", "d"])
        var out = Set<String>()
        for line in r.stdout.split(separator: "\n") {
            let parts = line.split(separator: "/")
            guard parts.count >= 2 else { continue }
            out.insert(normalise(String(parts[parts.count - 2]) + String(parts[parts.count - 1])))
        }
        return out
    }

    private func normalise(_ name: String) -> String { name.hasSuffix(".filez") ? String(name.dropLast()) : name }

    /// Objects named by successful GETs under /objects/, normalised; and every such path, in order.
    private func fetchedObjects(_ reqs: [LoggedRequest]) -> (set: Set<String>, all: [String]) {
        var all: [String] = []
        for r in reqs where r.method == "GET" && r.status == 200 && r.path.hasPrefix("/objects/") {
            let parts = r.path.split(separator: "/")
            guard parts.count == 3 else { continue }
            all.append(normalise(String(parts[1]) + String(parts[2])))
        }
        return (Set(all), all)
    }

    private func duplicates(_ xs: [String]) -> [String] {
        var seen = Set<String>(), dup = Set<String>()
        for x in xs where !seen.insert(x).inserted { dup.insert(x) }
        return dup.sorted()
    }

    /// Objects a commit reaches (commit, dirtrees, dirmetas, content), from `arbor ls -R -C`.
    private func reach(_ repo: String, _ commit: String) throws -> Set<String> {
        let out = try arborMust(["ls", "--repo=\(repo)", "-R", "-C", commit])
        var s: Set<String> = ["\(commit).commit"]
        for line in out.split(separator: "\n") {
            let t = line.split(separator: " ", omittingEmptySubsequences: true)
            guard t.count >= 6 else { continue }
            if t[0].hasPrefix("d") {
                s.insert("\(t[4]).dirtree")
                s.insert("\(t[5]).dirmeta")
            } else {
                s.insert("\(t[4]).file")
            }
        }
        return s
    }

    private func fsckBoth(_ repo: String, _ what: String, file: StaticString = #filePath, line: UInt = #line) throws {
        let o = try ostree(["fsck", "--repo=\(repo)"])
        XCTAssertEqual(o.status, 0, "\(what): ostree fsck failed: \(o.stdout)\(o.stderr)", file: file, line: line)
        let a = try arbor(["fsck", "--repo=\(repo)"])
        XCTAssertEqual(a.status, 0, "\(what): arbor fsck failed: \(a.stdout)\(a.stderr)", file: file, line: line)
    }

    private func assertManifestsEqual(_ a: [String], _ b: [String], _ what: String, file: StaticString = #filePath, line: UInt = #line) {
        if a == b { return }
        let sa = Set(a), sb = Set(b)
        let only1 = a.filter { !sb.contains($0) }.prefix(5), only2 = b.filter { !sa.contains($0) }.prefix(5)
        XCTFail("\(what): trees differ (\(a.count) vs \(b.count) entries)\n  only in checkout: \(Array(only1))\n  only in expected: \(Array(only2))", file: file, line: line)
    }

    /// Checks out `rev` of `repo` into a fresh directory and compares it with `expected`.
    private func assertCheckoutEquals(_ repo: String, _ rev: String, _ expected: [String], scratch: String, _ what: String,
                                      file: StaticString = #filePath, line: UInt = #line) throws {
        let dest = "\(scratch)/co-\(UUID().uuidString.prefix(8))"
        let r = try arbor(["checkout", "--repo=\(repo)", rev, dest])
        XCTAssertEqual(r.status, 0, "\(what): checkout failed: \(r.stderr)", file: file, line: line)
        guard r.status == 0 else { return }
        assertManifestsEqual(try treeManifest(dest), expected, what, file: file, line: line)
        try sh("rm -rf \(q(dest))")
    }

    private func flipByte(_ path: String, at offset: Int? = nil, mask: UInt8 = 0xFF) throws {
        var b = [UInt8](try Data(contentsOf: URL(fileURLWithPath: path)))
        let i = offset ?? b.count / 2
        b[i] ^= mask
        try Data(b).write(to: URL(fileURLWithPath: path))
    }

    private func objectPath(_ repo: String, _ checksum: String, _ ext: String) -> String {
        "\(repo)/objects/\(checksum.prefix(2))/\(checksum.dropFirst(2)).\(ext)"
    }

    /// The largest `.filez` objects of a repository, biggest first.
    private func bigFilez(_ repo: String, count: Int) throws -> [String] {
        let r = try InteropTests.run("/bin/sh", ["-c", "find \(q(repo))/objects -name '*.filez' -printf '%s %p\\n' | sort -rn | head -\(count) | cut -d' ' -f2-"])
        return r.stdout.split(separator: "\n").map(String.init)
    }

    private func checksumOf(_ objectFile: String) -> String {
        let url = URL(fileURLWithPath: objectFile)
        return url.deletingLastPathComponent().lastPathComponent + url.deletingPathExtension().lastPathComponent
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

    // MARK: - Shared fixtures (built once per run, read-only: tests copy before changing them)

    private struct Fixtures {
        var dir: String
        var demo10: String, demo11: String, odd: String
        var demo10Manifest: [String], demo11Manifest: [String], oddManifest: [String]
        /// Archive repos: demo at v1 only; demo at v2 (parent v1). Both with a summary.
        var demoV1Repo: String, demoV2Repo: String, v1: String, v2: String
        /// Archive repo with `odd` (the odd tree as is) and `oddc` (--canonical-permissions); summary.
        var oddRepo: String, oddCommit: String, oddcCommit: String
    }

    private static var fixtures: Fixtures?
    private static var fixtureError: String?

    override class func tearDown() {
        if let f = fixtures {
            _ = try? InteropTests.run("rm", ["-rf", f.dir])
            fixtures = nil
        }
        super.tearDown()
    }

    private func shared() throws -> Fixtures {
        if let f = Self.fixtures { return f }
        if let e = Self.fixtureError { throw XCTSkip("fixtures failed earlier: \(e)") }
        let base = ProcessInfo.processInfo.environment["ARBOR_TEST_TMP"] ?? "/var/tmp"
        let dir = "\(base)/arbor-pulltests-shared-\(UUID().uuidString.prefix(8))"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        func must(_ args: [String]) throws -> String {
            let r = try arbor(args)
            guard r.status == 0 else {
                Self.fixtureError = "arbor \(args.joined(separator: " ")): \(r.stderr)"
                throw NSError(domain: "fixture", code: 1, userInfo: [NSLocalizedDescriptionKey: Self.fixtureError!])
            }
            return trimmed(r.stdout)
        }
        for name in ["demo-1.0", "demo-1.1"] {
            let src = packageRoot.appendingPathComponent("trees/\(name)").path
            try sh("""
            set -e
            cp -a \(q(src)) \(q(dir + "/" + name))
            find \(q(dir + "/" + name)) -type d -exec chmod 0755 {} +
            find \(q(dir + "/" + name)) -type f -exec chmod 0644 {} +
            find \(q(dir + "/" + name))/usr/bin -type f -exec chmod 0755 {} +
            chown -R 0:0 \(q(dir + "/" + name))
            """)
        }
        try runScript("make-odd-tree.sh", ["\(dir)/odd", "3000"])
        let v2Repo = "\(dir)/demo-v2", v1Repo = "\(dir)/demo-v1", oddRepo = "\(dir)/odd-archive"
        _ = try must(["init", "--repo=\(v2Repo)", "--mode=archive"])
        let owner = ["--owner-uid=0", "--owner-gid=0"]
        let v1 = try must(["commit", "--repo=\(v2Repo)", "-b", "demo", "--timestamp=2024-01-01T00:00:00Z", "-s", "one"] + owner + ["\(dir)/demo-1.0"])
        _ = try must(["summary", "--repo=\(v2Repo)", "-u"])
        try sh("cp -a \(q(v2Repo)) \(q(v1Repo))")
        let v2 = try must(["commit", "--repo=\(v2Repo)", "-b", "demo", "--timestamp=2024-01-02T00:00:00Z", "-s", "two",
                           "--add-metadata-string=version=1.1"] + owner + ["\(dir)/demo-1.1"])
        _ = try must(["summary", "--repo=\(v2Repo)", "-u"])
        _ = try must(["init", "--repo=\(oddRepo)", "--mode=archive"])
        let odd = try must(["commit", "--repo=\(oddRepo)", "-b", "odd", "--timestamp=2024-01-01T00:00:00Z", "-s", "odd", "\(dir)/odd"])
        let oddc = try must(["commit", "--repo=\(oddRepo)", "-b", "oddc", "--canonical-permissions", "--timestamp=2024-01-01T00:00:00Z",
                             "-s", "odd canonical", "\(dir)/odd"])
        _ = try must(["summary", "--repo=\(oddRepo)", "-u"])
        let f = Fixtures(dir: dir, demo10: "\(dir)/demo-1.0", demo11: "\(dir)/demo-1.1", odd: "\(dir)/odd",
                         demo10Manifest: try treeManifest("\(dir)/demo-1.0"), demo11Manifest: try treeManifest("\(dir)/demo-1.1"),
                         oddManifest: try treeManifest("\(dir)/odd"),
                         demoV1Repo: v1Repo, demoV2Repo: v2Repo, v1: v1, v2: v2,
                         oddRepo: oddRepo, oddCommit: odd, oddcCommit: oddc)
        Self.fixtures = f
        return f
    }

    // MARK: - 1. Pull into every mode

    func testPullIntoEveryModeMatchesSource() throws {
        _ = try ostreePath()
        let f = try shared()
        let scratch = try scratchDirectory(self, "arbor-pull-modes")
        let nginx = try startNginx(scratch)
        // The manifest of the canonical commit as the server's own repository checks it out.
        let oddcExpected: [String] = try {
            let d = "\(scratch)/oddc-reference"
            try arborMust(["checkout", "--repo=\(f.oddRepo)", "oddc", d])
            return try treeManifest(d)
        }()

        for mode in ["bare", "bare-user", "bare-user-only", "archive"] {
            let repo = try clientRepo("\(scratch)/client-\(mode)", mode: mode, url: nginx.url)
            // demo v1, then v2 as an update.
            try serve(scratch, f.demoV1Repo)
            var report = try pullOK(repo, ["origin", "demo"])
            XCTAssertEqual(refValue(repo, remoteRef: "demo"), f.v1, "\(mode): origin:demo after the first pull")
            XCTAssertEqual(((report["refs"] as? [[String: Any]])?.first?["ref"] as? String), "origin:demo", "\(mode): report names origin:demo")
            XCTAssertEqual(trimmed(try arborMust(["rev-parse", "--repo=\(repo)", "origin:demo"])), f.v1)
            try assertCheckoutEquals(repo, "origin:demo", f.demo10Manifest, scratch: scratch, "\(mode): demo-1.0")
            try serve(scratch, f.demoV2Repo)
            report = try pullOK(repo, ["origin", "demo"])
            XCTAssertEqual(refValue(repo, remoteRef: "demo"), f.v2, "\(mode): origin:demo after the update")
            XCTAssertFalse(FileManager.default.fileExists(atPath: "\(repo)/refs/heads/demo"), "\(mode): no local head without --mirror")
            try assertCheckoutEquals(repo, "origin:demo", f.demo11Manifest, scratch: scratch, "\(mode): demo-1.1")
            XCTAssertEqual(trimmed(try ostreeMust(["rev-parse", "--repo=\(repo)", "origin:demo"])), f.v2, "\(mode): ostree reads the remote ref")
            XCTAssertEqual(partialMarkers(repo), [], "\(mode): no partial commit after complete pulls")
            try fsckBoth(repo, "\(mode) after demo")

            try serve(scratch, f.oddRepo)
            if mode == "bare-user-only" {
                // Canonical commits fit bare-user-only.
                try pullOK(repo, ["origin", "oddc"])
                XCTAssertEqual(refValue(repo, remoteRef: "oddc"), f.oddcCommit)
                try fsckBoth(repo, "bare-user-only after the canonical odd tree")
                try assertCheckoutEquals(repo, "origin:oddc", oddcExpected, scratch: scratch, "bare-user-only: canonical odd tree")
                // A commit with setuid files, foreign owners and xattrs cannot be stored faithfully in
                // bare-user-only (`ostree pull` refuses it: "invalid mode ... with bits 02000"); storing it
                // anyway leaves objects whose checksums no longer verify.
                let r = try pull(repo, ["origin", "odd"])
                assertCleanFailure(r, "bare-user-only: pulling a non-canonical commit")
                XCTAssertNil(refValue(repo, remoteRef: "odd"), "bare-user-only: no ref for a commit it cannot hold")
                try fsckBoth(repo, "bare-user-only after refusing the non-canonical commit")
            } else {
                let r = try pullOK(repo, ["origin", "odd"])
                XCTAssertGreaterThan(int(r["objects"]), 2000, "\(mode): odd tree object count")
                XCTAssertEqual(refValue(repo, remoteRef: "odd"), f.oddCommit, "\(mode): odd commit checksum")
                try fsckBoth(repo, "\(mode) after the odd tree")
                try assertCheckoutEquals(repo, "origin:odd", f.oddManifest, scratch: scratch, "\(mode): odd tree")
            }
        }
    }

    // MARK: - 2. Interop with ostree, both ways; remotes

    func testOstreePullsArborRepoAndArborPullsOstreeRepo() throws {
        let f = try shared()
        let scratch = try scratchDirectory(self, "arbor-pull-interop")
        let nginx = try startNginx(scratch)

        // ostree pulls what Arbor wrote.
        try serve(scratch, f.oddRepo)
        let o = "\(scratch)/ostree-client"
        try ostreeMust(["init", "--repo=\(o)", "--mode=bare"])
        try ostreeMust(["remote", "add", "--repo=\(o)", "--no-gpg-verify", "origin", nginx.url])
        try ostreeMust(["pull", "--repo=\(o)", "origin", "odd", "oddc"])
        XCTAssertEqual(trimmed(try ostreeMust(["rev-parse", "--repo=\(o)", "origin:odd"])), f.oddCommit)
        try ostreeMust(["fsck", "--repo=\(o)"])
        try ostreeMust(["checkout", "--repo=\(o)", "origin:odd", "\(scratch)/ostree-co"])
        assertManifestsEqual(try treeManifest("\(scratch)/ostree-co"), f.oddManifest, "ostree checkout of Arbor's odd tree")
        try serve(scratch, f.demoV2Repo)
        try ostreeMust(["pull", "--repo=\(o)", "origin", "demo"])
        try ostreeMust(["checkout", "--repo=\(o)", "origin:demo", "\(scratch)/ostree-demo"])
        assertManifestsEqual(try treeManifest("\(scratch)/ostree-demo"), f.demo11Manifest, "ostree checkout of Arbor's demo-1.1")

        // Arbor pulls what ostree wrote, with a summary ...
        let os = "\(scratch)/ostree-server"
        try ostreeMust(["init", "--repo=\(os)", "--mode=archive"])
        let oc = trimmed(try ostreeMust(["commit", "--repo=\(os)", "-b", "odd", "--timestamp=2024-01-01T00:00:00Z", "-s", "odd", f.odd]))
        try ostreeMust(["summary", "--repo=\(os)", "-u"])
        try serve(scratch, os)
        for mode in ["bare"] {
            let a = try clientRepo("\(scratch)/from-ostree-\(mode)", mode: mode, url: nginx.url)
            try pullOK(a, ["origin", "odd"])
            XCTAssertEqual(refValue(a, remoteRef: "odd"), oc, "\(mode): the commit ostree made")
            try fsckBoth(a, "\(mode) pulled from ostree")
            try assertCheckoutEquals(a, "origin:odd", f.oddManifest, scratch: scratch, "\(mode): checkout of ostree's odd tree")
        }
        // ... and without any summary: refs/heads/REF.
        try FileManager.default.removeItem(atPath: "\(os)/summary")
        let a = try clientRepo("\(scratch)/from-ostree-nosummary", mode: "bare-user", url: nginx.url)
        let mark = nginx.mark()
        try pullOK(a, ["origin", "odd"])
        let reqs = nginx.requests(since: mark)
        XCTAssertTrue(reqs.contains { $0.path == "/refs/heads/odd" && $0.status == 200 }, "without a summary the ref comes from refs/heads/odd")
        XCTAssertEqual(refValue(a, remoteRef: "odd"), oc)
        try fsckBoth(a, "bare-user pulled from ostree without summary")
        try assertCheckoutEquals(a, "origin:odd", f.oddManifest, scratch: scratch, "checkout of ostree's odd tree (no summary)")
        assertCleanFailure(try pull(a, ["origin"]), "no summary and no ref named", mentions: ["summary"])

        // Remotes: what `arbor remote add` writes, `ostree remote list` reads; and the other way.
        let r = "\(scratch)/remotes"
        try arborMust(["init", "--repo=\(r)", "--mode=bare"])
        try arborMust(["remote", "add", "--repo=\(r)", "--no-sign-verify", "plain", "http://127.0.0.1:1/repo"])
        try arborMust(["remote", "add", "--repo=\(r)", "--sign-verify=ed25519=inline:\(Self.vectorPublic)", "signed", "https://example.com/os/"])
        try arborMust(["remote", "add", "--repo=\(r)", "--sign-verify=ed25519=file:/etc/arbor-test-keys", "filekeys", "file:///srv/repo"])
        try ostreeMust(["remote", "add", "--repo=\(r)", "--no-gpg-verify", "fromostree", "http://127.0.0.1:2/x"])
        let listed = try ostreeMust(["remote", "list", "-u", "--repo=\(r)"])
        for (n, u) in [("plain", "http://127.0.0.1:1/repo"), ("signed", "https://example.com/os/"), ("filekeys", "file:///srv/repo")] {
            XCTAssertTrue(listed.split(separator: "\n").contains { $0.split(separator: " ", omittingEmptySubsequences: true).map(String.init) == [n, u] },
                          "ostree remote list -u should show \(n) \(u): \(listed)")
            XCTAssertEqual(trimmed(try ostreeMust(["remote", "show-url", "--repo=\(r)", n])), u)
        }
        let arborList = try arborMust(["remote", "list", "--repo=\(r)", "-u"])
        XCTAssertTrue(arborList.contains("fromostree") && arborList.contains("http://127.0.0.1:2/x"), "arbor lists ostree's remote: \(arborList)")
        let j = try arborMust(["remote", "list", "--repo=\(r)", "--json"])
        let arr = (try? JSONSerialization.jsonObject(with: Data(j.utf8))) as? [[String: Any]] ?? []
        let byName = Dictionary(uniqueKeysWithValues: arr.compactMap { e in (e["name"] as? String).map { ($0, e) } })
        XCTAssertEqual(Set(byName.keys), ["plain", "signed", "filekeys", "fromostree"], j)
        XCTAssertEqual(byName["plain"]?["url"] as? String, "http://127.0.0.1:1/repo")
        XCTAssertEqual(byName["plain"]?["signVerify"] as? Bool, false)
        XCTAssertEqual(byName["signed"]?["signVerify"] as? Bool, true)
        XCTAssertEqual(byName["signed"]?["keys"] as? [String], [Self.vectorPublic])
        XCTAssertEqual(byName["filekeys"]?["keyFile"] as? String, "/etc/arbor-test-keys")
        XCTAssertEqual(byName["filekeys"]?["signVerify"] as? Bool, true)
        assertCleanFailure(try arbor(["remote", "add", "--repo=\(r)", "plain", "http://127.0.0.1:3/"]), "adding an existing remote", mentions: ["plain"])
        // Nothing given to remote add can write a line (and so a section) of its own.
        let config = try String(contentsOfFile: "\(r)/config", encoding: .utf8)
        for (name, url, opts) in [("evil", "http://a\n[remote \"other\"]\nurl=http://b", ["--no-sign-verify"]),
                                  ("evil", "http://a\r", ["--no-sign-verify"]), ("evil", " http://a", ["--no-sign-verify"]),
                                  ("evil", "http://a", ["--sign-verify=ed25519=file:/k\n[core]"])] {
            assertCleanFailure(try arbor(["remote", "add", "--repo=\(r)"] + opts + [name, url]), "a control character in remote add", mentions: [])
        }
        XCTAssertEqual(try String(contentsOfFile: "\(r)/config", encoding: .utf8), config, "a refused remote add changed the config")
        try arborMust(["remote", "delete", "--repo=\(r)", "plain"])
        let after = try ostreeMust(["remote", "list", "--repo=\(r)"])
        XCTAssertEqual(Set(after.split(separator: "\n").map { trimmed(String($0)) }), ["signed", "filekeys", "fromostree"], after)
        assertCleanFailure(try arbor(["remote", "delete", "--repo=\(r)", "plain"]), "deleting a missing remote", mentions: ["plain"])
        try ostreeMust(["remote", "delete", "--repo=\(r)", "signed"])
        XCTAssertFalse(try arborMust(["remote", "list", "--repo=\(r)"]).contains("signed"))
    }

    // MARK: - 3. Incremental pulls and --dry-run

    func testIncrementalPullFetchesOnlyNewObjectsAndDryRunIsExact() throws {
        let f = try shared()
        let scratch = try scratchDirectory(self, "arbor-pull-incr")
        let nginx = try startNginx(scratch)
        let repo = try clientRepo("\(scratch)/client", mode: "bare", url: nginx.url)

        try serve(scratch, f.demoV1Repo)
        try pullOK(repo, ["origin", "demo"])
        let before = try objectNames(repo)
        XCTAssertEqual(before, try reach(f.demoV2Repo, f.v1), "the first pull stores exactly what v1 reaches")

        try serve(scratch, f.demoV2Repo)
        let expected = try reach(f.demoV2Repo, f.v2).subtracting(try reach(f.demoV2Repo, f.v1))
        var m = nginx.mark()
        let dry = try pullOK(repo, ["--dry-run", "origin", "demo"])
        XCTAssertEqual(dry["dryRun"] as? Bool, true)
        XCTAssertEqual(try objectNames(repo), before, "--dry-run stores nothing")
        XCTAssertEqual(refValue(repo, remoteRef: "demo"), f.v1, "--dry-run moves no ref")
        _ = nginx.requests(since: m)

        m = nginx.mark()
        let real = try pullOK(repo, ["origin", "demo"])
        let fetched = fetchedObjects(nginx.requests(since: m))
        let after = try objectNames(repo)
        XCTAssertEqual(refValue(repo, remoteRef: "demo"), f.v2)
        XCTAssertEqual(fetched.all.count, expected.count, "GETs of objects for the update = objects v2 adds (\(expected.count))")
        XCTAssertEqual(fetched.set, expected, "exactly the objects v2 adds are fetched")
        XCTAssertEqual(duplicates(fetched.all), [], "no object fetched twice")
        XCTAssertEqual(after.subtracting(before), expected, "exactly the new objects are stored")
        XCTAssertEqual(int(real["objects"]), expected.count, "report: objects")
        XCTAssertEqual(int(dry["objects"]), int(real["objects"]), "--dry-run objects = real objects")
        XCTAssertEqual(int(dry["bytes"]), int(real["bytes"]), "--dry-run bytes = real bytes")
        try fsckBoth(repo, "after the incremental pull")

        // Up to date: nothing to fetch, and a dry run says so.
        m = nginx.mark()
        let again = try pullOK(repo, ["origin", "demo"])
        XCTAssertEqual(fetchedObjects(nginx.requests(since: m)).all, [], "an up-to-date pull fetches no object")
        XCTAssertEqual(int(again["objects"]), 0)
        XCTAssertEqual((again["refs"] as? [[String: Any]])?.first?["changed"] as? Bool, false)
        let dryAgain = try pullOK(repo, ["--dry-run", "origin", "demo"])
        XCTAssertEqual(int(dryAgain["objects"]), 0, "--dry-run when up to date: the real pull fetches 0 objects")
        XCTAssertEqual(int(dryAgain["bytes"]), 0, "--dry-run when up to date: the real pull fetches 0 bytes")

        // Sizes from HEAD requests (no ostree.sizes): a fresh pull of the odd tree into archive.
        try serve(scratch, f.oddRepo)
        let big = try clientRepo("\(scratch)/client-odd", mode: "archive", url: nginx.url)
        m = nginx.mark()
        let dryOdd = try pullOK(big, ["--dry-run", "origin", "odd"])
        let dryReqs = nginx.requests(since: m)
        XCTAssertTrue(dryReqs.contains { $0.method == "HEAD" && $0.path.hasSuffix(".filez") }, "without ostree.sizes a dry run asks HEAD for content sizes")
        XCTAssertFalse(dryReqs.contains { $0.method == "GET" && $0.path.hasSuffix(".filez") }, "a dry run downloads no content object")
        XCTAssertEqual(try objectNames(big), [], "--dry-run stores nothing")
        m = nginx.mark()
        let realOdd = try pullOK(big, ["origin", "odd"])
        let oddReqs = nginx.requests(since: m)
        let conns = Set(oddReqs.map(\.connection)).count
        XCTAssertLessThanOrEqual(conns, 64, "at most --max-concurrency (64) connections")
        XCTAssertLessThan(conns * 10, oddReqs.count, "connections are kept alive (\(conns) connections for \(oddReqs.count) requests)")
        XCTAssertEqual(int(dryOdd["objects"]), int(realOdd["objects"]), "odd tree: --dry-run objects = real")
        XCTAssertEqual(int(dryOdd["bytes"]), int(realOdd["bytes"]), "odd tree: --dry-run bytes = real")
        XCTAssertEqual(try objectNames(big), try reach(f.oddRepo, f.oddCommit), "odd tree: exactly the reachable objects")
    }

    // MARK: - 4. Verification and server faults

    func testCorruptAndMissingObjectsAreRejectedAndResumed() throws {
        let f = try shared()
        let scratch = try scratchDirectory(self, "arbor-pull-verify")
        let nginx = try startNginx(scratch)
        let server = "\(scratch)/server"
        try sh("cp -a \(q(f.oddRepo)) \(q(server))")
        try serve(scratch, server)
        let serverObjects = try objectNames(server)

        /// Pulls `odd`, expecting a clean failure; checks what must hold after it.
        func expectRejected(_ repo: String, _ what: String, mentions: [String]) throws {
            let r = try pull(repo, ["origin", "odd"])
            assertCleanFailure(r, what, mentions: mentions)
            XCTAssertNil(refValue(repo, remoteRef: "odd"), "\(what): no ref on an incomplete commit")
            let stored = try objectNames(repo)
            XCTAssertEqual(stored.subtracting(serverObjects).sorted(), [], "\(what): nothing but the server's genuine objects is stored")
            let o = try ostree(["fsck", "--repo=\(repo)"])
            XCTAssertEqual(o.status, 0, "\(what): ostree fsck after the failure: \(o.stdout)\(o.stderr)")
        }

        /// Reruns the pull after the server is repaired: it completes, fetching only what is missing.
        func expectResumed(_ repo: String, _ what: String) throws {
            let before = try objectNames(repo)
            let m = nginx.mark()
            try pullOK(repo, ["origin", "odd"])
            let fetched = fetchedObjects(nginx.requests(since: m))
            let after = try objectNames(repo)
            XCTAssertEqual(refValue(repo, remoteRef: "odd"), f.oddCommit, "\(what): ref after the rerun")
            XCTAssertEqual(duplicates(fetched.all), [], "\(what): no object fetched twice")
            XCTAssertEqual(fetched.set.subtracting(after.subtracting(before)).sorted(), [],
                           "\(what): the rerun fetched objects that were already here")
            XCTAssertEqual(fetched.all.count, after.subtracting(before).count, "\(what): the rerun fetches exactly the missing objects")
            XCTAssertEqual(partialMarkers(repo), [], "\(what): the partial marker is gone")
            try fsckBoth(repo, "\(what): after the rerun")
        }

        // A content object whose compressed payload has a flipped byte.
        let victims = try bigFilez(server, count: 2)
        XCTAssertEqual(victims.count, 2)
        let filez = victims[0], filezSum = checksumOf(filez)
        try sh("cp -a \(q(filez)) \(q(scratch + "/good.filez"))")
        try flipByte(filez)
        for mode in ["bare", "archive"] {
            let repo = try clientRepo("\(scratch)/payload-\(mode)", mode: mode, url: nginx.url)
            try expectRejected(repo, "\(mode): corrupt .filez payload", mentions: [filezSum])
            XCTAssertEqual(partialMarkers(repo), ["\(f.oddCommit).commitpartial"], "\(mode): the commit is marked partial")
            XCTAssertTrue(try objectNames(repo).contains("\(f.oddCommit).commit"), "\(mode): verified objects (the commit) are kept")
        }
        try sh("cp -a \(q(scratch + "/good.filez")) \(q(filez))")
        for mode in ["bare", "archive"] { try expectResumed("\(scratch)/payload-\(mode)", "\(mode): corrupt payload, repaired") }

        // A content object whose header was altered (uid 0 -> 1): it still decodes, to other bytes.
        let other = victims[1], otherSum = checksumOf(other)
        try sh("cp -a \(q(other)) \(q(scratch + "/good2.filez"))")
        try flipByte(other, at: 8 + 8 + 3, mask: 0x01)
        for mode in ["bare", "bare-user", "archive"] {
            let repo = try clientRepo("\(scratch)/header-\(mode)", mode: mode, url: nginx.url)
            try expectRejected(repo, "\(mode): corrupt .filez header", mentions: [otherSum])
        }
        try sh("cp -a \(q(scratch + "/good2.filez")) \(q(other))")

        // A corrupted dirtree (not the root).
        let rootTree = try arborMust(["ls", "--repo=\(server)", "-d", "-C", "odd", "/"]).split(separator: " ", omittingEmptySubsequences: true)
        let trees = try InteropTests.run("find", ["\(server)/objects", "-name", "*.dirtree"]).stdout.split(separator: "\n").map(String.init)
            .filter { rootTree.count < 5 || checksumOf($0) != String(rootTree[4]) }.sorted()
        let tree = try XCTUnwrap(trees.first)
        try sh("cp -a \(q(tree)) \(q(scratch + "/good.dirtree"))")
        try flipByte(tree)
        let treeRepo = try clientRepo("\(scratch)/dirtree", mode: "bare-user", url: nginx.url)
        try expectRejected(treeRepo, "corrupt dirtree", mentions: [checksumOf(tree)])
        XCTAssertEqual(partialMarkers(treeRepo), ["\(f.oddCommit).commitpartial"], "corrupt dirtree: the commit is marked partial")
        try sh("cp -a \(q(scratch + "/good.dirtree")) \(q(tree))")
        try expectResumed(treeRepo, "corrupt dirtree, repaired")

        // A 404 for a needed object.
        let missing = victims[0], missingSum = checksumOf(missing)
        try sh("mv \(q(missing)) \(q(missing + ".away"))")
        let r404 = try clientRepo("\(scratch)/missing", mode: "bare", url: nginx.url)
        try expectRejected(r404, "404 for a content object", mentions: [missingSum])
        try sh("mv \(q(missing + ".away")) \(q(missing))")
        try expectResumed(r404, "404 repaired")

        // A server returning garbage for everything: random bytes under every right name.
        let garbage = "\(scratch)/garbage"
        let gen = try InteropTests.run("python3", ["-c", """
        import os, sys
        src, dst = sys.argv[1], sys.argv[2]
        for d, dirs, files in os.walk(src):
            rel = os.path.relpath(d, src)
            os.makedirs(os.path.join(dst, rel), exist_ok=True)
            for n in files:
                with open(os.path.join(dst, rel, n), 'wb') as f:
                    f.write(os.urandom(1 + int.from_bytes(os.urandom(2), 'big') % 700))
        """, server, garbage])
        XCTAssertEqual(gen.status, 0, gen.stderr)
        try serve(scratch, garbage)
        let g = try clientRepo("\(scratch)/garbage-client", mode: "bare", url: nginx.url)
        try expectRejected(g, "garbage everywhere", mentions: [])
        // With the genuine summary, the garbage commit is caught by its checksum.
        try sh("cp \(q(server + "/summary")) \(q(garbage + "/summary")) && rm -f \(q(garbage + "/summary.sig"))")
        try expectRejected(g, "garbage objects", mentions: [f.oddCommit])
        XCTAssertEqual(partialMarkers(g), [], "a rejected commit object is not marked partial")
        // Also with the genuine commit: the garbage dirtree/dirmeta behind it is rejected.
        try sh("cp \(q(objectPath(server, f.oddCommit, "commit"))) \(q(objectPath(garbage, f.oddCommit, "commit")))")
        try expectRejected(g, "garbage behind a genuine commit", mentions: ["checksum"])
    }

    func testServerErrorIsACleanFailure() throws {
        let f = try shared()
        let scratch = try scratchDirectory(self, "arbor-pull-500")
        let victim = try XCTUnwrap(try reach(f.demoV2Repo, f.v2).filter { $0.hasSuffix(".file") }.sorted().first)
        let rel = "/objects/\(victim.prefix(2))/\(victim.dropFirst(2))z"
        let nginx = try startNginx(scratch, extraServer: "location = \(rel) { return 500; }")
        try serve(scratch, f.demoV2Repo)
        let repo = try clientRepo("\(scratch)/client", mode: "bare", url: nginx.url)
        let m = nginx.mark()
        let r = try pull(repo, ["origin", "demo"])
        assertCleanFailure(r, "HTTP 500 for a content object", mentions: ["500"])
        XCTAssertNil(refValue(repo, remoteRef: "demo"))
        let tries = nginx.requests(since: m).filter { $0.path == rel }.count
        XCTAssertGreaterThan(tries, 1, "a 500 is transient: it is retried")
        XCTAssertLessThan(tries, 20, "but not forever")
        try fsckBoth(repo, "after a 500")
    }

    // MARK: - 5. Interrupted pull

    func testKilledPullResumes() throws {
        _ = try ostreePath()
        let scratch = try scratchDirectory(self, "arbor-pull-kill")
        try runScript("make-odd-tree.sh", ["\(scratch)/big", "20000"])
        let server = "\(scratch)/server"
        try arborMust(["init", "--repo=\(server)", "--mode=archive"])
        let c = trimmed(try arborMust(["commit", "--repo=\(server)", "-b", "big", "--timestamp=2024-01-01T00:00:00Z", "-s", "big", "\(scratch)/big"]))
        try arborMust(["summary", "--repo=\(server)", "-u"])
        // The server holds this one commit only: all its objects are reachable.
        let total = try objectNames(server).count
        // A throttled server, so that the kill always lands part way through.
        let nginx = try startNginx(scratch, extraServer: "location /objects/ { limit_rate 64k; }")
        try serve(scratch, server)
        let repo = try clientRepo("\(scratch)/client", mode: "bare", url: nginx.url)

        let m0 = nginx.mark()
        let p = Process()
        p.executableURL = URL(fileURLWithPath: arborBinary)
        p.arguments = ["pull", "--repo=\(repo)", "-q", "--max-concurrency=8", "origin", "big"]
        p.standardOutput = FileHandle.nullDevice
        p.standardError = FileHandle.nullDevice
        p.standardInput = FileHandle.nullDevice
        try p.run()
        let deadline = Date().addingTimeInterval(60)
        while p.isRunning && Date() < deadline {
            if try objectNames(repo).count > 100 { break }
            usleep(100_000)
        }
        usleep(500_000)
        let wasRunning = p.isRunning
        if wasRunning { kill(p.processIdentifier, SIGKILL) }
        p.waitUntilExit()
        guard wasRunning else {
            throw XCTSkip("the pull finished before it could be interrupted (status \(p.terminationStatus))")
        }
        XCTAssertEqual(p.terminationReason, .uncaughtSignal)
        let firstFetched = fetchedObjects(nginx.requests(since: m0)).all.count
        let kept = try objectNames(repo)
        XCTAssertGreaterThan(kept.count, 0, "verified objects were published before the kill")
        XCTAssertLessThan(kept.count, total, "the kill came before the end")
        XCTAssertNil(refValue(repo, remoteRef: "big"), "no ref on an interrupted pull")
        let o = try ostree(["fsck", "--repo=\(repo)"])
        XCTAssertEqual(o.status, 0, "ostree fsck after the kill: \(o.stdout)\(o.stderr)")

        // The rerun goes to an unthrottled server holding the same repository.
        let fast = try startNginx(scratch, name: "nginx-fast")
        _ = try arborMust(["remote", "delete", "--repo=\(repo)", "origin"])
        _ = try arborMust(["remote", "add", "--repo=\(repo)", "--no-sign-verify", "origin", fast.url])
        // A dry run now tells exactly what the rerun fetches.
        let dry = try pullOK(repo, ["--dry-run", "origin", "big"])
        let before = try objectNames(repo)
        let m1 = fast.mark()
        let report = try pullOK(repo, ["origin", "big"])
        let fetched = fetchedObjects(fast.requests(since: m1))
        let after = try objectNames(repo)
        XCTAssertEqual(refValue(repo, remoteRef: "big"), c)
        XCTAssertEqual(after.count, total, "every reachable object is there")
        XCTAssertLessThan(fetched.all.count, total, "the rerun fetches fewer objects than a full pull (\(total))")
        XCTAssertEqual(duplicates(fetched.all), [], "no object fetched twice by the rerun")
        XCTAssertEqual(fetched.set.subtracting(after.subtracting(before)).sorted().prefix(5).map { $0 }, [],
                       "the rerun fetched objects that the interrupted pull had kept")
        XCTAssertEqual(fetched.all.count, after.subtracting(before).count, "the rerun fetches exactly the missing objects")
        XCTAssertEqual(int(dry["objects"]), int(report["objects"]), "--dry-run after an interruption: objects (real rerun \(report["objects"] ?? "?"))")
        XCTAssertEqual(int(dry["bytes"]), int(report["bytes"]), "--dry-run after an interruption: bytes")
        XCTAssertLessThan(fetched.all.count + firstFetched, 2 * total, "work is not done twice")
        XCTAssertEqual(partialMarkers(repo), [], "the partial marker is gone")
        try fsckBoth(repo, "after the resumed pull")
    }

    // MARK: - 6. Signature policy

    func testSignaturePolicy() throws {
        let f = try shared()
        let scratch = try scratchDirectory(self, "arbor-pull-sign")
        let nginx = try startNginx(scratch)
        let sec = Self.vectorSecret, pub = Self.vectorPublic
        let wrong = try opensslKey(scratch, "wrong")

        // v1 signed, summary signed.
        let s1 = "\(scratch)/server-v1", s2 = "\(scratch)/server-v2"
        try sh("cp -a \(q(f.demoV1Repo)) \(q(s1)) && cp -a \(q(f.demoV2Repo)) \(q(s2))")
        try arborMust(["sign", "--repo=\(s1)", "demo", sec])
        try arborMust(["summary", "--repo=\(s1)", "-u", "--sign=\(sec)"])
        try serve(scratch, s1)
        let repo = try clientRepo("\(scratch)/client", mode: "bare", url: nginx.url, remoteOptions: ["--sign-verify=ed25519=inline:\(pub)"])
        let config = try String(contentsOfFile: "\(repo)/config", encoding: .utf8)
        XCTAssertTrue(config.contains("sign-verify=true"), config)
        XCTAssertTrue(config.contains("verification-ed25519-key=\(pub)"), config)
        try pullOK(repo, ["origin", "demo"])
        XCTAssertEqual(refValue(repo, remoteRef: "demo"), f.v1)

        // v2 unsigned (summary signed): refused, the ref stays.
        try arborMust(["summary", "--repo=\(s2)", "-u", "--sign=\(sec)"])
        try serve(scratch, s2)
        assertCleanFailure(try pull(repo, ["origin", "demo"]), "unsigned commit", mentions: [f.v2, "signature"])
        XCTAssertEqual(refValue(repo, remoteRef: "demo"), f.v1, "unsigned commit: no ref moves")
        XCTAssertFalse(try objectNames(repo).contains("\(f.v2).commit"), "the refused commit is not stored")
        try fsckBoth(repo, "after an unsigned commit")

        // Signed with another key only: refused.
        try arborMust(["sign", "--repo=\(s2)", "demo", wrong.secret])
        assertCleanFailure(try pull(repo, ["origin", "demo"]), "commit signed by an untrusted key", mentions: [f.v2])
        XCTAssertEqual(refValue(repo, remoteRef: "demo"), f.v1, "wrong key: no ref moves")

        // Signed by the trusted key too, summary unsigned: refused (summary policy).
        try arborMust(["sign", "--repo=\(s2)", "demo", sec])
        try arborMust(["summary", "--repo=\(s2)", "-u"])
        XCTAssertFalse(FileManager.default.fileExists(atPath: "\(s2)/summary.sig"))
        assertCleanFailure(try pull(repo, ["origin", "demo"]), "unsigned summary", mentions: ["summary"])
        XCTAssertEqual(refValue(repo, remoteRef: "demo"), f.v1, "unsigned summary: no ref moves")

        // A summary.sig left over from another summary: refused.
        try sh("cp \(q(s1 + "/summary.sig")) \(q(s2 + "/summary.sig"))")
        assertCleanFailure(try pull(repo, ["origin", "demo"]), "stale summary.sig", mentions: ["summary"])
        XCTAssertEqual(refValue(repo, remoteRef: "demo"), f.v1, "stale summary signature: no ref moves")

        // Summary signed with the wrong key: refused.
        try arborMust(["summary", "--repo=\(s2)", "-u", "--sign=\(wrong.secret)"])
        assertCleanFailure(try pull(repo, ["origin", "demo"]), "summary signed by an untrusted key", mentions: ["summary"])

        // Everything signed: accepted.
        try arborMust(["summary", "--repo=\(s2)", "-u", "--sign=\(sec)"])
        try pullOK(repo, ["origin", "demo"])
        XCTAssertEqual(refValue(repo, remoteRef: "demo"), f.v2)
        try fsckBoth(repo, "after the signed pull")

        // Keys from a file (with the untrusted key too): accepted; with only the untrusted key: refused.
        let keys = "\(scratch)/trusted.ed25519"
        try "\(wrong.public)\n\(pub)\n".write(toFile: keys, atomically: true, encoding: .utf8)
        let fr = try clientRepo("\(scratch)/client-file", mode: "archive", url: nginx.url, remoteOptions: ["--sign-verify=ed25519=file:\(keys)"])
        XCTAssertTrue(try String(contentsOfFile: "\(fr)/config", encoding: .utf8).contains("verification-ed25519-file=\(keys)"))
        try pullOK(fr, ["origin", "demo"])
        XCTAssertEqual(refValue(fr, remoteRef: "demo"), f.v2)
        let wrongKeys = "\(scratch)/wrong.ed25519"
        try "\(wrong.public)\n".write(toFile: wrongKeys, atomically: true, encoding: .utf8)
        // s2's commit is also signed by the wrong key: so sign the summary with the trusted key only and
        // remove the wrong key's commit signature by re-creating the server from v2 signed by `sec` alone.
        let s3 = "\(scratch)/server-v2b"
        try sh("cp -a \(q(f.demoV2Repo)) \(q(s3))")
        try arborMust(["sign", "--repo=\(s3)", "demo", sec])
        try arborMust(["summary", "--repo=\(s3)", "-u", "--sign=\(sec)"])
        try serve(scratch, s3)
        let wr = try clientRepo("\(scratch)/client-wrongfile", mode: "archive", url: nginx.url, remoteOptions: ["--sign-verify=ed25519=file:\(wrongKeys)"])
        assertCleanFailure(try pull(wr, ["origin", "demo"]), "keys file without the signing key")
        XCTAssertNil(refValue(wr, remoteRef: "demo"))
        // No summary at all (refs/heads): an unsigned commit is still refused.
        let s4 = "\(scratch)/server-nosummary"
        try sh("cp -a \(q(f.demoV2Repo)) \(q(s4)) && rm -f \(q(s4 + "/summary")) \(q(s4 + "/summary.sig"))")
        try serve(scratch, s4)
        let ns = try clientRepo("\(scratch)/client-nosummary", mode: "bare", url: nginx.url, remoteOptions: ["--sign-verify=ed25519=inline:\(pub)"])
        assertCleanFailure(try pull(ns, ["origin", "demo"]), "unsigned commit, no summary", mentions: [f.v2])
        XCTAssertNil(refValue(ns, remoteRef: "demo"))
        try arborMust(["sign", "--repo=\(s4)", "demo", sec])
        try pullOK(ns, ["origin", "demo"])
        XCTAssertEqual(refValue(ns, remoteRef: "demo"), f.v2, "signed commit, no summary: accepted")
        try serve(scratch, s3)
        // An unsigned remote still pulls the signed repository.
        let plain = try clientRepo("\(scratch)/client-plain", mode: "bare", url: nginx.url, remoteOptions: ["--no-sign-verify"])
        try pullOK(plain, ["origin", "demo"])
        // Invalid settings are refused up front.
        assertCleanFailure(try arbor(["remote", "add", "--repo=\(plain)", "--sign-verify=ed25519=inline:not-a-key", "bad", nginx.url]), "invalid inline key")
        XCTAssertNotEqual(try arbor(["remote", "add", "--repo=\(plain)", "--sign-verify=gpg=inline:x", "bad2", nginx.url]).status, 0)
    }

    // MARK: - 7. Options and lookup errors

    func testPullOptions() throws {
        let f = try shared()
        let scratch = try scratchDirectory(self, "arbor-pull-options")
        let nginx = try startNginx(scratch)
        let server = "\(scratch)/server"
        try sh("cp -a \(q(f.demoV2Repo)) \(q(server))")
        let other = trimmed(try arborMust(["commit", "--repo=\(server)", "-b", "other", "--owner-uid=0", "--owner-gid=0",
                                           "--timestamp=2024-01-05T00:00:00Z", "-s", "other", f.demo10]))
        try arborMust(["summary", "--repo=\(server)", "-u"])
        try serve(scratch, server)

        // --depth=1: the parent commit comes too.
        let d = try clientRepo("\(scratch)/depth", mode: "bare", url: nginx.url)
        try pullOK(d, ["--depth=1", "origin", "demo"])
        let log = try arborMust(["log", "--repo=\(d)", "origin:demo"])
        XCTAssertTrue(log.contains(f.v2) && log.contains(f.v1), "arbor log shows both commits: \(log)")
        let olog = try ostreeMust(["log", "--repo=\(d)", "origin:demo"])
        XCTAssertTrue(olog.contains("commit \(f.v1)"), "ostree log shows the parent: \(olog)")
        XCTAssertEqual(partialMarkers(d), [], "the parent is complete, not partial")
        try fsckBoth(d, "--depth=1")
        try assertCheckoutEquals(d, f.v1, f.demo10Manifest, scratch: scratch, "--depth=1: the parent's tree")
        // Without --depth only the tip commit is fetched.
        let d0 = try clientRepo("\(scratch)/depth0", mode: "bare", url: nginx.url)
        try pullOK(d0, ["origin", "demo"])
        XCTAssertFalse(try objectNames(d0).contains("\(f.v1).commit"), "depth 0: no parent commit")

        // --mirror: refs/heads/REF; no ref names: every ref in the summary.
        let mr = try clientRepo("\(scratch)/mirror", mode: "archive", url: nginx.url)
        let rep = try pullOK(mr, ["--mirror", "origin"])
        XCTAssertEqual(Set(((rep["refs"] as? [[String: Any]]) ?? []).compactMap { $0["ref"] as? String }), ["demo", "other"])
        XCTAssertEqual(trimmed((try? String(contentsOfFile: "\(mr)/refs/heads/demo", encoding: .utf8)) ?? ""), f.v2)
        XCTAssertEqual(trimmed((try? String(contentsOfFile: "\(mr)/refs/heads/other", encoding: .utf8)) ?? ""), other)
        XCTAssertFalse(FileManager.default.fileExists(atPath: "\(mr)/refs/remotes/origin/demo"), "--mirror writes no remote ref")
        try fsckBoth(mr, "--mirror")
        // The mirror can itself be served and pulled from.
        try arborMust(["summary", "--repo=\(mr)", "-u"])
        try serve(scratch, mr)
        let fromMirror = try clientRepo("\(scratch)/from-mirror", mode: "bare-user", url: nginx.url)
        try pullOK(fromMirror, ["origin"])
        XCTAssertEqual(refValue(fromMirror, remoteRef: "demo"), f.v2)
        XCTAssertEqual(refValue(fromMirror, remoteRef: "other"), other)
        try serve(scratch, server)

        // --max-concurrency=1 still works (odd tree for many requests).
        try serve(scratch, f.oddRepo)
        let one = try clientRepo("\(scratch)/one", mode: "bare-user", url: nginx.url)
        let m1 = nginx.mark()
        try pullOK(one, ["--max-concurrency=1", "origin", "odd"])
        let oneReqs = nginx.requests(since: m1)
        XCTAssertGreaterThan(oneReqs.count, 2000)
        XCTAssertFalse(oneReqs.contains { $0.connection <= 0 }, "the access log records connection numbers")
        XCTAssertLessThanOrEqual(Set(oneReqs.map(\.connection)).count, 2,
                                 "--max-concurrency=1: one kept-alive connection (got \(Set(oneReqs.map(\.connection)).count) for \(oneReqs.count) requests)")
        XCTAssertEqual(refValue(one, remoteRef: "odd"), f.oddCommit)
        try fsckBoth(one, "--max-concurrency=1")
        try serve(scratch, server)

        // Lookup errors.
        let e = try clientRepo("\(scratch)/errors", mode: "bare", url: nginx.url)
        // A ref naming a commit bound to another ref (as `ostree pull` refuses it).
        try arborMust(["refs", "--repo=\(server)", "--create=alias", "demo"])
        try arborMust(["summary", "--repo=\(server)", "-u"])
        assertCleanFailure(try pull(e, ["origin", "alias"]), "commit bound to another ref", mentions: ["alias"])
        XCTAssertNil(refValue(e, remoteRef: "alias"))
        assertCleanFailure(try pull(e, ["origin", "no-such-ref"]), "unknown ref", mentions: ["no-such-ref"])
        assertCleanFailure(try pull(e, ["nowhere", "demo"]), "unknown remote", mentions: ["nowhere"])
        XCTAssertEqual(((try? FileManager.default.contentsOfDirectory(atPath: "\(e)/refs/remotes")) ?? []).filter { !$0.hasPrefix(".") }, [],
                       "failed lookups write no refs")
        XCTAssertNotEqual(try pull(e, ["--max-concurrency=0", "origin", "demo"]).status, 0, "--max-concurrency=0 is refused")
        assertCleanFailure(try arbor(["remote", "add", "--repo=\(e)", "ftp", "ftp://example.com/repo"]), "unsupported URL scheme")
        // A remote whose server is down.
        try arborMust(["remote", "add", "--repo=\(e)", "down", "http://127.0.0.1:1/"])
        let down = try pull(e, ["down", "demo"])
        assertCleanFailure(down, "connection refused")
        // file:// remotes work too.
        try arborMust(["remote", "add", "--repo=\(e)", "local", "file://\(server)"])
        try pullOK(e, ["local", "demo", "other"])
        XCTAssertEqual(trimmed((try? String(contentsOfFile: "\(e)/refs/remotes/local/other", encoding: .utf8)) ?? ""), other)
        try fsckBoth(e, "file:// pull")
    }

    // MARK: - 8. pull-local

    /// A server that stalls past the timeout: the pull gives up with a clear error, the
    /// repository stays sound and no ref names the incomplete commit.
    func testStallingServerTimesOut() throws {
        let f = try shared()
        let scratch = try scratchDirectory(self, "arbor-pull-stall")
        try serve(scratch, f.oddRepo)
        let nginx = try startNginx(scratch, extraServer: "location /objects/ { limit_rate 20; }")
        let client = "\(scratch)/client"
        _ = try arborMust(["init", "--repo=\(client)", "--mode=archive"])
        _ = try arborMust(["remote", "add", "--repo=\(client)", "--no-sign-verify", "origin", nginx.url])
        let start = Date()
        let r = try pull(client, ["--stall-timeout=1", "--max-concurrency=4", "origin", "odd"])
        assertCleanFailure(r, "stalled server", mentions: [])
        XCTAssertTrue(r.stderr.lowercased().contains("time"), r.stderr)
        XCTAssertLessThan(Date().timeIntervalSince(start), 90, "the stall timeout bounds the wait")
        XCTAssertNil(refValue(client, remoteRef: "odd"))
        XCTAssertEqual(try arbor(["fsck", "--repo=\(client)"]).status, 0)
        XCTAssertEqual(try ostree(["fsck", "--repo=\(client)"]).status, 0)
    }

    /// The server goes away part way: the pull fails cleanly and keeps what it verified; once the
    /// server is back a rerun completes, fetching only what is missing.
    func testServerStoppedPartWayResumes() throws {
        let f = try shared()
        let scratch = try scratchDirectory(self, "arbor-pull-stop")
        try serve(scratch, f.oddRepo)
        // Slow enough that the pull is still running when the server stops.
        let nginx = try startNginx(scratch, extraServer: "location /objects/ { limit_rate 20k; }")
        let client = "\(scratch)/client"
        _ = try arborMust(["init", "--repo=\(client)", "--mode=bare"])
        _ = try arborMust(["remote", "add", "--repo=\(client)", "--no-sign-verify", "origin", nginx.url])
        let p = Process()
        p.executableURL = URL(fileURLWithPath: arborBinary)
        p.arguments = ["pull", "--repo=\(client)", "--stall-timeout=2", "--max-concurrency=8", "origin", "odd"]
        p.standardOutput = FileHandle.nullDevice
        let err = Pipe()
        p.standardError = err
        try p.run()
        // Wait until verified objects have been published, then take the server away.
        let deadline = Date().addingTimeInterval(60)
        while try p.isRunning && Date() < deadline && objectNames(client).count < 50 { usleep(100_000) }
        nginx.stop()
        p.waitUntilExit()
        if p.terminationStatus == 0 { throw XCTSkip("the pull finished before the server stopped") }
        let stderr = String(decoding: err.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        XCTAssertTrue(stderr.hasPrefix("arbor: error: "), stderr)
        XCTAssertNil(refValue(client, remoteRef: "odd"), "no ref on an incomplete commit")
        XCTAssertEqual(try ostree(["fsck", "--repo=\(client)"]).status, 0)
        XCTAssertEqual(partialMarkers(client).count, 1, "the commit is marked partial")
        let kept = try objectNames(client)
        XCTAssertGreaterThan(kept.count, 0, "verified objects were kept")

        // Back online: the rerun completes and fetches none of what was kept.
        let again = try startNginx(scratch, extraServer: "", name: "nginx2")
        _ = try arborMust(["remote", "delete", "--repo=\(client)", "origin"])
        _ = try arborMust(["remote", "add", "--repo=\(client)", "--no-sign-verify", "origin", again.url])
        let mark = again.mark()
        _ = try pullOK(client, ["origin", "odd"])
        let fetched = fetchedObjects(again.requests(since: mark)).set
        let refetched = fetched.intersection(Set(kept.map(normalise)))
        XCTAssertTrue(refetched.isSubset(of: Set(["\(f.oddCommit).commit"])) || refetched.isEmpty,
                      "objects kept from the first attempt were fetched again: \(refetched.prefix(5))")
        XCTAssertEqual(refValue(client, remoteRef: "odd"), f.oddCommit)
        XCTAssertTrue(partialMarkers(client).isEmpty)
        try fsckBoth(client, "after resuming")
    }

    /// `admin upgrade` of a deployment whose origin is `REMOTE:REF` pulls the new commit first,
    /// then deploys it; with nothing new it pulls nothing and says so.
    func testAdminUpgradePullsFromTheOriginRemote() throws {
        let f = try shared()
        let scratch = try scratchDirectory(self, "arbor-pull-upgrade")
        let server = "\(scratch)/server"
        try sh("cp -a \(q(f.demoV1Repo)) \(q(server))")
        try serve(scratch, server)
        let nginx = try startNginx(scratch)
        let s = "\(scratch)/sysroot"
        _ = try arborMust(["admin", "init-fs", s])
        _ = try arborMust(["admin", "os-init", "--sysroot=\(s)", "demo"])
        let repo = "\(s)/ostree/repo"
        _ = try arborMust(["remote", "add", "--repo=\(repo)", "--no-sign-verify", "origin", nginx.url])
        _ = try arborMust(["pull", "--repo=\(repo)", "origin", "demo"])
        _ = try arborMust(["admin", "deploy", "--sysroot=\(s)", "--os=demo", "origin:demo"])
        XCTAssertTrue(try arborMust(["admin", "upgrade", "--sysroot=\(s)"]).contains("No update available"))

        // Publish 1.1 on the server; the node upgrades through pull.
        try sh("rm -rf \(q(server)) && cp -a \(q(f.demoV2Repo)) \(q(server))")
        let mark = nginx.mark()
        let out = try arborMust(["admin", "upgrade", "--sysroot=\(s)"])
        XCTAssertTrue(out.contains("→"), out)
        XCTAssertFalse(nginx.requests(since: mark).isEmpty, "the upgrade fetched from the remote")
        XCTAssertEqual(refValue(repo, remoteRef: "demo"), f.v2)
        let status = try arborMust(["admin", "status", "--sysroot=\(s)", "--json"])
        XCTAssertTrue(status.contains(f.v2), status)
        XCTAssertEqual(try ostree(["admin", "status", "--sysroot=\(s)"]).status, 0)
        try fsckBoth(repo, "sysroot repository after upgrade through pull")
    }

    func testPullLocalBetweenModes() throws {
        let f = try shared()
        let scratch = try scratchDirectory(self, "arbor-pull-local")
        let bare = "\(scratch)/bare"
        try arborMust(["init", "--repo=\(bare)", "--mode=bare"])
        let c = trimmed(try arborMust(["commit", "--repo=\(bare)", "-b", "odd", "--timestamp=2024-01-01T00:00:00Z", "-s", "odd", f.odd]))
        XCTAssertEqual(c, f.oddCommit, "the same tree gives the same commit in bare and archive")
        let c1 = trimmed(try arborMust(["commit", "--repo=\(bare)", "-b", "demo", "--owner-uid=0", "--owner-gid=0",
                                        "--timestamp=2024-01-01T00:00:00Z", "-s", "one", f.demo10]))
        let c2 = trimmed(try arborMust(["commit", "--repo=\(bare)", "-b", "demo", "--owner-uid=0", "--owner-gid=0",
                                        "--timestamp=2024-01-02T00:00:00Z", "-s", "two", "--add-metadata-string=version=1.1", f.demo11]))
        XCTAssertEqual(c2, f.v2)

        // bare -> archive
        let archive = "\(scratch)/archive"
        try arborMust(["init", "--repo=\(archive)", "--mode=archive"])
        try arborMust(["pull-local", "--repo=\(archive)", bare, "odd"])
        try arborMust(["pull-local", "--repo=\(archive)", "--depth=1", bare, "demo"])
        XCTAssertEqual(trimmed(try arborMust(["rev-parse", "--repo=\(archive)", "odd"])), c)
        XCTAssertEqual(trimmed(try arborMust(["rev-parse", "--repo=\(archive)", "demo"])), c2)
        XCTAssertTrue(try objectNames(archive).contains("\(c1).commit"), "--depth=1 copies the parent")
        XCTAssertEqual(partialMarkers(archive), [])
        try fsckBoth(archive, "pull-local bare -> archive")
        try assertCheckoutEquals(archive, "odd", f.oddManifest, scratch: scratch, "archive from bare")

        // archive -> bare and bare-user (all refs by default).
        for mode in ["bare", "bare-user"] {
            let dst = "\(scratch)/\(mode)-from-archive"
            try arborMust(["init", "--repo=\(dst)", "--mode=\(mode)"])
            let j = json(try arborMust(["pull-local", "--repo=\(dst)", "--json", archive]))
            XCTAssertEqual(Set(((j["refs"] as? [[String: Any]]) ?? []).compactMap { $0["ref"] as? String }), ["odd", "demo"])
            XCTAssertEqual(trimmed(try arborMust(["rev-parse", "--repo=\(dst)", "odd"])), c, "\(mode): same commit checksum")
            XCTAssertEqual(trimmed(try ostreeMust(["rev-parse", "--repo=\(dst)", "demo"])), c2, "\(mode): same commit checksum (ostree)")
            XCTAssertEqual(partialMarkers(dst), [])
            try fsckBoth(dst, "pull-local archive -> \(mode)")
            try assertCheckoutEquals(dst, "odd", f.oddManifest, scratch: scratch, "\(mode) from archive")
            try assertCheckoutEquals(dst, "demo", f.demo11Manifest, scratch: scratch, "\(mode) from archive: demo")
            // Again: nothing to do.
            let again = json(try arborMust(["pull-local", "--repo=\(dst)", "--json", archive, "odd"]))
            XCTAssertEqual(int(again["objects"]), 0, "\(mode): a second pull-local copies nothing")
        }

        // ostree agrees: ostree pull-local from Arbor's archive gives the same commit.
        let o = "\(scratch)/ostree-bare"
        try ostreeMust(["init", "--repo=\(o)", "--mode=bare"])
        try ostreeMust(["pull-local", "--repo=\(o)", archive, "odd"])
        XCTAssertEqual(trimmed(try ostreeMust(["rev-parse", "--repo=\(o)", "odd"])), c)
        try ostreeMust(["fsck", "--repo=\(o)"])

        // Errors, and bare-user-only refusing what it cannot hold (as `ostree pull-local` does).
        assertCleanFailure(try arbor(["pull-local", "--repo=\(archive)", bare, "no-such-ref"]), "pull-local: unknown ref", mentions: ["no-such-ref"])
        let buo = "\(scratch)/buo"
        try arborMust(["init", "--repo=\(buo)", "--mode=bare-user-only"])
        try arborMust(["pull-local", "--repo=\(buo)", archive, "demo"])
        try fsckBoth(buo, "bare-user-only with the (canonical) demo commit")
        let r = try arbor(["pull-local", "--repo=\(buo)", bare, "odd"])
        assertCleanFailure(r, "pull-local of a non-canonical commit into bare-user-only")
        XCTAssertFalse(FileManager.default.fileExists(atPath: "\(buo)/refs/heads/odd"), "bare-user-only: no ref for a commit it cannot hold")
        try fsckBoth(buo, "bare-user-only after refusing the non-canonical commit")
    }
}
