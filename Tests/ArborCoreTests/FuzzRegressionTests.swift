// FuzzRegressionTests.swift - inputs found by the libFuzzer targets in scripts/fuzz/ (see
// scripts/fuzz.sh), fed to the same APIs the targets call. Every fixed finding is here, and so
// are inputs that stress the parsers (deep nesting, huge framing offsets, compression bombs,
// hostile archive members) and must be refused with a clean error rather than a crash.
//
// Files under Tests/Fixtures/fuzz/TARGET/ are replayed too: a name starting with `reject-` must
// throw, `accept-` must parse.

import XCTest
@testable import ArborCore
import ArborDeploy
#if canImport(Glibc)
import Glibc
#endif

private let fuzzFixtures = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
    .appendingPathComponent("Fixtures").appendingPathComponent("fuzz")

/// The files of Tests/Fixtures/fuzz/TARGET/, sorted by name.
private func fixtures(_ target: String) throws -> [(name: String, bytes: [UInt8])] {
    let dir = fuzzFixtures.appendingPathComponent(target)
    let names = try FileManager.default.contentsOfDirectory(atPath: dir.path).sorted()
    return try names.map { ($0, [UInt8](try Data(contentsOf: dir.appendingPathComponent($0)))) }
}

/// Whitespace-separated hex byte pairs.
private func hex(_ s: String) -> [UInt8] {
    s.split(whereSeparator: { $0 == " " || $0 == "\n" }).map { UInt8($0, radix: 16)! }
}

/// A scratch directory removed by the caller.
private func scratchDirectory() throws -> String {
    var template = Array((NSTemporaryDirectory() + "/arbor-fuzzreg-XXXXXX").utf8CString)
    guard let p = template.withUnsafeMutableBufferPointer({ mkdtemp($0.baseAddress!) }) else {
        throw ArborError.errno("mkdtemp", NSTemporaryDirectory())
    }
    return String(cString: p)
}

/// One ustar member (header plus padded data), for hand-made hostile archives.
private func ustar(_ name: String, type: Character = "0", data: [UInt8] = [], link: String = "", mode: Int = 0o644) -> [UInt8] {
    var h = [UInt8](repeating: 0, count: 512)
    func put(_ s: [UInt8], _ at: Int) { for (i, b) in s.enumerated() { h[at + i] = b } }
    func octal(_ v: Int, _ width: Int) -> [UInt8] {
        let s = String(v, radix: 8)
        return Array((String(repeating: "0", count: width - 1 - s.count) + s).utf8) + [0]
    }
    put(Array(name.utf8), 0)
    put(octal(mode, 8), 100)
    put(octal(0, 8), 108)
    put(octal(0, 8), 116)
    put(octal(data.count, 12), 124)
    put(octal(0, 12), 136)
    put(Array("        ".utf8), 148)
    h[156] = type.asciiValue!
    put(Array(link.utf8), 157)
    put(Array("ustar\u{0}00".utf8), 257)
    let sum = h.reduce(0) { $0 + Int($1) }
    put(octal(sum, 7) + [UInt8(ascii: " ")], 148)
    let padded = data + [UInt8](repeating: 0, count: (512 - data.count % 512) % 512)
    return h + padded
}

/// A raw deflate stream of `input`, as a .filez payload.
private func rawDeflate(_ input: [UInt8]) throws -> [UInt8] {
    var out: [UInt8] = []
    try input.withUnsafeBytes { try FastDeflater(level: 6).compress($0) { out = Array($0) } }
    return out
}

/// The end-of-archive marker.
private let tarEnd = [UInt8](repeating: 0, count: 1024)

final class FuzzRegressionTests: XCTestCase {

    // MARK: Fixed findings

    /// fuzz_config: a CRLF config file was one single line ("\r\n" is one Character), so
    /// `[core]` and every key were invisible and the repository would not open.
    func testConfigWithCRLFLineEnds() {
        let c = RepoConfig(text: "[core]\r\nrepo_version=1\r\nmode=bare\r\n")
        XCTAssertEqual(c.sections, ["core"])
        XCTAssertEqual(c.value("core", "repo_version"), "1")
        XCTAssertEqual(c.value("core", "mode"), "bare")
        XCTAssertEqual(RepoConfig(text: c.text), c)
        var edited = c
        edited.set("core", "fsync", "false")
        XCTAssertEqual(edited.value("core", "fsync"), "false")
        XCTAssertEqual(edited.value("core", "mode"), "bare")
    }

