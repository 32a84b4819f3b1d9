// Fuzz target: tarball import (`commit --tree=tar=`). Each input is written to a scratch file
// and layered with CommitBuilder.addTarball into a transaction on a scratch archive-mode
// repository (created once per process under $TMPDIR, removed at exit); the tree is then
// written and the transaction aborted. libarchive detects the format and compression itself,
// so every format it reads is reachable. The input length picks the TarOptions (bit 0:
// autocreate parents, bit 1: whiteouts, bit 2: skip special files), so one corpus covers all.
// Build and run with scripts/fuzz.sh tar.
#if canImport(Glibc)
import Glibc
#endif
@testable import ArborCore

/// Stops the run with a message (precondition drops its message under -O).
private func check(_ ok: @autoclosure () -> Bool, _ message: @autoclosure () -> String = "invariant broken") {
    if !ok() { fatalError(message()) }
}

private final class Scratch: @unchecked Sendable {
    let dir: String
    let repo: Repository
    let input: String

    init() {
        let base = getenv("TMPDIR").map { String(cString: $0) } ?? "/tmp"
        var template = Array("\(base)/arbor-fuzz-tar-XXXXXX".utf8CString)
        guard let made = template.withUnsafeMutableBufferPointer({ mkdtemp($0.baseAddress!) }) else {
            fatalError("mkdtemp in \(base) failed")
        }
        dir = String(cString: made)
        repo = try! Repository.create(path: dir + "/repo", mode: .archive)
        try! repo.updateConfig { $0.set("core", "fsync", "false") }
        input = dir + "/input"
        atexit { try? removeTree(FileDescriptor.cwd, scratch.dir) }
    }
}

private let scratch = Scratch()

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzOne(_ start: UnsafeRawPointer, _ count: Int) -> CInt {
    let fd = open(scratch.input, O_WRONLY | O_CREAT | O_TRUNC, 0o600)
    check(fd >= 0, "cannot write the scratch input")
    var off = 0
    while off < count {
        let n = write(fd, start + off, count - off)
        check(n > 0, "cannot write the scratch input")
        off += n
    }
    close(fd)

    var tar = TarOptions()
    tar.autocreateParents = count & 1 != 0
    tar.whiteouts = count & 2 != 0
    tar.skipSpecial = count & 4 != 0
    guard let txn = try? Transaction(scratch.repo) else { fatalError("cannot start a transaction") }
    defer { txn.abort() }
    let builder = CommitBuilder(transaction: txn, options: TreeOptions())
    do {
        try builder.addTarball(path: scratch.input, options: tar)
        let (tree, meta) = try builder.finish()
        // What was written must read back: every dirtree parses.
        _ = try txn.loadDirTree(tree)
        _ = meta
    } catch is ArborError {
        // A clean refusal.
    } catch {
        fatalError("unexpected error type: \(error)")
    }
    return 0
}
