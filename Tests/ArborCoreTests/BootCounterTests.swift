// Boot counter names, parsed by systemd-boot's rules.
import ArborDeploy
import XCTest

final class BootCounterTests: XCTestCase {
    func testParse() {
        func p(_ n: String) -> String {
            guard let r = BootCounter.parse(fileName: n) else { return "not an entry" }
            return r.base + (r.counter.map { " \($0.left)/\($0.done)" } ?? " uncounted")
        }
        XCTAssertEqual(p("ostree-1-demo.conf"), "ostree-1-demo uncounted")
        XCTAssertEqual(p("ostree-1-demo+3.conf"), "ostree-1-demo 3/0")
        XCTAssertEqual(p("ostree-1-demo+2-1.conf"), "ostree-1-demo 2/1")
        XCTAssertEqual(p("ostree-1-demo+0-3.CONF"), "ostree-1-demo 0/3", "the suffix is compared without case")
        XCTAssertEqual(p("a+b+1.conf"), "a+b 1/0", "the last + counts")
        XCTAssertEqual(p("ostree-1-demo+3x.conf"), "ostree-1-demo+3x uncounted")
        XCTAssertEqual(p("ostree-1-demo+3-.conf"), "ostree-1-demo+3- uncounted")
        XCTAssertEqual(p("ostree-1-demo+-1.conf"), "ostree-1-demo+-1 uncounted")
        XCTAssertEqual(p("ostree-1-demo+.conf"), "ostree-1-demo+ uncounted")
        XCTAssertEqual(p("ostree-1-demo+99999999999999999999.conf"), "ostree-1-demo+99999999999999999999 uncounted", "no overflow")
        XCTAssertEqual(p("ostree-1-demo+3.conf.bak"), "not an entry")
        XCTAssertEqual(p(".conf"), "not an entry")
    }

    func testNamesAndAssessment() {
        XCTAssertEqual(BootCounter.fileName(base: "ostree-2-demo", counter: BootCounter(left: 3, done: 0)), "ostree-2-demo+3.conf")
        XCTAssertEqual(BootCounter.fileName(base: "ostree-2-demo", counter: BootCounter(left: 3, done: 0).bumped), "ostree-2-demo+2-1.conf")
        XCTAssertEqual(BootCounter(left: 0, done: 3).bumped, BootCounter(left: 0, done: 4))
        XCTAssertEqual(BootCounter.fileName(base: "ostree-2-demo", counter: nil), "ostree-2-demo.conf")
        XCTAssertEqual(BootAssessment(nil), .good)
        XCTAssertEqual(BootAssessment(BootCounter(left: 1, done: 2)), .indeterminate)
        XCTAssertEqual(BootAssessment(BootCounter(left: 0, done: 3)), .bad)
        XCTAssertThrowsError(try BootCounter.validateTries(6, source: "x"))
        XCTAssertThrowsError(try BootCounter.validateTries(-1, source: "x"))
        XCTAssertEqual(try BootCounter.validateTries(5, source: "x"), 5)
    }

    /// Found by fuzz_boot_entry: Characters merge a space or `=` with a following combining mark,
    /// which the kernel (reading bytes) still splits at.
    func testKernelArgumentsAreSplitByByteAsTheKernelDoes() {
        XCTAssertEqual(KernelArgs.split("root=/dev/x \u{31B}emo ostree=/o"), ["root=/dev/x", "\u{31B}emo", "ostree=/o"])
        XCTAssertEqual(KernelArgs.key("ostree=\u{301}/x"), "ostree")
        XCTAssertThrowsError(try KernelArgs.validate("ostree=\u{301}/x"))
        XCTAssertThrowsError(try KernelArgs.validate("\"ostree=/x\""))
        XCTAssertNoThrow(try KernelArgs.validate("\u{31B}emo"))
        XCTAssertEqual(try KernelArgs.applying([.delete("quiet=\u{301}")], to: ["quiet=\u{301}", "rw"]), ["rw"])
    }

    func testEntryKeysEndAtTheFirstSpaceByte() {
        let e = BootEntry(text: "options \u{301}root=/dev/x ostree=/o\nversion\t2\n")
        XCTAssertEqual(e["options"], "\u{301}root=/dev/x ostree=/o")
        XCTAssertEqual(e["version"], "2")
    }
}