    /// fuzz_config's crashing input: a text ending in a lone "\r" gained a line when written back.
    func testConfigRoundTripWithTrailingCR() {
        let input = hex("5b 63 6f 72 5d 0d 0a de 65 70 6f 6b 5f 76 5b 63 6f 72 65 5d 65 0d")
        let c = RepoConfig(text: String(decoding: input, as: UTF8.self))
        XCTAssertEqual(RepoConfig(text: c.text), c)
        XCTAssertEqual(RepoConfig(text: "a\r").text, "a\r\n")
        XCTAssertEqual(RepoConfig(text: RepoConfig(text: "a\r").text), RepoConfig(text: "a\r"))
    }

    /// fuzz_origin's crashing input: a tab or "=" followed by a combining mark (U+030B) is one
    /// Character, so trimming and splitting by Character kept the tab and missed the "=", and the
    /// origin read back differently from what was written.
    func testOriginWithCombiningMarksRoundTrips() {
        let input = hex("5b 6f 72 69 67 69 6e 5d 0a 72 65 65 cc 8b 6e 63 3d 6f 5b 5d 32 0d 0a 72 73 62 70 65 3d 74 69 6e "
            + "5d 0a 65 3d 09 cc 8b 6e 63 3d 6f 5b 5d 32 0d 0a 72 73 62 70 65 3d 74 69 6e 5d 0a 65 3d 09 09 09 "
            + "74 6e 0d 0a 72 65 09 09 74 6e 0d 0a 72 65 70 3d 63 74 6e 6e 70 73 73 63 70 0a 72 65 66 63 70 65 "
            + "3d 74 6e 6e 6c 0a 0d 3d 6f 5b 5d 0d 0a 72 73 62 70 65 3d 74 6e 09 09 09 0d 0a 72 65 66 63 70 65 "
            + "3d 74 6e 6e 65 70 65 3d 74 65 6e")
        let o = Origin(text: String(decoding: input, as: UTF8.self))
        XCTAssertEqual(Origin(text: o.text), o)
        let tricky = Origin(text: "[origin]\nrefspec=\t\u{30B}os/stable\n[g\u{30B}]\nk=\u{30B}v\n")
        XCTAssertEqual(tricky.refspec, "\u{30B}os/stable", "the tab before a combining mark is trimmed")
        XCTAssertEqual(tricky.value("g\u{30B}", "k"), "\u{30B}v", "\"=\" before a combining mark splits the line")
        XCTAssertEqual(Origin(text: tricky.text), tricky)
    }

    /// The same trap in the repository config parser.
    func testConfigWithCombiningMarks() {
        let c = RepoConfig(text: "[core]\nmode=\u{30B}bare\n[remote \"x\u{30B}\"]\u{30B}\nurl=\t\u{30B}http://h/\n")
        XCTAssertEqual(c.value("core", "mode"), "\u{30B}bare")
        XCTAssertEqual(c.value("remote \"x\u{30B}\"", "url"), nil, "a line that does not end in \"]\" is no section")
        XCTAssertEqual(RepoConfig(text: c.text), c)
        XCTAssertEqual("\t\u{30B}x \r".trimmingSpaces, "\u{30B}x")
    }

    // MARK: Interesting inputs that must fail cleanly

    /// A variant nested far deeper than the depth limit (each level a `v` in a `v`).
    func testDeeplyNestedVariantsThrow() {
        var value: [UInt8] = [0x01, 0x00, UInt8(ascii: "y")]   // <byte 1>
        for _ in 0..<300 { value += [0x00, UInt8(ascii: "v")] }
        XCTAssertThrowsError(try GVariant.parse(value, as: .variant)) { error in
            XCTAssertEqual(error as? GVariantError, .depthExceeded)
        }
        // A type string nested past the limit inside one variant.
        let deepType = [UInt8](repeating: UInt8(ascii: "a"), count: 200) + [UInt8(ascii: "y")]
        XCTAssertThrowsError(try GVariant.parse([0x00] + deepType, as: .variant))
        // An a{sv} whose values nest variants 100 deep is refused inside a commit too.
        var inner: [UInt8] = [0x01, 0x00, UInt8(ascii: "y")]
        for _ in 0..<100 { inner += [0x00, UInt8(ascii: "v")] }
        XCTAssertThrowsError(try CommitObject.parse(inner, name: "deep.commit"))
    }

