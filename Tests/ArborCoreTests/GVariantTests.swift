// GVariantTests.swift - tests for the GVariant encoder/decoder in ArborCore.

import XCTest
@testable import ArborCore

/// Parses whitespace-separated hex byte pairs (test literals only).
private func hex(_ s: String) -> [UInt8] {
    return s.split(whereSeparator: { $0 == " " || $0 == "\n" }).compactMap { UInt8($0, radix: 16) }
}

/// Lower-case hex of bytes.
private func hexString(_ b: [UInt8]) -> String {
    return b.map { ($0 < 16 ? "0" : "") + String($0, radix: 16) }.joined()
}

/// Deterministic PRNG (SplitMix64) for the fuzz-style tests.
private struct SplitMix64: RandomNumberGenerator {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

// Real objects written by ostree 2022.7 (from the spec's vectors/hexdumps).

/// The sample commit 924353b2..., type (a{sv}aya(say)sstayay), 150 bytes.
private let sampleCommit = hex("""
        76 65 72 73 69 6f 6e 00 31 2e 30 00 00 73 08 00 6f 73 74 72 65 65 2e 72 65 66 2d 62 69 6e 64 69
        6e 67 00 00 00 00 00 00 73 61 6d 70 6c 65 2f 6d 61 69 6e 00 0c 00 61 73 13 0f 39 53 61 6d 70 6c
        65 00 42 6f 64 79 00 00 00 00 00 00 65 92 00 80 12 89 bf 6e 94 d5 07 e4 95 1c 40 8e 60 fc 98 e6
        7b ce 42 28 2d f6 2b 68 94 f8 8e d4 29 72 46 01 44 6a 0e f1 1b 7c c1 67 f3 b6 03 e5 85 c7 ee ee
        b6 75 fa a4 12 d5 ec 73 f6 29 88 eb 0b 6c 54 88 70 47 42 3b 3b 3b
""")

/// The sample root dirtree 1289bf6e..., type (a(say)a(sayay)), 374 bytes (2-byte offsets).
private let rootDirtree = hex("""
        65 6d 70 74 79 00 cc 70 0d 46 f4 07 c6 c5 ab 2d 5d de 47 43 66 a9 28 b7 39 82 77 e6 11 62 e7 f8
        ec 06 f4 69 f0 7e 06 68 65 6c 6c 6f 2e 74 78 74 00 d5 4d e4 d5 e8 7b 6e 23 a7 08 88 c1 84 72 82
        79 c0 e3 a0 d9 ed 8d 4b b4 fe 21 51 e0 5f 95 99 e8 0a 6c 69 6e 6b 00 f6 6e fa 49 6a 72 37 94 13
        c4 45 93 de 51 0d c3 44 be b0 45 29 4f 1a 54 3d a8 7b 2b 61 18 db 35 05 72 75 6e 2e 73 68 00 89
        b3 50 d2 78 ff 59 ba 47 80 bc 37 7b 8e bf ee 8a de 6b 55 c9 9f ab 1e c8 4e 13 3b c6 ea 52 c5 07
        73 65 63 72 65 74 00 89 ad 19 c5 6f 66 80 d3 12 03 e4 a3 be 72 54 e9 ce f2 88 e5 9e ee 90 05 cc
        d2 9e 7d 93 a1 ee a6 07 73 68 61 72 65 64 2e 74 78 74 00 84 29 da 0b 02 19 56 70 a6 9b b1 c2 bc
        13 98 9c 49 70 e5 0a 8c 31 72 2d 35 06 5c 6f 1a 9a 96 ef 0b 78 61 74 74 72 2e 74 78 74 00 1f 55
        05 17 3f c2 d7 55 c8 52 aa 07 80 12 8b 5d c4 83 d4 7e 9d 94 e3 1f 59 01 fa 94 30 38 4c ff 0a 27
        00 52 00 78 00 a0 00 c8 00 f4 00 1f 01 73 75 62 00 b5 27 41 ee 0b 36 46 52 13 61 d8 eb c1 68 74
        0a 57 e5 9d ca 12 d0 f5 77 ba 93 1f fe d4 29 b1 e1 44 6a 0e f1 1b 7c c1 67 f3 b6 03 e5 85 c7 ee
        ee b6 75 fa a4 12 d5 ec 73 f6 29 88 eb 0b 6c 54 88 24 04 46 2d 01
""")

/// The sample sub/dir dirtree 4661eef8..., 87 bytes.
private let subDirDirtree = hex("""
        6e 65 73 74 65 64 2e 74 78 74 00 af ac d0 5a ef 96 cb ae 73 f4 d1 02 c7 45 0f 5d 3b 9c a1 ab fa
        bb 21 5c 53 d5 3f 61 29 df 4e e0 0b 75 70 6c 69 6e 6b 00 b0 04 87 18 00 c4 44 fb 93 d3 a0 b4 12
        ce 12 39 fc f8 9f 9e e7 be 6e a4 37 fa 41 fb e7 01 7f c9 07 2c 54 56
""")

/// The sample archive repo's summary, type (a(s(taya{sv}))a{sv}), 306 bytes.
private let sampleSummary = hex("""
        73 61 6d 70 6c 65 2f 6d 61 69 6e 00 00 00 00 00 96 00 00 00 00 00 00 00 92 43 53 b2 d3 92 db e1
        a6 f0 51 56 23 b0 63 fc 4e 5b 2c 5f 95 58 b9 b6 14 00 c9 87 3a af 04 54 6f 73 74 72 65 65 2e 63
        6f 6d 6d 69 74 2e 76 65 72 73 69 6f 6e 00 00 00 31 2e 30 00 00 73 16 00 6f 73 74 72 65 65 2e 63
        6f 6d 6d 69 74 2e 74 69 6d 65 73 74 61 6d 70 00 00 00 00 00 65 92 00 80 00 74 18 1f 43 28 0c 7f
        6f 73 74 72 65 65 2e 73 75 6d 6d 61 72 79 2e 6d 6f 64 65 00 00 00 00 00 61 72 63 68 69 76 65 2d
        7a 32 00 00 73 14 00 00 6f 73 74 72 65 65 2e 73 75 6d 6d 61 72 79 2e 6c 61 73 74 2d 6d 6f 64 69
        66 69 65 64 00 00 00 00 00 00 00 00 6b 0c 42 21 00 74 1d 00 00 00 00 00 6f 73 74 72 65 65 2e 73
        75 6d 6d 61 72 79 2e 74 6f 6d 62 73 74 6f 6e 65 2d 63 6f 6d 6d 69 74 73 00 00 00 00 00 00 00 00
        00 00 62 21 00 00 00 00 6f 73 74 72 65 65 2e 73 75 6d 6d 61 72 79 2e 69 6e 64 65 78 65 64 2d 64
        65 6c 74 61 73 00 00 00 01 00 62 1e 26 53 84 ac 80 00
""")

/// bare-user `user.ostreemeta` of xattr.txt, type (uuua(ayay)), 46 bytes.
private let bareUserXattrMeta = hex("""
        00 00 00 00 00 00 00 00 00 00 81 a4 75 73 65 72 2e 61 6c 70 68 61 00 66 69 72 73 74 0b 75 73 65
        72 2e 7a 65 74 61 00 6c 61 73 74 0a 11 20
""")

private let commitType = "(a{sv}aya(say)sstayay)"
private let dirtreeType = "(a(say)a(sayay))"
private let dirmetaType = "(uuua(ayay))"
private let summaryType = "(a(s(taya{sv}))a{sv})"

final class GVariantTests: XCTestCase {

