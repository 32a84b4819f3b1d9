// Fuzz target: the summary file, (a(s(taya{sv}))a{sv}), through Summary.parse; also the
// detached-signature reader on its metadata. Build and run with scripts/fuzz.sh summary.
@testable import ArborCore

/// Stops the run with a message (precondition drops its message under -O).
private func check(_ ok: @autoclosure () -> Bool, _ message: @autoclosure () -> String = "invariant broken") {
    if !ok() { fatalError(message()) }
}

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzOne(_ start: UnsafeRawPointer, _ count: Int) -> CInt {
    let bytes = Array(UnsafeRawBufferPointer(start: start, count: count))
    guard let summary = try? Summary.parse(bytes) else { return 0 }
    check(summary.bytes == bytes)
    for ref in summary.refs {
        _ = ref.name
        _ = ref.timestamp
        _ = ref.version
        _ = ref.checksum.hex
    }
    _ = summary.metadata.lookup("ostree.summary.mode")?.stringValue
    _ = ed25519Signatures(in: summary.metadata)
    return 0
}
