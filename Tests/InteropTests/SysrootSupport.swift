// Sysroot helpers shared by the deployment and boot-counting tests: scratch sysroots with
// stateroot `testos`, commits of small trees, and both tools' `admin status` in one shape.
import Foundation
import XCTest

/// The stateroot the sysroot tests deploy into.
let testStateroot = "testos"

/// One deployment as both tools' status shows it.
struct DeploymentLine: Equatable { var name: String; var version: String?; var origin: String?; var pinned: Bool }

extension XCTestCase {
    /// A sysroot with stateroot `testos`; returns its path.
    func makeSysroot() throws -> String {
        try XCTSkipUnless(isRoot, "deployments need root")
        let dir = try scratchDirectory(self, "arbor-deploy")
        let s = dir + "/sysroot"
        try arborOK("admin", "init-fs", s)
        try arborOK("admin", "os-init", "--sysroot=\(s)", testStateroot)
        return s
    }

    /// Commits `tree` to `testos/stable` in the sysroot repository; returns the checksum.
    @discardableResult
    func commit(_ s: String, _ tree: String, version: String, timestamp: Int, ref: String = "testos/stable") throws -> String {
        try arborOK("commit", "--repo=\(s)/ostree/repo", "-b", ref, "-s", "v\(version)", "--add-metadata-string=version=\(version)",
                    "--owner-uid=0", "--owner-gid=0", "--timestamp=\(timestamp)", tree)
    }

    var demo10: String { packageRoot.appendingPathComponent("trees/demo-1.0").path }
    var demo11: String { packageRoot.appendingPathComponent("trees/demo-1.1").path }

        /// `arbor admin status --json`, reduced.
    func arborStatus(_ s: String, file: StaticString = #filePath, line: UInt = #line) throws -> [DeploymentLine] {
        let out = try arborOK("admin", "status", "--sysroot=\(s)", "--json", file: file, line: line)
        guard let top = try JSONSerialization.jsonObject(with: Data(out.utf8)) as? [String: Any],
              let list = top["deployments"] as? [[String: Any]] else {
            XCTFail("status --json is not a list: \(out)", file: file, line: line)
            return []
        }
        return list.map { DeploymentLine(name: "\($0["stateroot"] ?? "") \($0["name"] ?? "")", version: $0["version"] as? String,
                                 origin: $0["origin"] as? String, pinned: $0["pinned"] as? Bool ?? false) }
    }

    /// `ostree admin status`, parsed into the same shape.
    func ostreeStatus(_ s: String, file: StaticString = #filePath, line: UInt = #line) throws -> [DeploymentLine] {
        let out = try ostreeOK("admin", "status", "--sysroot=\(s)", file: file, line: line)
        var list: [DeploymentLine] = []
        for raw in out.split(separator: "\n") {
            let l = String(raw)
            if l.hasPrefix("  ") && !l.hasPrefix("    ") || l.hasPrefix("* ") {
                list.append(DeploymentLine(name: String(l.dropFirst(2)).components(separatedBy: " (")[0], version: nil, origin: nil, pinned: false))
            } else if l.hasPrefix("    Version: ") {
                list[list.count - 1].version = String(l.dropFirst(13))
            } else if l.hasPrefix("    origin refspec: ") {
                list[list.count - 1].origin = String(l.dropFirst(20))
            } else if l.hasPrefix("    Pinned: yes") {
                list[list.count - 1].pinned = true
            }
        }
        return list
    }

    /// Both tools list the same deployments in the same order.
    func assertToolsAgree(_ s: String, count: Int? = nil, file: StaticString = #filePath, line: UInt = #line) throws {
        let a = try arborStatus(s, file: file, line: line), o = try ostreeStatus(s, file: file, line: line)
        XCTAssertEqual(a, o, "arbor and ostree disagree on \(s)", file: file, line: line)
        if let n = count { XCTAssertEqual(a.count, n, "deployment count", file: file, line: line) }
    }

    func readText(_ path: String) -> String? { try? String(contentsOfFile: path, encoding: .utf8) }

    func deployPath(_ s: String, _ name: String) -> String { "\(s)/ostree/deploy/\(testStateroot)/deploy/\(name)" }

    /// The current boot entries' texts, by file name.
    func bootEntries(_ s: String) throws -> [String: String] {
        let dir = "\(s)/boot/loader/entries"
        var out: [String: String] = [:]
        for f in try FileManager.default.contentsOfDirectory(atPath: dir) { out[f] = readText(dir + "/" + f) }
        return out
    }

    /// Everything in the sysroot except repository objects: paths, types, link targets and entry contents.
    func snapshot(_ s: String) throws -> String {
        let r = try InteropTests.run("/bin/sh", ["-c", "cd '\(s)' && find . -path ./ostree/repo/objects -prune -o -path ./ostree/repo/tmp -prune -o -path './ostree/deploy/*/deploy/*/*' -prune -o -printf '%p %y %l\\n' | sort && cat boot/loader/entries/* 2>/dev/null; cat ostree/deploy/*/deploy/*.origin 2>/dev/null"])
        return r.stdout
    }

    /// A tiny OS tree with a kernel and the given /usr/etc files; returns its path.
    func makeTree(_ name: String, version: String, etc: [String: String], kernel: Bool = true, extra: (String) throws -> Void = { _ in }) throws -> String {
        let base = try scratchDirectory(self, "arbor-tree") + "/" + name
        let fm = FileManager.default
        for d in ["usr/bin", "usr/lib/modules/6.1.0-t", "usr/etc"] { try fm.createDirectory(atPath: "\(base)/\(d)", withIntermediateDirectories: true) }
        try "ID=testos\nVERSION_ID=\(version)\n".write(toFile: "\(base)/usr/lib/os-release", atomically: false, encoding: .utf8)
        try "#!/bin/sh\necho \(version)\n".write(toFile: "\(base)/usr/bin/tool", atomically: false, encoding: .utf8)
        if kernel {
            try "kernel\n".write(toFile: "\(base)/usr/lib/modules/6.1.0-t/vmlinuz", atomically: false, encoding: .utf8)
            try "initramfs\n".write(toFile: "\(base)/usr/lib/modules/6.1.0-t/initramfs.img", atomically: false, encoding: .utf8)
        }
        for (path, text) in etc {
            let p = "\(base)/usr/etc/\(path)"
            try fm.createDirectory(atPath: (p as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
            try text.write(toFile: p, atomically: false, encoding: .utf8)
        }
        try extra(base)
        _ = try InteropTests.run("chmod", ["-R", "u+rwX,go+rX,go-w", base])
        return base
    }
}