    private func t(_ s: String) throws -> GVariantType {
        return try GVariantType(s)
    }

    private func assertRoundTrip(_ value: GVariant, _ typeString: String, _ expected: [UInt8],
                                 file: StaticString = #filePath, line: UInt = #line) throws {
        let type = try GVariantType(typeString)
        XCTAssertEqual(value.type, type, "type of value", file: file, line: line)
        XCTAssertEqual(hexString(value.serialize()), hexString(expected), "serialize \(typeString)", file: file, line: line)
        let parsed = try GVariant.parse(expected, as: type)
        XCTAssertEqual(parsed, value, "parse \(typeString)", file: file, line: line)
        XCTAssertTrue(GVariant.isNormal(expected, as: type), "isNormal \(typeString)", file: file, line: line)
    }

    // MARK: - Types

    func testTypeStringParsing() throws {
        let good = ["b", "y", "n", "q", "i", "u", "x", "t", "d", "s", "o", "g", "v", "ay", "as", "a{sv}",
                    "()", "(s)", "mv", "mmas", "a(say)", commitType, dirtreeType, dirmetaType, summaryType,
                    "(a{sv}tayay(a{sv}aya(say)sstayay)aya(uayttay)a(yaytt))", "{ys}", "a{sa(s(taya{sv}))}"]
        for s in good {
            let ty = try GVariantType(s)
            XCTAssertEqual(ty.description, s)
        }
        let bad = ["", "a", "m", "(", "(s", "((s)", ")", "}", "ss", "(s))", "{sv", "{s}", "{svs}", "{vs}",
                   "{(s)s}", "{ass}", "h", "z", "r", "*", "?", "a{sv}x", "a\u{0}", "é"]
        for s in bad {
            XCTAssertThrowsError(try GVariantType(s), "type string \(s)")
        }
        XCTAssertEqual(try GVariantType(String(repeating: "a", count: 64) + "y").description.count, 65)
        XCTAssertThrowsError(try GVariantType(String(repeating: "a", count: 65) + "y")) { err in
            XCTAssertEqual(err as? GVariantError, .depthExceeded)
        }
        XCTAssertThrowsError(try GVariantType(String(repeating: "(", count: 10_000))) { err in
            XCTAssertEqual(err as? GVariantError, .depthExceeded)
        }
        XCTAssertEqual(try GVariantType("a{sv}"), .array(.dictEntry(.string, .variant)))
        XCTAssertEqual(try GVariantType(dirtreeType),
                       .tuple([.array(.tuple([.string, .array(.byte)])),
                               .array(.tuple([.string, .array(.byte), .array(.byte)]))]))
    }

