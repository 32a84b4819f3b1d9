// Fuzz target: what a boot entry directory holds, which anyone with write access to /boot can
// shape: entry file names with boot counters (BootCounter.parse), entry files (BootEntry), and
// kernel arguments (KernelArgs.validate and split). The first line of the input is a file name,
// the rest the entry text and, line by line, kernel arguments. Run with scripts/fuzz.sh boot_entry.
@testable import ArborDeploy

/// Stops the run with a message (precondition drops its message under -O).
private func check(_ ok: @autoclosure () -> Bool, _ message: @autoclosure () -> String = "invariant broken") {
    if !ok() { fatalError(message()) }
}

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzOne(_ start: UnsafeRawPointer, _ count: Int) -> CInt {
    let text = String(decoding: UnsafeRawBufferPointer(start: start, count: count), as: UTF8.self)
    let lines = text.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
    let name = lines.first ?? ""
    // A counted name parses back from what it formats to; an uncounted one is the name itself.
    if let (base, counter) = BootCounter.parse(fileName: name) {
        let again = BootCounter.fileName(base: base, counter: counter)
        check(BootCounter.parse(fileName: again).map { $0.counter } == counter, "counter does not round-trip: \(name)")
        if let c = counter {
            check(c.left >= 0 && c.done >= 0, "negative counter")
            check(BootCounter.parse(fileName: BootCounter.fileName(base: base, counter: c.bumped))?.counter == c.bumped, "bumped name")
        }
    }
    // What an entry writes (keys in ostree's order) reads back and writes again unchanged.
    let entry = BootEntry(text: lines.dropFirst().joined(separator: "\n"))
    check(BootEntry(text: entry.text).text == entry.text, "entry text does not round-trip")
    for f in entry.fields { check(!f.key.contains("\n") && !f.value.contains("\n"), "a field holds a line break") }
    // An argument that passes validation is exactly one argument, and never ostree=.
    for arg in lines.dropFirst() {
        guard (try? KernelArgs.validate(arg)) != nil else { continue }
        let split = KernelArgs.split("root=/dev/x " + arg + " ostree=/ostree/boot.0/os/0/0")
        check(split.count == 3 && split[1] == arg, "a valid argument splits into others: \(arg.debugDescription) -> \(split)")
        check(split.filter { KernelArgs.key($0) == "ostree" }.count == 1, "a valid argument adds an ostree=")
        // The kernel's view: the parameter name is the bytes before the first `=`, without a
        // quote that opens the argument (quotes inside the name are kept: lib/cmdline.c next_arg).
        var name = Array(arg.utf8.prefix { $0 != UInt8(ascii: "=") })
        if name.first == UInt8(ascii: "\"") { name.removeFirst() }
        check(name != Array("ostree".utf8), "a valid argument is ostree= to the kernel: \(arg.debugDescription)")
    }
    return 0
}
