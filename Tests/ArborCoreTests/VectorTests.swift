// VectorTests.swift - ArborCore's object encodings against the bytes ostree 2022.7 wrote
// (Tests/Fixtures/hexdumps and expected.txt), without the CLI.
import Foundation
import XCTest
@testable import ArborCore

private let fixtures = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
    .appendingPathComponent("Fixtures")

/// The bytes of the first `hexdump -C` section of a fixture (comment lines start a new section).
private func hexdump(_ name: String, section: Int = 0) throws -> [UInt8] {
    let dir = fixtures.appendingPathComponent("hexdumps")
    let files = try FileManager.default.contentsOfDirectory(atPath: dir.path).filter { $0.hasPrefix(name) }
    guard let file = files.first, files.count == 1 else {
        throw XCTSkip("no unique hexdump named \(name)*: \(files)")
    }
    let text = try String(contentsOf: dir.appendingPathComponent(file), encoding: .utf8)
    var sections: [[UInt8]] = [[]]
    var sawData = false
    for line in text.split(separator: "\n") {
        if line.hasPrefix("#") {
            if sawData { sections.append([]); sawData = false }
            continue
        }
        // "00000010  xx xx ... |ascii|": the hex columns end at the first "|".
        let hexPart = line.split(separator: "|", maxSplits: 1, omittingEmptySubsequences: false)[0]
        let fields = hexPart.split(separator: " ")
        guard fields.count > 1 else { continue }  // the final offset line
        for f in fields.dropFirst() {
            guard let b = UInt8(f, radix: 16) else { throw NSError(domain: "hexdump", code: 1) }
            sections[sections.count - 1].append(b)
        }
        sawData = true
    }
    return sections[section]
}

/// The checksum a hexdump's file name carries.
private func checksumInName(_ name: String) throws -> String {
    let files = try FileManager.default.contentsOfDirectory(atPath: fixtures.appendingPathComponent("hexdumps").path)
        .filter { $0.hasPrefix(name) }
    guard let f = files.first else { return "" }
    let parts = f.split(separator: ".")
    return String(parts[parts.count - 2])
}

private func bytes(_ s: String) -> [UInt8] { Array(s.utf8) }
private func xattr(_ n: String, _ v: String) -> Xattr { Xattr(name: bytes(n), value: bytes(v)) }

/// The sample tree's files: metadata and content.
private let sampleFiles: [String: (FileMeta, [UInt8])] = [
    "empty": (FileMeta(uid: 0, gid: 0, mode: 0o100644), []),
    "hello.txt": (FileMeta(uid: 0, gid: 0, mode: 0o100644), bytes("Hello, OSTree!\n")),
    "link": (FileMeta(uid: 0, gid: 0, mode: 0o120777, symlinkTarget: "hello.txt"), []),
    "xattr.txt": (FileMeta(uid: 0, gid: 0, mode: 0o100644, xattrs: [xattr("user.zeta", "last"), xattr("user.alpha", "first")]),
                  bytes("has xattrs\n")),
]

final class VectorTests: XCTestCase {
    /// The `ostree ls -R -C` listing of the bare repo in expected.txt: path -> checksum(s).
    private func expectedListing() throws -> [String: [String]] {
        let text = try String(contentsOf: fixtures.appendingPathComponent("expected.txt"), encoding: .utf8)
        var inBlock = false
        var out: [String: [String]] = [:]
        for line in text.split(separator: "\n") {
            if line.hasPrefix("#") { inBlock = line.contains("(repo-bare)"); continue }
            guard inBlock else { continue }
            let f = line.split(separator: " ")
            let sums = f.filter { $0.count == 64 }.map(String.init)
            guard let pathIndex = f.firstIndex(where: { $0.hasPrefix("/") }) else { continue }
            out[String(f[pathIndex])] = sums
        }
        return out
    }

    func testCanonicalFileHeaders() throws {
        for name in ["empty", "hello.txt", "link", "xattr.txt"] {
            let want = try hexdump("file-header.\(name).")
            let (meta, content) = sampleFiles[name]!
            XCTAssertEqual(meta.canonicalHeader(), want, "canonical header of \(name)")
            let payload = meta.isSymlink ? [] : content
            XCTAssertEqual(SHA256Hasher.hash(meta.canonicalHeader() + payload).hex, try checksumInName("file-header.\(name)."),
                           "content checksum of \(name)")
            // The header parses back.
            let parsed = try FileMeta.parseCanonical(Array(want.dropFirst(8)), object: name)
            XCTAssertEqual(parsed, meta)
        }
    }

    func testXattrsAreSortedAndEmptyValuesDropped() {
        let a = FileMeta(uid: 0, gid: 0, mode: 0o100644, xattrs: [xattr("user.b", "2"), xattr("user.a", "1"), xattr("user.empty", "")])
        XCTAssertEqual(a.xattrs.map(\.nameString), ["user.a", "user.b"])
        let b = FileMeta(uid: 0, gid: 0, mode: 0o100644, xattrs: [xattr("user.a", "1"), xattr("user.b", "2")])
        XCTAssertEqual(a.canonicalHeader(), b.canonicalHeader())
    }