    func testTypeAlignmentAndFixedSize() throws {
        let cases: [(String, Int, Int?)] = [
            ("b", 1, 1), ("y", 1, 1), ("n", 2, 2), ("q", 2, 2), ("i", 4, 4), ("u", 4, 4),
            ("x", 8, 8), ("t", 8, 8), ("d", 8, 8), ("s", 1, nil), ("o", 1, nil), ("g", 1, nil),
            ("v", 8, nil), ("ay", 1, nil), ("at", 8, nil), ("mu", 4, nil), ("()", 1, 1),
            ("(iy)", 4, 8), ("(yi)", 4, 8), ("(ty)", 8, 16), ("(yt)", 8, 16), ("{yy}", 1, 2),
            ("{ty}", 8, 16), ("(uuu)", 4, 12), ("(yy(q))", 2, 4), ("(s)", 1, nil), ("(ys)", 1, nil),
            ("(uuua(ayay))", 4, nil), ("a{sv}", 8, nil), ("(()y)", 1, 2),
        ]
        for (s, align, size) in cases {
            let ty = try GVariantType(s)
            XCTAssertEqual(ty.alignment, align, "alignment of \(s)")
            XCTAssertEqual(ty.fixedSize, size, "fixed size of \(s)")
        }
    }

    // MARK: - Worked examples (spec §1.6)

    func testGlibSpecExamples() throws {
        try assertRoundTrip(.tuple([.int16(257), .string("xx"), .int16(514), .string("")]), "(nsns)",
                            hex("01 01 78 78 00 00 02 02 00 05"))
        try assertRoundTrip(.array(element: .string, ["i", "can", "has", "strings?"].map { .string($0) }), "as",
                            hex("69 00 63 61 6e 00 68 61 73 00 73 74 72 69 6e 67 73 3f 00 02 06 0a 13"))
        try assertRoundTrip(.tuple([.int32(96), .byte(0x70)]), "(iy)", hex("60 00 00 00 70 00 00 00"))
        try assertRoundTrip(.dictEntry(.string("a key"), .int32(514)), "{si}",
                            hex("61 20 6b 65 79 00 00 00 02 02 00 00 06"))
        // Corrected listings: the final framing offset is present.
        try assertRoundTrip(.array(element: .tuple([.string, .int32]),
                                   [.tuple([.string("hi"), .int32(-2)]), .tuple([.string("bye"), .int32(-1)])]),
                            "a(si)",
                            hex("68 69 00 00 fe ff ff ff 03 00 00 00 62 79 65 00 ff ff ff ff 04 09 15"))
        try assertRoundTrip(.tuple([.tuple([.byte(0x69), .string("can")]),
                                    .array(element: .string, [.string("has"), .string("strings?")])]),
                            "((ys)as)",
                            hex("69 63 61 6e 00 68 61 73 00 73 74 72 69 6e 67 73 3f 00 04 0d 05"))
        // More glib spec examples.
        try assertRoundTrip(.array(element: .boolean, [.boolean(true), .boolean(false)]), "ab", hex("01 00"))
        try assertRoundTrip(.maybe(.string, .string("hello world")), "ms",
                            hex("68 65 6c 6c 6f 20 77 6f 72 6c 64 00 00"))
        try assertRoundTrip(.maybe(.boolean, .boolean(true)), "mb", hex("01"))
        try assertRoundTrip(.maybe(.boolean, nil), "mb", [])
        try assertRoundTrip(.tuple([.int32(96), .byte(0x70)]).asVariant, "v",
                            hex("60 00 00 00 70 00 00 00 00 28 69 79 29"))
        try assertRoundTrip(.tuple([]), "()", hex("00"))
        try assertRoundTrip(.array(element: .tuple([]), [.tuple([]), .tuple([])]), "a()", hex("00 00"))
        try assertRoundTrip(.tuple([.array(element: .string, [])]), "(as)", [])
    }

    func testEmptyDirtree() throws {
        let empty = GVariant.tuple([.array(element: .tuple([.string, .array(.byte)]), []),
                                    .array(element: .tuple([.string, .array(.byte), .array(.byte)]), [])])
        try assertRoundTrip(empty, dirtreeType, hex("00"))
        XCTAssertThrowsError(try GVariant.parse([], as: try t(dirtreeType)))
    }

    func testDirmeta() throws {
        let dirmeta = GVariant.tuple([.uint32(UInt32(0).bigEndian), .uint32(UInt32(0).bigEndian),
                                      .uint32(UInt32(0o40755).bigEndian),
                                      .array(element: .tuple([.array(.byte), .array(.byte)]), [])])
        try assertRoundTrip(dirmeta, dirmetaType, hex("00 00 00 00 00 00 00 00 00 00 41 ed"))
        let sub = try GVariant.parse(hex("00 00 00 00 00 00 00 00 00 00 41 c0"), as: try t(dirmetaType))
        XCTAssertEqual(sub[2]?.uint32Value.map { UInt32(bigEndian: $0) }, 0o40700)
    }

