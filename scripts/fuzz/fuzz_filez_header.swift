// Fuzz target: archive-mode content objects (.filez): FileMeta.parseArchiveHeader and the
// whole-object decodeArchiveObject (header, raw-deflate payload, size and checksum checks),
// plus the canonical header parser on the header body.
// Build and run with scripts/fuzz.sh filez_header.
@testable import ArborCore

/// Stops the run with a message (precondition drops its message under -O).
private func check(_ ok: @autoclosure () -> Bool, _ message: @autoclosure () -> String = "invariant broken") {
    if !ok() { fatalError(message()) }
}

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzOne(_ start: UnsafeRawPointer, _ count: Int) -> CInt {
    let bytes = Array(UnsafeRawBufferPointer(start: start, count: count))
    if let (meta, _, offset) = try? FileMeta.parseArchiveHeader(bytes, object: "fuzz.filez") {
        check(offset >= 8 && offset <= bytes.count, "payload offset out of range")
        check(meta.isRegular || meta.isSymlink, "validated header is neither a file nor a symlink")
        _ = meta.canonicalHeader()
    }
    var produced: UInt64 = 0
    if let (meta, size, _) = try? decodeArchiveObject(bytes, name: "fuzz.filez", sink: { produced += UInt64($0.count) }) {
        // (A symlink's header size is not checked, as in ostree; it has no payload.)
        check(meta.isSymlink ? produced == 0 : produced == size, "decoded size differs from the header's")
    }
    if bytes.count >= 8 {
        _ = try? FileMeta.parseCanonical(Array(bytes[8...]), object: "fuzz.file")
    }
    return 0
}
