// Fuzz target: a deployment's .origin file (GKeyFile syntax) through Origin(text:), its
// accessors and editors. Build and run with scripts/fuzz.sh origin.
@testable import ArborDeploy

/// Stops the run with a message (precondition drops its message under -O).
private func check(_ ok: @autoclosure () -> Bool, _ message: @autoclosure () -> String = "invariant broken") {
    if !ok() { fatalError(message()) }
}

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzOne(_ start: UnsafeRawPointer, _ count: Int) -> CInt {
    let text = String(decoding: UnsafeRawBufferPointer(start: start, count: count), as: UTF8.self)
    var origin = Origin(text: text)
    // What is written reads back as the same origin.
    check(Origin(text: origin.text) == origin, "origin text does not round-trip")
    _ = origin.refspec
    _ = origin.isPinned
    _ = origin.withoutTransientState.text
    origin.isPinned = !origin.isPinned
    origin.refspec = "remote:fuzz/ref"
    check(origin.refspec == "remote:fuzz/ref", "refspec just set cannot be read back")
    origin.refspec = nil
    check(Origin(text: origin.text) == origin, "edited origin does not round-trip")
    return 0
}
