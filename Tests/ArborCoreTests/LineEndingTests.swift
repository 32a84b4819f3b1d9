// Text formats read with CRLF line endings (a config or origin edited on another system) parse
// the same as with LF. Found by fuzzing: Swift treats "\r\n" as one Character.
import XCTest
@testable import ArborCore
@testable import ArborDeploy

final class LineEndingTests: XCTestCase {
    func testOriginWithCRLF() {
        let lf = Origin(text: "[origin]\nrefspec=os:stable\n")
        let crlf = Origin(text: "[origin]\r\nrefspec=os:stable\r\n")
        XCTAssertEqual(lf.groups.count, crlf.groups.count)
        XCTAssertEqual(crlf.groups.first?.entries.first?.value, "os:stable")
        XCTAssertEqual(crlf.groups.first?.entries.first?.key, "refspec")
    }

    func testBootEntryWithCRLF() {
        let e = BootEntry(text: "title Demo\r\nversion 2\r\noptions root=x quiet\r\n")
        XCTAssertEqual(e["version"], "2")
        XCTAssertEqual(e["options"], "root=x quiet")
    }

    func testOSReleaseWithCRLF() {
        let v = OSRelease.parse("ID=demo\r\nPRETTY_NAME=\"Demo OS\"\r\n")
        XCTAssertEqual(v["ID"], "demo")
        XCTAssertEqual(v["PRETTY_NAME"], "Demo OS")
    }

    func testKeysFileWithCRLF() {
        XCTAssertEqual(Ed25519.keyLines("A6EHv/POEL4dcN0Y50vAmWfk1jCbpQ1fHdyGZBJVMbg=\r\n# c\r\nB\r\n"),
                       ["A6EHv/POEL4dcN0Y50vAmWfk1jCbpQ1fHdyGZBJVMbg=", "B"])
    }

    func testConfigWithCRLF() {
        let c = RepoConfig(text: "[core]\r\nrepo_version=1\r\nmode=archive-z2\r\n")
        XCTAssertEqual(c.value("core", "mode"), "archive-z2")
    }
}