    func testVardictVersion() throws {
        let v = GVariant.vardict([("version", .string("1.0"))])
        try assertRoundTrip(v, "a{sv}", hex("76 65 72 73 69 6f 6e 00 31 2e 30 00 00 73 08 0f"))
        XCTAssertEqual(v.lookup("version"), .string("1.0"))
        XCTAssertNil(v.lookup("nope"))
        XCTAssertEqual(GVariant.vardict([]).serialize(), [])
    }

    // MARK: - Real objects

    func testSampleCommit() throws {
        XCTAssertEqual(sampleCommit.count, 150)
        let type = try t(commitType)
        let commit = try GVariant.parse(sampleCommit, as: type)
        XCTAssertEqual(commit.type, type)
        let meta = try XCTUnwrap(commit[0])
        XCTAssertEqual(meta.lookup("version")?.stringValue, "1.0")
        XCTAssertEqual(meta.lookup("ostree.ref-binding"),
                       .array(element: .string, [.string("sample/main")]))
        XCTAssertEqual(commit[1]?.bytesValue, [])                // no parent
        XCTAssertEqual(commit[2]?.children?.count, 0)            // no related objects
        XCTAssertEqual(commit[3]?.stringValue, "Sample")
        XCTAssertEqual(commit[4]?.stringValue, "Body")
        XCTAssertEqual(commit[5]?.uint64Value.map { UInt64(bigEndian: $0) }, 1_704_067_200)
        XCTAssertEqual(commit[6]?.bytesValue.map(hexString),
                       "1289bf6e94d507e4951c408e60fc98e67bce42282df62b6894f88ed429724601")
        XCTAssertEqual(commit[7]?.bytesValue.map(hexString),
                       "446a0ef11b7cc167f3b603e585c7eeeeb675faa412d5ec73f62988eb0b6c5488")
        XCTAssertNil(commit[8])
        XCTAssertEqual(commit.serialize(), sampleCommit)
        XCTAssertTrue(GVariant.isNormal(sampleCommit, as: type))

        // Rebuild the commit from scratch: byte-exact.
        let rebuilt = GVariant.tuple([
            .vardict([("version", .string("1.0")),
                      ("ostree.ref-binding", .array(element: .string, [.string("sample/main")]))]),
            .bytes([]),
            .array(element: .tuple([.string, .array(.byte)]), []),
            .string("Sample"), .string("Body"),
            .uint64(UInt64(1_704_067_200).bigEndian),
            .bytes(hex("12 89 bf 6e 94 d5 07 e4 95 1c 40 8e 60 fc 98 e6 7b ce 42 28 2d f6 2b 68 94 f8 8e d4 29 72 46 01")),
            .bytes(hex("44 6a 0e f1 1b 7c c1 67 f3 b6 03 e5 85 c7 ee ee b6 75 fa a4 12 d5 ec 73 f6 29 88 eb 0b 6c 54 88")),
        ])
        XCTAssertEqual(rebuilt, commit)
        XCTAssertEqual(rebuilt.serialize(), sampleCommit)

        // serialize(into:) appends, laying out as if at offset 0.
        var out: [UInt8] = [0xAA, 0xBB, 0xCC]
        rebuilt.serialize(into: &out)
        XCTAssertEqual(Array(out.dropFirst(3)), sampleCommit)

        // The unsafe-buffer entry point gives the same value.
        let viaBuffer = try sampleCommit.withUnsafeBytes { try GVariant.parse($0, as: type) }
        XCTAssertEqual(viaBuffer, commit)
    }

    func testRootDirtree() throws {
        XCTAssertEqual(rootDirtree.count, 374)
        let type = try t(dirtreeType)
        let tree = try GVariant.parse(rootDirtree, as: type)
        let files = try XCTUnwrap(tree[0]?.children)
        let dirs = try XCTUnwrap(tree[1]?.children)
        XCTAssertEqual(files.compactMap { $0[0]?.stringValue },
                       ["empty", "hello.txt", "link", "run.sh", "secret", "shared.txt", "xattr.txt"])
        XCTAssertEqual(files[1][1]?.bytesValue.map(hexString),
                       "d54de4d5e87b6e23a70888c184728279c0e3a0d9ed8d4bb4fe2151e05f9599e8")
        XCTAssertEqual(dirs.count, 1)
        XCTAssertEqual(dirs.first?[0]?.stringValue, "sub")
        XCTAssertEqual(dirs.first?[2]?.bytesValue.map(hexString),
                       "446a0ef11b7cc167f3b603e585c7eeeeb675faa412d5ec73f62988eb0b6c5488")
        XCTAssertEqual(tree.serialize(), rootDirtree)
        XCTAssertTrue(GVariant.isNormal(rootDirtree, as: type))
        // 2-byte framing offsets: the last two bytes are the tuple's offset (end of the files array).
        XCTAssertEqual(Int(rootDirtree[372]) | Int(rootDirtree[373]) << 8, 0x012d)

        let sub = try GVariant.parse(subDirDirtree, as: type)
        XCTAssertEqual(sub[0]?.children?.compactMap { $0[0]?.stringValue }, ["nested.txt", "uplink"])
        XCTAssertEqual(sub[1]?.children?.count, 0)
        XCTAssertEqual(sub.serialize(), subDirDirtree)
    }