    /// Doubles whose bits are a NaN decode, and re-serialise to the same bytes.
    func testNaNDoublesRoundTripAsBytes() throws {
        let nan: [UInt8] = [0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0xf8, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f]
        let v = try GVariant.parse(nan, as: try GVariantType("ad"))
        XCTAssertEqual(v.serialize(), nan)
        XCTAssertTrue(GVariant.isNormal(nan, as: try GVariantType("ad")))
    }

    /// Framing offsets pointing far outside the container, in every width.
    func testHugeFramingOffsetsThrow() {
        let dirtreeType = DirTree.type
        XCTAssertThrowsError(try DirTree.parse([0x61, 0x00, 0xff, 0xff], name: "x.dirtree"))
        XCTAssertThrowsError(try GVariant.parse([UInt8](repeating: 0xff, count: 300), as: dirtreeType))
        XCTAssertThrowsError(try GVariant.parse([UInt8](repeating: 0xff, count: 70_000), as: dirtreeType))
        XCTAssertThrowsError(try Summary.parse([UInt8](repeating: 0xff, count: 5000)))
        XCTAssertThrowsError(try Summary.parse([]))
        XCTAssertThrowsError(try DirMeta.parse([UInt8](repeating: 0, count: 12), name: "x.dirmeta"))  // mode 0
    }

    /// .filez headers: lengths past the end, bad padding, payload after a symlink, bombs.
    func testArchiveObjectHeadersThrow() throws {
        XCTAssertThrowsError(try FileMeta.parseArchiveHeader([0, 0, 0], object: "x"))
        XCTAssertThrowsError(try FileMeta.parseArchiveHeader([0xff, 0xff, 0xff, 0xff, 0, 0, 0, 0], object: "x"))
        XCTAssertThrowsError(try FileMeta.parseArchiveHeader([0, 0, 0, 0, 1, 0, 0, 0], object: "x"))
        XCTAssertThrowsError(try decodeArchiveObject([0, 0, 0, 0, 0, 0, 0, 0], name: "x"))

        // A regular empty file's header from ostree, then payloads that lie about the size.
        let meta = FileMeta(uid: 0, gid: 0, mode: 0o100644)
        let header10 = meta.archiveHeader(size: 10)
        let bomb = try rawDeflate([UInt8](repeating: 0, count: 4 << 20))
        XCTAssertThrowsError(try decodeArchiveObject(header10 + bomb, name: "bomb.filez")) { e in
            XCTAssertTrue("\(e)".contains("longer"), "\(e)")
        }
        let short = try rawDeflate([UInt8](repeating: 1, count: 4))
        XCTAssertThrowsError(try decodeArchiveObject(header10 + short, name: "short.filez"))
        let ten = try rawDeflate([UInt8](repeating: 1, count: 10))
        XCTAssertThrowsError(try decodeArchiveObject(header10 + Array(ten.dropLast(2)), name: "cut.filez"))
        XCTAssertThrowsError(try decodeArchiveObject(header10 + ten + [0], name: "trailing.filez"))
        XCTAssertNoThrow(try decodeArchiveObject(header10 + ten, name: "ok.filez"))

        let link = FileMeta(uid: 0, gid: 0, mode: 0o120777, symlinkTarget: "hello.txt")
        XCTAssertThrowsError(try decodeArchiveObject(link.archiveHeader(size: 0) + [0x03, 0x00], name: "link.filez"))
    }