    func testArchiveHeaders() throws {
        for name in ["empty", "hello.txt", "link", "xattr.txt"] {
            let filez = try hexdump("archive-filez.\(name).")
            let len = Int(filez[0]) << 24 | Int(filez[1]) << 16 | Int(filez[2]) << 8 | Int(filez[3])
            let want = Array(filez[0..<(8 + len)])
            let (meta, content) = sampleFiles[name]!
            let size = UInt64(meta.isSymlink ? 0 : content.count)
            XCTAssertEqual(meta.archiveHeader(size: size), want, "archive header of \(name)")
            let (parsed, parsedSize, start) = try FileMeta.parseArchiveHeader(filez, object: name)
            XCTAssertEqual(parsed, meta)
            XCTAssertEqual(parsedSize, size)
            XCTAssertEqual(start, 8 + len)
        }
    }

    func testDirMetaChecksums() throws {
        let root = DirMeta(uid: 0, gid: 0, mode: 0o40755)
        XCTAssertEqual(root.serialize(), try hexdump("root.dirmeta."))
        XCTAssertEqual(SHA256Hasher.hash(root.serialize()).hex, "446a0ef11b7cc167f3b603e585c7eeeeb675faa412d5ec73f62988eb0b6c5488")
        let sub = DirMeta(uid: 0, gid: 0, mode: 0o40700)
        XCTAssertEqual(sub.serialize(), try hexdump("sub-dir.dirmeta."))
        XCTAssertEqual(SHA256Hasher.hash(sub.serialize()).hex, "84641b0a39d8c873690da8f32aea21cf5d6fff354f85e045f6f5ecdc8e7758d0")
        XCTAssertEqual(try DirMeta.parse(root.serialize(), name: "root"), root)
        XCTAssertThrowsError(try DirMeta.parse(DirMeta(uid: 0, gid: 0, mode: 0o100644).serialize(), name: "bad"))
    }

    private let commitChecksum = "924353b2d392dbe1a6f0515623b063fc4e5b2c5f9558b9b61400c9873aaf0454"

    private func sampleCommit() -> CommitObject {
        CommitObject(metadata: [("version", .string("1.0")), ("ostree.ref-binding", .array(element: .string, [.string("sample/main")]))],
                     parent: nil, subject: "Sample", body: "Body", timestamp: 1_704_067_200,
                     rootTree: Checksum(hex: "1289bf6e94d507e4951c408e60fc98e67bce42282df62b6894f88ed429724601")!,
                     rootMeta: Checksum(hex: "446a0ef11b7cc167f3b603e585c7eeeeb675faa412d5ec73f62988eb0b6c5488")!)
    }

    func testCommitSerialisesToTheFixture() throws {
        let want = try hexdump("commit.")
        let c = sampleCommit()
        XCTAssertEqual(c.bytes, want)
        XCTAssertEqual(c.checksum.hex, commitChecksum)
        XCTAssertEqual(c.contentChecksum.hex, "e564e81a70a9de608998cb1988171a1af339cecfc4d000039f739f62afb20caa")
        XCTAssertEqual(c.version, "1.0")
    }

    func testCommitParseRoundTrip() throws {
        let bytes = try hexdump("commit.")
        let c = try CommitObject.parse(bytes, name: "commit")
        XCTAssertEqual(c.bytes, bytes)
        XCTAssertEqual(c.checksum.hex, commitChecksum)
        XCTAssertNil(c.parent)
        XCTAssertEqual(c.subject, "Sample")
        XCTAssertEqual(c.body, "Body")
        XCTAssertEqual(c.timestamp, 1_704_067_200)
        XCTAssertEqual(c.rootTree.hex, "1289bf6e94d507e4951c408e60fc98e67bce42282df62b6894f88ed429724601")
        XCTAssertEqual(c.rootMeta.hex, "446a0ef11b7cc167f3b603e585c7eeeeb675faa412d5ec73f62988eb0b6c5488")
        XCTAssertEqual(c.metadataEntries.map(\.key), ["version", "ostree.ref-binding"])
        XCTAssertEqual(c.metadataEntries.first?.value, .string("1.0"))
        XCTAssertEqual(c, sampleCommit())
    }

    func testCommitSingleByteFlipsAreDetected() throws {
        let bytes = try hexdump("commit.")
        let original = try CommitObject.parse(bytes, name: "commit")
        for i in bytes.indices {
            for mask: UInt8 in [0x01, 0x80, 0xff] {
                var b = bytes
                b[i] ^= mask
                do {
                    let c = try CommitObject.parse(b, name: "flipped")
                    XCTAssertNotEqual(c.checksum, original.checksum, "byte \(i) ^ \(mask)")
                    XCTAssertNotEqual(c.checksum.hex, commitChecksum)
                    XCTAssertEqual(c.bytes, b, "a parsed commit keeps its exact bytes")
                } catch {
                    // Rejected: fine.
                }
            }
        }
        // Truncations never parse into the same commit.
        for n in 0..<bytes.count {
            if let c = try? CommitObject.parse(Array(bytes[0..<n]), name: "truncated") {
                XCTAssertNotEqual(c.checksum.hex, commitChecksum)
            }
        }
    }