    func testSummary() throws {
        XCTAssertEqual(sampleSummary.count, 306)
        let type = try t(summaryType)
        let summary = try GVariant.parse(sampleSummary, as: type)
        let refs = try XCTUnwrap(summary[0]?.children)
        XCTAssertEqual(refs.count, 1)
        XCTAssertEqual(refs[0][0]?.stringValue, "sample/main")
        let info = try XCTUnwrap(refs[0][1])
        XCTAssertEqual(info[0]?.uint64Value, 150)                     // host order
        XCTAssertEqual(info[1]?.bytesValue.map(hexString),
                       "924353b2d392dbe1a6f0515623b063fc4e5b2c5f9558b9b61400c9873aaf0454")
        XCTAssertEqual(info[2]?.lookup("ostree.commit.version")?.stringValue, "1.0")
        XCTAssertEqual(info[2]?.lookup("ostree.commit.timestamp")?.uint64Value.map { UInt64(bigEndian: $0) },
                       1_704_067_200)
        let meta = try XCTUnwrap(summary[1])
        XCTAssertEqual(meta.lookup("ostree.summary.mode")?.stringValue, "archive-z2")
        XCTAssertEqual(meta.lookup("ostree.summary.tombstone-commits")?.boolValue, false)
        XCTAssertEqual(meta.lookup("ostree.summary.indexed-deltas")?.boolValue, true)
        XCTAssertNotNil(meta.lookup("ostree.summary.last-modified")?.uint64Value)
        XCTAssertEqual(summary.serialize(), sampleSummary)
        XCTAssertTrue(GVariant.isNormal(sampleSummary, as: type))
    }

    func testBareUserMeta() throws {
        let v = try GVariant.parse(bareUserXattrMeta, as: try t(dirmetaType))
        XCTAssertEqual(v[2]?.uint32Value.map { UInt32(bigEndian: $0) }, 0o100644)
        let xattrs = try XCTUnwrap(v[3]?.children)
        XCTAssertEqual(xattrs.count, 2)
        XCTAssertEqual(xattrs[0][0]?.bytesValue, Array("user.alpha".utf8) + [0])
        XCTAssertEqual(xattrs[0][1]?.bytesValue, Array("first".utf8))
        XCTAssertEqual(xattrs[1][1]?.bytesValue, Array("last".utf8))
        XCTAssertEqual(v.serialize(), bareUserXattrMeta)
    }

    // MARK: - Sizes and offsets

    func testLargeArrayUsesFourByteOffsets() throws {
        var entries: [GVariant] = []
        for i in 0..<2000 {
            let name = "file-" + String(i)
            let csum = (0..<32).map { UInt8(truncatingIfNeeded: i &* 31 &+ $0) }
            entries.append(.tuple([.string(name), .bytes(csum)]))
        }
        let arr = GVariant.array(element: .tuple([.string, .array(.byte)]), entries)
        let bytes = arr.serialize()
        XCTAssertGreaterThan(bytes.count, 0xFFFF)
        // Last 4 bytes are the end of the last element = start of the offset table (2000 x 4 bytes).
        let n = bytes.count
        let lastEnd = Int(bytes[n - 4]) | Int(bytes[n - 3]) << 8 | Int(bytes[n - 2]) << 16 | Int(bytes[n - 1]) << 24
        XCTAssertEqual(n - lastEnd, 2000 * 4)
        let type = try t("a(say)")
        XCTAssertEqual(try GVariant.parse(bytes, as: type), arr)
        XCTAssertTrue(GVariant.isNormal(bytes, as: type))

        // The same as a whole dirtree (files and dirs).
        let dirs = (0..<2000).map { i -> GVariant in
            .tuple([.string("d\(i)"), .bytes(Array(repeating: UInt8(i & 0xff), count: 32)),
                    .bytes(Array(repeating: UInt8((i >> 8) & 0xff), count: 32))])
        }
        let tree = GVariant.tuple([arr, .array(element: .tuple([.string, .array(.byte), .array(.byte)]), dirs)])
        let treeBytes = tree.serialize()
        XCTAssertEqual(try GVariant.parse(treeBytes, as: try t(dirtreeType)), tree)
        XCTAssertTrue(GVariant.isNormal(treeBytes, as: try t(dirtreeType)))
    }

    func testOffsetWidthBoundaries() throws {
        // Array of strings whose total straddles the 1-byte/2-byte boundary.
        let type = try t("as")
        for total in 240...270 {
            for count in 1...4 {
                var strings: [GVariant] = []
                var remaining = total
                for k in 0..<count {
                    let len = k == count - 1 ? Swift.max(remaining, 0) : remaining / (count - k)
                    strings.append(.string(String(repeating: "x", count: len)))
                    remaining -= len
                }
                let v = GVariant.array(element: .string, strings)
                let b = v.serialize()
                XCTAssertEqual(try GVariant.parse(b, as: type), v)
                XCTAssertTrue(GVariant.isNormal(b, as: type))
            }
        }
    }