    /// The fuzz target's first report (a harness assumption, not a bug): a symlink's .filez may
    /// carry a non-zero size, which ostree ignores as well; it decodes to the same object.
    func testSymlinkArchiveHeaderSizeIsIgnored() throws {
        let input = hex("""
            00 00 00 23 00 00 00 00 00 00 00 00 3b 00 00 00 00 00 00 00 00 00 00 00 00 00 a1 ff 00 00 00 00
            68 65 6c 6c 6f 2e 74 78 74 00 22
            """)
        let (meta, _, checksum) = try decodeArchiveObject(input, name: "link.filez")
        XCTAssertTrue(meta.isSymlink)
        XCTAssertEqual(checksum.hex, "f66efa496a72379413c44593de510dc344beb045294f1a543da87b2b6118db35")
    }

    // MARK: Replayed fixture files

    func testReplayGVariantInputs() throws {
        for (name, bytes) in try fixtures("gvariant") {
            let outcome: Result<Void, Error>
            if name.contains("commit") {
                outcome = Result { _ = try CommitObject.parse(bytes, name: name) }
            } else if name.contains("dirtree") {
                outcome = Result { _ = try DirTree.parse(bytes, name: name) }
            } else if name.contains("dirmeta") {
                outcome = Result { _ = try DirMeta.parse(bytes, name: name) }
            } else if name.contains("summary") {
                outcome = Result { _ = try Summary.parse(bytes) }
            } else if name.contains("filez") {
                outcome = Result { _ = try decodeArchiveObject(bytes, name: name) }
            } else {
                XCTFail("\(name): which parser?")
                continue
            }
            check(name, outcome)
        }
    }

    func testReplayTarInputs() throws {
        for (name, bytes) in try fixtures("tar") {
            check(name, Result { _ = try importTarball(bytes, name: name) })
        }
    }

    private func check(_ name: String, _ outcome: Result<Void, Error>) {
        switch outcome {
        case .success:
            XCTAssertFalse(name.hasPrefix("reject-"), "\(name) was accepted")
        case .failure(let e):
            XCTAssertFalse(name.hasPrefix("accept-"), "\(name) was refused: \(e)")
            XCTAssertTrue(e is ArborError || e is GVariantError, "\(name): unexpected error type \(e)")
        }
    }

    // MARK: Tarballs

    /// Layers `bytes` as a tarball into an aborted transaction on a scratch archive repository.
    @discardableResult
    private func importTarball(_ bytes: [UInt8], name: String = "input.tar", options: TarOptions = TarOptions()) throws -> Checksum {
        let dir = try scratchDirectory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let repo = try Repository.create(path: dir + "/repo", mode: .archive)
        let path = dir + "/" + name
        try Data(bytes).write(to: URL(fileURLWithPath: path))
        let txn = try Transaction(repo)
        defer { txn.abort() }
        let builder = CommitBuilder(transaction: txn, options: TreeOptions())
        try builder.addTarball(path: path, options: options)
        return try builder.finish().tree
    }

    func testHostileTarMembersThrow() throws {
        let root = ustar("./", type: "5", mode: 0o755)
        let file = ustar("./a", data: Array("x".utf8))
        XCTAssertNoThrow(try importTarball(root + file + tarEnd))

        let cases: [(String, [UInt8])] = [
            ("dot-dot", root + ustar("../evil", data: [1]) + tarEnd),
            ("dot-dot inside", root + ustar("a/../../evil", data: [1]) + tarEnd),
            ("symlink as root", ustar(".", type: "2", link: "x") + tarEnd),
            ("hardlink to a directory", root + ustar("./d/", type: "5") + ustar("./h", type: "1", link: "./d") + tarEnd),
            ("hardlink to nothing", root + ustar("./h", type: "1", link: "./missing") + tarEnd),
            ("hardlink to the root", root + ustar("./h", type: "1", link: "./") + tarEnd),
            ("empty symlink", root + ustar("./l", type: "2") + tarEnd),
            ("missing parent", root + ustar("./no/such/file", data: [1]) + tarEnd),
            ("file as a parent", root + file + ustar("./a/b", data: [1]) + tarEnd),
            ("fifo", root + ustar("./p", type: "6") + tarEnd),
            ("no root entry", ustar("a", data: [1]) + tarEnd),
            ("truncated data", Array((root + ustar("./big", data: [UInt8](repeating: 7, count: 4096))).prefix(1024 + 100))),
            ("garbage", [UInt8](repeating: 0x5a, count: 2048)),
            ("empty", []),
        ]
        for (what, bytes) in cases {
            XCTAssertThrowsError(try importTarball(bytes), what) { e in
                XCTAssertTrue(e is ArborError, "\(what): \(e)")
            }
        }
    }

