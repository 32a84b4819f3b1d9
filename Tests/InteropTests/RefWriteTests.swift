// Refs are written so that nothing but complete refs ever appears under refs/: a process
// killed while writing one must not leave a file that `ostree refs` or `arbor refs` would list.
// The long torture run found deploys killed mid-write leaving `.tmp-*` files among the deployment
// refs (ostree/0/1/...); this test watches the refs directories with inotify, so it fails
// deterministically when a ref is created in place instead of renamed in from tmp/.
import Foundation
import XCTest
#if canImport(Glibc)
import Glibc
#endif

final class RefWriteTests: XCTestCase {
    /// Watches `dirs` for files created in place (IN_CREATE) and files renamed in (IN_MOVED_TO).
    private final class Watch {
        let fd: Int32
        var dirs: [Int32: String] = [:]
        init(_ paths: [String]) throws {
            fd = inotify_init1(Int32(IN_NONBLOCK | IN_CLOEXEC))
            guard fd >= 0 else { throw XCTSkip("inotify is not available") }
            for p in paths {
                let wd = inotify_add_watch(fd, p, UInt32(IN_CREATE | IN_MOVED_TO))
                guard wd >= 0 else { throw NSError(domain: "inotify", code: Int(errno), userInfo: [NSLocalizedDescriptionKey: "watch \(p)"]) }
                dirs[wd] = p
            }
        }
        deinit { close(fd) }

        /// (created in place, renamed in), as "dir/name".
        func events() -> (created: [String], renamed: [String]) {
            var created: [String] = [], renamed: [String] = []
            var buf = [UInt8](repeating: 0, count: 65536)
            while true {
                let n = buf.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
                if n <= 0 { break }
                var off = 0
                while off + 16 <= n {
                    func u32(_ at: Int) -> UInt32 { buf[at..<at + 4].reversed().reduce(0) { $0 << 8 | UInt32($1) } }
                    let wd = Int32(bitPattern: u32(off)), mask = u32(off + 4), len = Int(u32(off + 12))
                    let raw = buf[(off + 16)..<min(n, off + 16 + len)]
                    let name = String(decoding: raw.prefix { $0 != 0 }, as: UTF8.self)
                    let path = "\(dirs[wd] ?? "?")/\(name)"
                    if mask & UInt32(IN_ISDIR) == 0 {
                        if mask & UInt32(IN_CREATE) != 0 { created.append(path) }
                        if mask & UInt32(IN_MOVED_TO) != 0 { renamed.append(path) }
                    }
                    off += 16 + len
                }
            }
            return (created, renamed)
        }
    }

    func testRefsAreRenamedInFromTmpNeverCreatedInPlace() throws {
        let base = try scratchDirectory(self, "arbor-refwrite")
        let repo = "\(base)/repo"
        let tree = packageRoot.appendingPathComponent("trees/demo-1.0").path
        try arborOK("init", "--repo=\(repo)", "--mode=bare")
        try arborOK("commit", "--repo=\(repo)", "-b", "os/x86_64/stable", "--timestamp=1700000000", tree)
        let heads = "\(repo)/refs/heads"
        let watch = try Watch([heads, "\(heads)/os", "\(heads)/os/x86_64"])

        // A new ref, a moved ref (commit on top), and a ref created by copying another.
        try arborOK("commit", "--repo=\(repo)", "-b", "os/x86_64/stable", "--timestamp=1700000100", tree)
        try arborOK("refs", "--repo=\(repo)", "--create=os/x86_64/testing", "os/x86_64/stable")
        try arborOK("commit", "--repo=\(repo)", "-b", "top", "--timestamp=1700000200", tree)

        let (created, renamed) = watch.events()
        XCTAssertEqual(created, [], "files were created in place among the refs: a kill at that moment leaves them behind")
        XCTAssertEqual(Set(renamed), ["\(heads)/os/x86_64/stable", "\(heads)/os/x86_64/testing", "\(heads)/top"])
        let listed = try arborOK("refs", "--repo=\(repo)").split(separator: "\n").map(String.init).sorted()
        XCTAssertEqual(listed, ["os/x86_64/stable", "os/x86_64/testing", "top"])
        let ostreeRefs = try ostreeOK("refs", "--repo=\(repo)").split(separator: "\n").map(String.init).sorted()
        XCTAssertEqual(ostreeRefs, listed)
    }
}
