// ObjectPresenceTests.swift - a transaction's "is this object stored?" answers, which switch
// from one fstatat per object to a listing of objects/XX once a directory is asked about often
// enough: both ways must give the same answers, for every type and mode.

import XCTest
@testable import ArborCore
#if canImport(Glibc)
import Glibc
#endif

final class ObjectPresenceTests: XCTestCase {
    private var dir = ""

    override func setUpWithError() throws {
        var template = Array((NSTemporaryDirectory() + "/arbor-presence-XXXXXX").utf8CString)
        guard let p = template.withUnsafeMutableBufferPointer({ mkdtemp($0.baseAddress!) }) else {
            throw ArborError.errno("mkdtemp", NSTemporaryDirectory())
        }
        dir = String(cString: p)
    }

    override func tearDownWithError() throws {
        try? FileManager.default.removeItem(atPath: dir)
    }

    /// Stores `count` dirmeta-like metadata objects and as many content objects; returns them.
    private func populate(_ repo: Repository, count: Int) throws -> [ObjectName] {
        let txn = try Transaction(repo)
        var names: [ObjectName] = []
        for i in 0..<count {
            let bytes = Array("metadata \(i)".utf8)
            names.append(ObjectName(try txn.writeMetadata(.dirTree, bytes), .dirTree))
            let meta = FileMeta(uid: 0, gid: 0, mode: 0o100644)
            let c = try Array("content \(i)\n".utf8).withUnsafeBytes { try txn.writeContent(meta: meta, bytes: $0) }
            names.append(ObjectName(c, .file))
        }
        try txn.commit()
        return names
    }

    /// A checksum whose first byte is `first`, the rest derived from `seed`.
    private func checksum(first: UInt8, seed: Int) -> Checksum {
        var bytes = SHA256Hasher.hash(Array("seed \(seed)".utf8)).bytes
        bytes[0] = first
        return Checksum(bytes: bytes)!
    }

    func testListingAnswersAsLookupsDo() throws {
        for mode in [RepoMode.bare, .archive] {
            let repo = try Repository.create(path: dir + "/repo-\(mode)", mode: mode)
            let stored = try populate(repo, count: 600)
            let txn = try Transaction(repo)
            defer { txn.abort() }
            // Ask about every stored object twice (the second round comes from listings), with
            // absent names of the same directories in between, and stored checksums under the
            // wrong type.
            for round in 0..<2 {
                for (i, n) in stored.enumerated() {
                    XCTAssertTrue(txn.isStored(n.checksum, n.type), "\(mode) round \(round): \(n)")
                    XCTAssertTrue(txn.has(n.checksum, n.type))
                    let absent = checksum(first: UInt8(n.checksum.firstByte), seed: i)
                    XCTAssertFalse(txn.isStored(absent, .file), "\(mode) round \(round): \(absent)")
                    XCTAssertFalse(txn.isStored(n.checksum, n.type == .file ? .dirTree : .file))
                    XCTAssertFalse(txn.isStored(n.checksum, .commit))
                }
            }
        }
    }

    func testObjectsArrivingAfterAListingAreWrittenNotLost() throws {
        let repo = try Repository.create(path: dir + "/repo", mode: .bare)
        _ = try populate(repo, count: 300)
        let txn = try Transaction(repo)
        // Enough lookups in directory 00 for it to be listed.
        for i in 0..<64 { _ = txn.isStored(checksum(first: 0, seed: i), .dirTree) }
        // Another writer adds an object under 00 meanwhile.
        var bytes: [UInt8] = []
        var c: Checksum
        var n = 0
        repeat {
            bytes = Array("late \(n)".utf8)
            c = SHA256Hasher.hash(bytes)
            n += 1
        } while c.firstByte != 0
        let other = try Transaction(repo)
        try other.writeMetadata(.dirTree, bytes, named: c)
        try other.commit()
        XCTAssertTrue(repo.hasObject(c, .dirTree))
        // This transaction's stale listing says absent: it writes the object again, harmlessly.
        XCTAssertEqual(try txn.writeMetadata(.dirTree, bytes), c)
        try txn.commit()
        XCTAssertEqual(try repo.readMetadata(c, .dirTree), bytes)
    }

    func testLooseNamesParseOnlyInLowercase() {
        let c = checksum(first: 0xab, seed: 1)
        let tail = Array(c.hex.utf8.dropFirst(2))
        tail.withUnsafeBufferPointer { XCTAssertEqual(Checksum(firstByte: 0xab, hexTail: $0), c) }
        let upper = Array(String(decoding: tail, as: UTF8.self).uppercased().utf8)
        if upper != tail {
            upper.withUnsafeBufferPointer { XCTAssertNil(Checksum(firstByte: 0xab, hexTail: $0)) }
        }
        Array(tail.dropLast()).withUnsafeBufferPointer { XCTAssertNil(Checksum(firstByte: 0xab, hexTail: $0)) }
    }
}
