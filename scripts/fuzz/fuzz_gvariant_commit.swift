// Fuzz target: commit objects, (a{sv}aya(say)sstayay), through CommitObject.parse.
// Build and run with scripts/fuzz.sh gvariant_commit.
@testable import ArborCore

/// Stops the run with a message (precondition drops its message under -O).
private func check(_ ok: @autoclosure () -> Bool, _ message: @autoclosure () -> String = "invariant broken") {
    if !ok() { fatalError(message()) }
}

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzOne(_ start: UnsafeRawPointer, _ count: Int) -> CInt {
    let bytes = Array(UnsafeRawBufferPointer(start: start, count: count))
    guard let commit = try? CommitObject.parse(bytes, name: "fuzz.commit") else { return 0 }
    // A parsed commit keeps its exact bytes and is in normal form.
    check(commit.bytes == bytes, "parsed commit does not keep its bytes")
    _ = commit.checksum
    _ = commit.contentChecksum
    _ = commit.version
    for (k, v) in commit.metadataEntries { _ = k; _ = v.type.description }
    _ = ed25519Signatures(in: commit.metadata)
    return 0
}