    func testAllBasicTypesRoundTrip() throws {
        let values: [GVariant] = [
            .boolean(true), .boolean(false), .byte(0xfe), .int16(-2), .uint16(0xbeef), .int32(-123456),
            .uint32(0xdeadbeef), .int64(Int64.min), .uint64(UInt64.max), .double(3.5), .double(-0.0),
            .string(""), .string("héllo ✓ 🌲"), .objectPath("/"), .objectPath("/org/gnome/x_1"),
            .signature(""), .signature("a{sv}(ii)"), .bytes([0, 1, 2, 0]),
            .maybe(.string, nil), .maybe(.uint32, .uint32(7)), .maybe(.array(.byte), .bytes([])),
            .variant(.variant(.bytes([1, 2, 3]))), .variant(.maybe(.int64, .int64(-1))),
            .array(element: .uint64, [.uint64(1), .uint64(2)]),
            .array(element: .variant, [.variant(.byte(1)), .variant(.string("two"))]),
            .tuple([.byte(1), .uint64(2), .string("three"), .int16(4), .bytes([5]), .boolean(true)]),
            .tuple([.string("a"), .tuple([]), .string("b")]),
            .array(element: .maybe(.string), [.maybe(.string, nil), .maybe(.string, .string("x"))]),
            .dictEntry(.uint32(1), .variant(.tuple([]))),
        ]
        for v in values {
            let bytes = v.serialize()
            let parsed = try GVariant.parse(bytes, as: v.type)
            XCTAssertEqual(parsed, v, "\(v.type)")
            XCTAssertTrue(GVariant.isNormal(bytes, as: v.type), "\(v.type)")
            XCTAssertTrue(v.isWellTyped)
            // Wrapped in a variant inside a tuple with odd alignment before it.
            let wrapped = GVariant.tuple([.byte(7), .variant(v), .byte(9)])
            XCTAssertEqual(try GVariant.parse(wrapped.serialize(), as: wrapped.type), wrapped)
        }
    }

    func testAccessors() throws {
        let v = GVariant.tuple([.string("a"), .bytes([1, 2]), .uint32(3), .uint64(4), .boolean(true)])
        XCTAssertEqual(v[0]?.stringValue, "a")
        XCTAssertEqual(v[1]?.bytesValue, [1, 2])
        XCTAssertEqual(v[1]?[1], .byte(2))
        XCTAssertNil(v[1]?[2])
        XCTAssertEqual(v[2]?.uint32Value, 3)
        XCTAssertEqual(v[3]?.uint64Value, 4)
        XCTAssertEqual(v[4]?.boolValue, true)
        XCTAssertNil(v[5])
        XCTAssertNil(v[-1])
        XCTAssertNil(v[0]?.bytesValue)
        XCTAssertNil(v[2]?.uint64Value)
        XCTAssertNil(v.stringValue)
        XCTAssertEqual(v.children?.count, 5)
        XCTAssertNil(GVariant.byte(1).children)
        XCTAssertEqual(GVariant.vardict([("k", .uint32(1)), ("k", .uint32(2))]).lookup("k"), .uint32(1))
        XCTAssertFalse(GVariant.array(element: .uint32, [.string("x")]).isWellTyped)
        XCTAssertFalse(GVariant.string("a\u{0}b").isWellTyped)
        XCTAssertFalse(GVariant.objectPath("/a/").isWellTyped)
    }

    // MARK: - Hostile input

    func testEveryTruncationOfCommitThrows() throws {
        let type = try t(commitType)
        for n in 0..<sampleCommit.count {
            XCTAssertThrowsError(try GVariant.parse(Array(sampleCommit[0..<n]), as: type), "prefix \(n)")
            XCTAssertFalse(GVariant.isNormal(Array(sampleCommit[0..<n]), as: type))
        }
        // Also the suffixes and the other objects.
        for n in 1..<sampleCommit.count {
            _ = try? GVariant.parse(Array(sampleCommit[n...]), as: type)
        }
        let dt = try t(dirtreeType)
        for n in 0..<rootDirtree.count {
            _ = try? GVariant.parse(Array(rootDirtree[0..<n]), as: dt)
        }
        let st = try t(summaryType)
        for n in 0..<sampleSummary.count {
            XCTAssertThrowsError(try GVariant.parse(Array(sampleSummary[0..<n]), as: st), "summary prefix \(n)")
        }
    }

