// Helpers for tests that run the `arbor` binary and the real `ostree` on the same data.
import Foundation
import XCTest

/// The package root (tests find scripts, trees and fixtures relative to it).
let packageRoot: URL = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

/// The `arbor` binary built alongside the tests ($ARBOR_BIN overrides).
let arborBinary: String = {
    if let env = ProcessInfo.processInfo.environment["ARBOR_BIN"] { return env }
    // The test bundle lives in the build products directory, next to the executable.
    let products = Bundle(for: Marker.self).bundleURL.deletingLastPathComponent()
    return products.appendingPathComponent("arbor").path
}()
private final class Marker {}

/// The result of running a process.
struct RunResult {
    var status: Int32
    var stdout: String
    var stderr: String
    var stdoutData: Data
}

/// Runs a program with arguments; never throws for a non-zero exit.
@discardableResult
func run(_ program: String, _ args: [String], cwd: String? = nil, env: [String: String] = [:], stdin: Data? = nil) throws -> RunResult {
    let p = Process()
    p.executableURL = URL(fileURLWithPath: program.hasPrefix("/") ? program : "/usr/bin/env")
    p.arguments = program.hasPrefix("/") ? args : [program] + args
    if let cwd = cwd { p.currentDirectoryURL = URL(fileURLWithPath: cwd) }
    var environment = ProcessInfo.processInfo.environment
    for (k, v) in env { environment[k] = v }
    p.environment = environment
    let out = Pipe(), err = Pipe()
    p.standardOutput = out
    p.standardError = err
    let inPipe = Pipe()
    p.standardInput = inPipe
    try p.run()
    if let d = stdin { inPipe.fileHandleForWriting.write(d) }
    try? inPipe.fileHandleForWriting.close()
    // Read both pipes concurrently so a chatty process cannot block on a full pipe.
    var errData = Data()
    let group = DispatchGroup()
    group.enter()
    DispatchQueue.global().async {
        errData = err.fileHandleForReading.readDataToEndOfFile()
        group.leave()
    }
    let outData = out.fileHandleForReading.readDataToEndOfFile()
    group.wait()
    p.waitUntilExit()
    return RunResult(status: p.terminationStatus, stdout: String(decoding: outData, as: UTF8.self),
                     stderr: String(decoding: errData, as: UTF8.self), stdoutData: outData)
}

/// Runs `arbor` with arguments.
@discardableResult
func arbor(_ args: String..., cwd: String? = nil) throws -> RunResult { try run(arborBinary, args, cwd: cwd) }
/// Runs `arbor` with an argument array.
@discardableResult
func arbor(_ args: [String], cwd: String? = nil) throws -> RunResult { try run(arborBinary, args, cwd: cwd) }

/// Runs `arbor` and fails the test unless it exits 0; returns trimmed stdout.
@discardableResult
func arborOK(_ args: String..., file: StaticString = #filePath, line: UInt = #line) throws -> String {
    let r = try run(arborBinary, args)
    XCTAssertEqual(r.status, 0, "arbor \(args.joined(separator: " ")) failed: \(r.stderr)", file: file, line: line)
    return r.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
}

/// Path of the real `ostree`, or nil. Under CI (CI=true) a missing `ostree` fails the test.
func ostreePath(file: StaticString = #filePath, line: UInt = #line) throws -> String {
    for p in ["/usr/bin/ostree", "/usr/local/bin/ostree", "/bin/ostree"] where FileManager.default.isExecutableFile(atPath: p) {
        return p
    }
    if ProcessInfo.processInfo.environment["CI"] == "true" {
        XCTFail("ostree is required under CI but is not installed", file: file, line: line)
        throw XCTSkip("ostree missing")
    }
    throw XCTSkip("ostree is not installed")
}

/// Runs the real `ostree` and fails the test unless it exits 0; returns stdout.
@discardableResult
func ostreeOK(_ args: String..., file: StaticString = #filePath, line: UInt = #line) throws -> String {
    let r = try run(try ostreePath(), args)
    XCTAssertEqual(r.status, 0, "ostree \(args.joined(separator: " ")) failed: \(r.stderr)", file: file, line: line)
    return r.stdout
}

/// A fresh scratch directory, removed (immutable bits cleared first) when the test ends.
func scratchDirectory(_ test: XCTestCase, _ name: String = "arbor-test") throws -> String {
    let base = ProcessInfo.processInfo.environment["ARBOR_TEST_TMP"] ?? "/var/tmp"
    let path = "\(base)/\(name)-\(UUID().uuidString.prefix(8))"
    try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    test.addTeardownBlock {
        _ = try? run("chattr", ["-R", "-i", path])
        _ = try? run("rm", ["-rf", path])
    }
    return path
}

/// Runs a project script (scripts/NAME) with arguments and fails the test unless it exits 0.
func runScript(_ name: String, _ args: [String], file: StaticString = #filePath, line: UInt = #line) throws {
    let r = try run("/bin/sh", [packageRoot.appendingPathComponent("scripts/\(name)").path] + args)
    XCTAssertEqual(r.status, 0, "\(name) failed: \(r.stderr)", file: file, line: line)
}

/// Whether the tests run as root (bare-mode ownership needs it).
var isRoot: Bool { getuid() == 0 }

/// A manifest of a directory tree for equality checks: one line per entry with type, mode,
/// uid, gid, size, content hash or symlink target, and sorted xattrs. `ignore` drops paths.
func treeManifest(_ root: String, owners: Bool = true, xattrs: Bool = true) throws -> [String] {
    let script = """
    import os, sys, hashlib, stat
    root = sys.argv[1]; owners = sys.argv[2] == '1'; want_x = sys.argv[3] == '1'
    out = []
    for d, dirs, files in os.walk(root):
        dirs.sort()
        for n in sorted(dirs) + sorted(files):
            p = os.path.join(d, n); st = os.lstat(p); rel = os.path.relpath(p, root)
            if stat.S_ISLNK(st.st_mode): what = 'l -> ' + os.readlink(p)
            elif stat.S_ISDIR(st.st_mode): what = 'd'
            else:
                h = hashlib.sha256()
                with open(p, 'rb') as f:
                    for chunk in iter(lambda: f.read(1 << 20), b''): h.update(chunk)
                what = 'f %d %s' % (st.st_size, h.hexdigest())
            xs = ''
            if want_x:
                try:
                    names = sorted(os.listxattr(p, follow_symlinks=False))
                    xs = ' '.join('%s=%s' % (x, os.getxattr(p, x, follow_symlinks=False).hex()) for x in names if os.getxattr(p, x, follow_symlinks=False))
                except OSError: xs = '?'
            own = ' %d:%d' % (st.st_uid, st.st_gid) if owners else ''
            mode = '' if stat.S_ISLNK(st.st_mode) else ' %o' % stat.S_IMODE(st.st_mode)
            out.append('%s%s%s %s [%s]' % (rel, mode, own, what, xs))
    st = os.lstat(root)
    out.insert(0, '. %o%s [root]' % (stat.S_IMODE(st.st_mode), ' %d:%d' % (st.st_uid, st.st_gid) if owners else ''))
    sys.stdout.write('\\n'.join(out))
    """
    let r = try run("python3", ["-c", script, root, owners ? "1" : "0", xattrs ? "1" : "0"])
    guard r.status == 0 else { throw NSError(domain: "manifest", code: Int(r.status), userInfo: [NSLocalizedDescriptionKey: r.stderr]) }
    return r.stdout.split(separator: "\n").map(String.init)
}