    func testRootDirTreeMatchesTheListing() throws {
        let bytes = try hexdump("root.dirtree.")
        XCTAssertEqual(SHA256Hasher.hash(bytes).hex, "1289bf6e94d507e4951c408e60fc98e67bce42282df62b6894f88ed429724601")
        let tree = try DirTree.parse(bytes, name: "root")
        let listing = try expectedListing()
        XCTAssertEqual(tree.files.map(\.name), ["empty", "hello.txt", "link", "run.sh", "secret", "shared.txt", "xattr.txt"])
        for f in tree.files {
            XCTAssertEqual([f.checksum.hex], listing["/\(f.name)"], f.name)
        }
        XCTAssertEqual(tree.dirs.map(\.name), ["sub"])
        XCTAssertEqual([tree.dirs[0].tree.hex, tree.dirs[0].meta.hex], listing["/sub"])
        XCTAssertEqual(tree.serialize(), bytes)
        XCTAssertEqual(DirTree(files: tree.files.reversed(), dirs: tree.dirs).serialize(), bytes, "entries are sorted on creation")

        let sub = try hexdump("sub-dir.dirtree.")
        let subTree = try DirTree.parse(sub, name: "sub/dir")
        XCTAssertEqual(subTree.files.map(\.name), ["nested.txt", "uplink"])
        XCTAssertEqual(subTree.files.map { $0.checksum.hex }, [listing["/sub/dir/nested.txt"]?.first, listing["/sub/dir/uplink"]?.first])
        XCTAssertTrue(subTree.dirs.isEmpty)
        XCTAssertEqual(SHA256Hasher.hash(sub).hex, "4661eef844202f2f8b6f9a20f40a0fd6739dda61d45a77747e9921e760621b64")
        XCTAssertEqual(listing["/sub/dir"]?.first, "4661eef844202f2f8b6f9a20f40a0fd6739dda61d45a77747e9921e760621b64")
    }

    func testChecksumHexRoundTrip() {
        let s = "924353b2d392dbe1a6f0515623b063fc4e5b2c5f9558b9b61400c9873aaf0454"
        let c = Checksum(hex: s)!
        XCTAssertEqual(c.hex, s)
        XCTAssertEqual(c.description, s)
        XCTAssertEqual(Checksum(hex: s.uppercased()), c)
        XCTAssertEqual(Checksum(bytes: c.bytes), c)
        XCTAssertEqual(c.bytes.count, 32)
        XCTAssertEqual(c.bytes.first, 0x92)
        XCTAssertEqual(c.bytes.last, 0x54)
        XCTAssertNil(Checksum(hex: String(s.dropLast())))
        XCTAssertNil(Checksum(hex: s + "0"))
        XCTAssertNil(Checksum(hex: "g" + s.dropFirst()))
        XCTAssertNil(Checksum(bytes: [UInt8](repeating: 0, count: 31)))
        XCTAssertTrue(isChecksumString(s))
        XCTAssertFalse(isChecksumString(s.uppercased()))
        let all = (0..<32).map { UInt8($0 * 8) }
        XCTAssertEqual(Checksum(bytes: all)?.bytes, all)
        XCTAssertEqual(SHA256Hasher.hash([0]), Checksum.emptyDirTree)
    }

    func testParseTimestamp() {
        XCTAssertEqual(parseTimestamp("2024-01-01T00:00:00Z"), 1_704_067_200)
        XCTAssertEqual(parseTimestamp("2024-01-01T02:00:00+02:00"), 1_704_067_200)
        XCTAssertEqual(parseTimestamp("2023-12-31T22:00:00-02:00"), 1_704_067_200)
        XCTAssertEqual(parseTimestamp("2024-01-01 00:00:00+00:00"), 1_704_067_200)
        XCTAssertEqual(parseTimestamp("2024-01-01"), 1_704_067_200)
        XCTAssertEqual(parseTimestamp("1704067200"), 1_704_067_200)
        XCTAssertEqual(parseTimestamp("@123"), 123)
        XCTAssertEqual(parseTimestamp("0"), 0)
        XCTAssertEqual(parseTimestamp("2000-02-29T12:34:56Z"), 951_827_696)
        XCTAssertEqual(parseTimestamp("1970-01-01T00:00:00Z"), 0)
        XCTAssertNil(parseTimestamp("yesterday"))
        XCTAssertNil(parseTimestamp("2024-13-01"))
        XCTAssertNil(parseTimestamp("2024-01-01T25:00:00Z"))
        XCTAssertNil(parseTimestamp(""))
    }
}