    func testRandomByteFlipsNeverCrash() throws {
        var rng = SplitMix64(seed: 0x0A7B_0A7B)
        let samples: [([UInt8], GVariantType)] = [
            (sampleCommit, try t(commitType)),
            (rootDirtree, try t(dirtreeType)),
            (sampleSummary, try t(summaryType)),
            (bareUserXattrMeta, try t(dirmetaType)),
        ]
        var parsedCount = 0, thrownCount = 0
        for i in 0..<4000 {
            let (orig, type) = samples[i % samples.count]
            var bytes = orig
            let flips = 1 + Int(rng.next() % 3)
            for _ in 0..<flips {
                let pos = Int(rng.next() % UInt64(bytes.count))
                if rng.next() & 1 == 0 {
                    bytes[pos] ^= UInt8(1) << UInt8(rng.next() % 8)
                } else {
                    bytes[pos] = UInt8(truncatingIfNeeded: rng.next())
                }
            }
            do {
                let v = try GVariant.parse(bytes, as: type)
                parsedCount += 1
                // Whatever parses must re-serialize and re-parse to the same value.
                let again = v.serialize()
                XCTAssertEqual(try GVariant.parse(again, as: type), v)
                if again == bytes { XCTAssertTrue(GVariant.isNormal(bytes, as: type)) }
            } catch {
                thrownCount += 1
                XCTAssertFalse((error as? GVariantError)?.description.isEmpty ?? true)
            }
        }
        XCTAssertEqual(parsedCount + thrownCount, 4000)
        XCTAssertGreaterThan(thrownCount, 0)
        XCTAssertGreaterThan(parsedCount, 0)

        // Random garbage as assorted types.
        let types = try ["v", "a{sv}", "(uuua(ayay))", "mv", "a(sayay)", "as", "((ys)as)", "(nsns)", "av", "mmas",
                         "a{sa(s(taya{sv}))}", "(a(s(taya{sv}))a{sv})", "ao", "ag", "(ib)", "aab", "a()"].map { try GVariantType($0) }
        for i in 0..<3000 {
            let len = Int(rng.next() % 64)
            var bytes = (0..<len).map { _ in UInt8(truncatingIfNeeded: rng.next()) }
            if i % 3 == 0 {   // make "type string" tails likely
                bytes.append(0)
                bytes.append(contentsOf: Array(["v", "s", "as", "(ii)", "ay", "mv", "a{sv}"][i % 7].utf8))
            }
            _ = try? GVariant.parse(bytes, as: types[i % types.count])
        }
    }

    func testDeepVariantNesting() throws {
        var v = GVariant.uint32(1)
        for _ in 0..<100 { v = .variant(v) }
        let bytes = v.serialize()
        XCTAssertThrowsError(try GVariant.parse(bytes, as: .variant)) { err in
            XCTAssertEqual(err as? GVariantError, .depthExceeded)
        }
        XCTAssertEqual(try GVariant.parse(bytes, as: .variant, maxDepth: 100), v)
        XCTAssertThrowsError(try GVariant.parse(bytes, as: .variant, maxDepth: 99))
        XCTAssertFalse(GVariant.isNormal(bytes, as: .variant))

        // A variant whose type string nests too deep.
        var deep: [UInt8] = [0]
        deep.append(contentsOf: Array(String(repeating: "a", count: 70).utf8))
        deep.append(UInt8(ascii: "y"))
        XCTAssertThrowsError(try GVariant.parse(deep, as: .variant)) { err in
            XCTAssertEqual(err as? GVariantError, .depthExceeded)
        }
        // Nesting split between containers and variant type strings counts in total.
        var mixed = GVariant.variant(.array(element: .array(.array(.uint32)), []))
        for _ in 0..<62 { mixed = .variant(mixed) }
        XCTAssertThrowsError(try GVariant.parse(mixed.serialize(), as: .variant, maxDepth: 64))
        XCTAssertNoThrow(try GVariant.parse(mixed.serialize(), as: .variant, maxDepth: 66))

        // Huge maxDepth is capped: 10000 nested variants never overflow the stack.
        var huge: [UInt8] = []
        for _ in 0..<10_000 { huge.append(contentsOf: [0, UInt8(ascii: "v")]) }
        huge = [0x01, 0x00, UInt8(ascii: "y")] + huge
        XCTAssertThrowsError(try GVariant.parse(huge, as: .variant, maxDepth: Int.max))
    }

