// Fuzz target: the repository config file (GLib key-file syntax) through RepoConfig(text:),
// its readers and editors. Build and run with scripts/fuzz.sh config.
@testable import ArborCore

/// Stops the run with a message (precondition drops its message under -O).
private func check(_ ok: @autoclosure () -> Bool, _ message: @autoclosure () -> String = "invariant broken") {
    if !ok() { fatalError(message()) }
}

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzOne(_ start: UnsafeRawPointer, _ count: Int) -> CInt {
    let text = String(decoding: UnsafeRawBufferPointer(start: start, count: count), as: UTF8.self)
    var config = RepoConfig(text: text)
    // Writing the file back and reading it again gives the same file.
    check(RepoConfig(text: config.text) == config, "config text does not round-trip")
    let sections = config.sections
    for s in sections.prefix(16) {
        for (k, _) in config.entries(s).prefix(16) { _ = config.value(s, k) }
    }
    _ = config.value("core", "mode")
    _ = config.bool("core", "fsync", default: true)
    config.set("core", "fuzz-key", "value")
    check(config.value("core", "fuzz-key") == "value", "a key just set cannot be read back")
    if let s = sections.first {
        config.removeSection(s)
        check(!config.sections.contains(s), "a removed section is still there")
    }
    return 0
}