    func testWhiteoutsOfOddNamesAreSafe() throws {
        var tar = TarOptions()
        tar.whiteouts = true
        tar.autocreateParents = true
        let root = ustar("./", type: "5", mode: 0o755)
        XCTAssertThrowsError(try importTarball(root + ustar("./.wh.", data: []) + tarEnd, options: tar))
        XCTAssertThrowsError(try importTarball(root + ustar("./.wh...", data: []) + tarEnd, options: tar))
        // An opaque marker at the root, and a whiteout of something never added: both fine.
        XCTAssertNoThrow(try importTarball(root + ustar("./.wh..wh..opq") + ustar("./x/.wh.y") + tarEnd, options: tar))
        XCTAssertNoThrow(try importTarball(ustar(".wh..wh..opq") + tarEnd, options: tar))
    }

    // MARK: OCI JSON

    /// Writes an OCI layout whose index.json is `index` and whose one blob is `manifest`, and imports it.
    private func importOCI(index: String, manifest: [UInt8]) throws {
        let dir = try scratchDirectory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let layout = dir + "/layout"
        let blobs = layout + "/blobs/sha256"
        try FileManager.default.createDirectory(atPath: blobs, withIntermediateDirectories: true)
        try Data(#"{"imageLayoutVersion":"1.0.0"}"#.utf8).write(to: URL(fileURLWithPath: layout + "/oci-layout"))
        let digest = SHA256Hasher.hash(manifest).hex
        try Data(manifest).write(to: URL(fileURLWithPath: blobs + "/" + digest))
        let text = index.replacingOccurrences(of: "@DIGEST@", with: "sha256:" + digest)
            .replacingOccurrences(of: "@SIZE@", with: String(manifest.count))
        try Data(text.utf8).write(to: URL(fileURLWithPath: layout + "/index.json"))
        let repo = try Repository.create(path: dir + "/repo", mode: .archive)
        let txn = try Transaction(repo)
        defer { txn.abort() }
        let builder = CommitBuilder(transaction: txn, options: TreeOptions())
        _ = try builder.addOCIImage(path: layout, tag: nil, options: TarOptions())
        _ = try builder.finish()
    }

    func testHostileOCIJSONThrows() throws {
        let manifest = Array(#"{"schemaVersion":2,"config":{"digest":"sha256:00","size":2},"layers":[]}"#.utf8)
        let one = #"{"manifests":[{"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"@DIGEST@","size":@SIZE@}]}"#
        let cases: [(String, String, [UInt8])] = [
            ("not JSON", "{", manifest),
            ("wrong types", #"{"manifests":5}"#, manifest),
            ("no manifests", #"{"manifests":[]}"#, manifest),
            ("two untagged manifests", #"{"manifests":[{"digest":"@DIGEST@","size":@SIZE@},{"digest":"@DIGEST@","size":@SIZE@}]}"#, manifest),
            ("path in digest", #"{"manifests":[{"digest":"sha256:../../../../etc/passwd","size":1}]}"#, manifest),
            ("other algorithm", #"{"manifests":[{"digest":"sha512:00","size":1}]}"#, manifest),
            ("negative size", #"{"manifests":[{"digest":"@DIGEST@","size":-1}]}"#, manifest),
            ("size past Int64", #"{"manifests":[{"digest":"@DIGEST@","size":99999999999999999999999}]}"#, manifest),
            ("wrong size", #"{"manifests":[{"digest":"@DIGEST@","size":3}]}"#, manifest),
            ("manifest not JSON", one, Array("[[[[".utf8)),
            ("manifest deeply nested", one, Array((String(repeating: "[", count: 10_000) + String(repeating: "]", count: 10_000)).utf8)),
            ("config missing", one, manifest),
        ]
        for (what, index, m) in cases {
            XCTAssertThrowsError(try importOCI(index: index, manifest: m), what) { e in
                XCTAssertTrue(e is ArborError, "\(what): \(e)")
            }
        }
    }
}