    func testStrictRejections() throws {
        func rejects(_ bytes: [UInt8], _ typeString: String, _ why: String,
                     file: StaticString = #filePath, line: UInt = #line) throws {
            let type = try GVariantType(typeString)
            XCTAssertThrowsError(try GVariant.parse(bytes, as: type), why, file: file, line: line)
            XCTAssertFalse(GVariant.isNormal(bytes, as: type), why, file: file, line: line)
        }
        try rejects(hex("02"), "b", "boolean 2")
        try rejects(hex("01 00"), "b", "boolean with 2 bytes")
        try rejects(hex("01 02 03"), "u", "short u")
        try rejects(hex("01 02 03 04 05"), "u", "long u")
        try rejects([], "t", "empty t")
        try rejects(hex("61 62"), "s", "string without NUL")
        try rejects([], "s", "empty string bytes")
        try rejects(hex("61 00 62 00"), "s", "embedded NUL")
        try rejects(hex("ff 00"), "s", "invalid UTF-8")
        try rejects(hex("c0 80 00"), "s", "overlong NUL")
        try rejects(hex("ed a0 80 00"), "s", "surrogate")
        try rejects(hex("61 2f 00"), "o", "object path without leading slash")
        try rejects(hex("2f 61 2f 00"), "o", "object path trailing slash")
        try rejects(hex("28 00"), "g", "bad signature")
        try rejects(hex("01 02 03"), "aq", "array of q with odd size")
        try rejects(hex("01 00 00 00 00"), "(iy)", "fixed tuple with wrong size")
        try rejects(hex("60 00 00 00 70 00 01 00"), "(iy)", "non-zero tuple tail padding")
        try rejects(hex("61 20 6b 65 79 00 01 00 02 02 00 00 06"), "{si}", "non-zero padding inside dict entry")
        try rejects(hex("01"), "()", "unit must be 00")
        try rejects(hex("00 00"), "()", "unit must be one byte")
        try rejects(hex("61"), "ms", "Just of variable type must end with 00")
        try rejects(hex("01 00"), "mb", "Just of fixed type with wrong size")
        try rejects(hex("00"), "v", "variant without type")
        try rejects(hex("01 00 7a"), "v", "variant with bad type")
        try rejects(hex("01 00 79 79"), "v", "variant with two types")
        try rejects(hex("01 00 61"), "v", "variant with incomplete type")
        try rejects(hex("01 02 03"), "v", "variant without separator")
        try rejects(hex("69 00 09"), "as", "offset past the end")
        try rejects(hex("69 00 03 02"), "as", "offset table not a multiple / inconsistent")
        try rejects(hex("69 00 63 00 78 00 04 02 06"), "as", "non-monotonic offsets")
        try rejects(hex("69 00 63 00 00"), "as", "last offset zero leaves garbage table")
        try rejects(hex("78 78 00 00 09"), "(ss)", "tuple offset out of range")
        try rejects(hex("78 78 00 01 02 02 00 03"), "(sns)", "non-zero padding before n")
        try rejects(hex("61 00 05 ee 02"), "(sy)", "trailing bytes after fixed last child")
        try rejects([], "(asas)", "too short for offsets")
        XCTAssertEqual(try GVariant.parse(hex("00"), as: try t("(asas)")),
                       .tuple([.array(element: .string, []), .array(element: .string, [])]))
        try rejects(hex("00 00 00 00 00"), "(uuua(ayay))", "dirmeta too short")
        try rejects(hex("01 00 00 00 00 00 00 00 02 00 00 00 00 00 00 00"), "a(tb)", "boolean inside fixed array")
        try rejects(hex("01 00 00 00 00 00 00 00 01 00 00 00"), "a(tb)", "fixed array size not a multiple")
        // Padding before an 8-aligned element inside a variable array must be zero.
        XCTAssertNoThrow(try GVariant.parse(hex("61 00 00 00 00 00 00 00 01 00 00 00 00 00 00 00 00 74 02 13"), as: try t("a(sv)")))
        try rejects(hex("61 00 ff ff ff ff ff ff 01 00 00 00 00 00 00 00 00 74 02 13"), "a(sv)", "padding")
    }

    func testNonNormalButParseable() throws {
        // Non-minimal framing-offset width: body 250 bytes + 3 one-byte offsets fits in 255,
        // but written with 2-byte offsets (total 256) it still parses.
        let strings = [String(repeating: "a", count: 99), String(repeating: "b", count: 99), String(repeating: "c", count: 49)]
        let value = GVariant.array(element: .string, strings.map { .string($0) })
        let normal = value.serialize()
        XCTAssertEqual(normal.count, 253)
        var wide = Array(normal[0..<250])
        for end in [100, 200, 250] { wide.append(UInt8(end & 0xff)); wide.append(UInt8(end >> 8)) }
        XCTAssertEqual(wide.count, 256)
        let type = try t("as")
        XCTAssertEqual(try GVariant.parse(wide, as: type), value)
        XCTAssertFalse(GVariant.isNormal(wide, as: type))
        XCTAssertTrue(GVariant.isNormal(normal, as: type))

        // The same for a tuple's offsets.
        let tuple = GVariant.tuple([.string(String(repeating: "k", count: 200)), .string(String(repeating: "v", count: 52))])
        let tn = tuple.serialize()
        XCTAssertEqual(tn.count, 255)
        var tw = Array(tn[0..<254])
        tw.append(contentsOf: [201, 0])
        XCTAssertEqual(try GVariant.parse(tw, as: try t("(ss)")), tuple)
        XCTAssertFalse(GVariant.isNormal(tw, as: try t("(ss)")))

        // Non-zero padding in the sample commit (the byte between the two a{sv} entries).
        var commit = sampleCommit
        XCTAssertEqual(commit[15], 0)
        commit[15] = 1
        XCTAssertThrowsError(try GVariant.parse(commit, as: try t(commitType))) { err in
            XCTAssertEqual(err as? GVariantError, .nonZeroPadding(at: 15))
        }
        XCTAssertFalse(GVariant.isNormal(commit, as: try t(commitType)))
    }

    func testErrorDescriptions() {
        let errors: [GVariantError] = [
            .invalidTypeString("x"), .depthExceeded, .truncated(expected: 4, got: 2),
            .wrongSize(type: "u", expected: 4, got: 5), .badFramingOffset(offset: 9, containerSize: 3),
            .badString("why"), .badBoolean(2), .nonZeroPadding(at: 3), .badVariant("why"),
            .badMaybe("why"), .trailingBytes(at: 4),
        ]
        for e in errors {
            XCTAssertFalse(e.description.isEmpty)
            XCTAssertFalse(e.description.contains("\n"))
        }
    }
}

private extension GVariant {
    /// Wraps the value in a variant.
    var asVariant: GVariant { return .variant(self) }
}
