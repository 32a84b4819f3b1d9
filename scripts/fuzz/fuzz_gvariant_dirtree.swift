// Fuzz target: dirtree objects, (a(say)a(sayay)), through DirTree.parse.
// Build and run with scripts/fuzz.sh gvariant_dirtree.
@testable import ArborCore

/// Stops the run with a message (precondition drops its message under -O).
private func check(_ ok: @autoclosure () -> Bool, _ message: @autoclosure () -> String = "invariant broken") {
    if !ok() { fatalError(message()) }
}

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzOne(_ start: UnsafeRawPointer, _ count: Int) -> CInt {
    let bytes = Array(UnsafeRawBufferPointer(start: start, count: count))
    guard let tree = try? DirTree.parse(bytes, name: "fuzz.dirtree") else { return 0 }
    // A parsed dirtree is in normal form, so it must serialise back to the same bytes
    // (its checksum is the checksum of those bytes).
    check(tree.serialize() == bytes, "dirtree does not round-trip")
    return 0
}
