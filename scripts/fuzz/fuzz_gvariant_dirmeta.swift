// Fuzz target: dirmeta objects, (uuua(ayay)), through DirMeta.parse; also the same bytes as a
// GVariant of a type named by the first input byte, for the decoder's other container paths.
// Build and run with scripts/fuzz.sh gvariant_dirmeta.
@testable import ArborCore

/// Stops the run with a message (precondition drops its message under -O).
private func check(_ ok: @autoclosure () -> Bool, _ message: @autoclosure () -> String = "invariant broken") {
    if !ok() { fatalError(message()) }
}

private let otherTypes: [GVariantType] = [
    "a{sv}", "v", "(tuuuusa(ayay))", "(uuuusa(ayay))", "a(s(taya{sv}))", "mav", "(ybnqiuxtdsog)",
    "a{ov}", "maas", "(a{sv}aya(say)sstayay)", "aay", "a(ayay)", "m(ti)", "a()", "(yv)", "ag",
].map { try! GVariantType($0) }

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzOne(_ start: UnsafeRawPointer, _ count: Int) -> CInt {
    let bytes = Array(UnsafeRawBufferPointer(start: start, count: count))
    if let meta = try? DirMeta.parse(bytes, name: "fuzz.dirmeta") {
        _ = meta.serialize()
    }
    guard let first = bytes.first else { return 0 }
    let type = otherTypes[Int(first) % otherTypes.count]
    let body = Array(bytes.dropFirst())
    if let value = try? GVariant.parse(body, as: type) {
        // Every value the decoder accepts is well typed, and what it serialises to parses back
        // to the same value (normal form or not).
        check(value.isWellTyped, "decoded value is not well typed")
        check(value.matches(type), "decoded value has the wrong type")
        // (Compared as bytes: a NaN double is not equal to itself.)
        let again = value.serialize()
        let reparsed = try? GVariant.parse(again, as: type)
        check(reparsed?.serialize() == again, "serialised value does not parse back to itself")
        check(GVariant.isNormal(again, as: type), "serialised value is not in normal form")
    }
    return 0
}
