// The only output arbor-prepare-root makes: single lines on stderr, which in an initramfs is the
// kernel console. Every line is made printable first so that a hostile ostree= value (newlines,
// terminal escapes, C1 controls such as NEL, bidirectional overrides) can never split one
// message into two or disguise it; the values in a line are bounded already (Shown).
#if canImport(Glibc)
import Glibc
#endif

/// Writes arbor-prepare-root's lines to standard error (or standard output for --help).
enum Console {
    /// The prefix of every line, which the boot harness greps for.
    static let prefix = "arbor-prepare-root: "

    /// Logs one informational line.
    static func log(_ text: String) {
        write(fd: 2, prefix + printable(text) + "\n")
    }

    /// Prints the one error line for a failure.
    static func error(_ failure: PrepareRootError) {
        write(fd: 2, prefix + "error: " + printable(failure.message) + "\n")
    }

    /// Writes text as is (help and version texts).
    static func out(_ text: String) {
        write(fd: 1, text)
    }

    /// Replaces what could split the line or disguise it: C0 controls and DEL as `\xNN`; C1
    /// controls (U+0080-U+009F, NEL among them), the Unicode line and paragraph separators and
    /// the bidirectional formatting characters as `\uNNNN`.
    static func printable(_ text: String) -> String {
        var out = ""
        for unit in text.unicodeScalars {
            let value = unit.value
            if value < 0x20 || value == 0x7f {
                out += "\\x" + Shown.hex(UInt8(value))
            } else if (0x80...0x9f).contains(value) || value == 0x2028 || value == 0x2029 || isBidiControl(value) {
                let hex = String(value, radix: 16)
                out += "\\u" + String(repeating: "0", count: max(0, 4 - hex.count)) + hex
            } else {
                out.unicodeScalars.append(unit)
            }
        }
        return out
    }

    /// Whether a scalar is a bidirectional formatting character (LRM, RLM, the embeddings and
    /// overrides U+202A-U+202E, the isolates U+2066-U+2069, ALM), which reorder what follows.
    static func isBidiControl(_ value: UInt32) -> Bool {
        return value == 0x200e || value == 0x200f || value == 0x061c
            || (0x202a...0x202e).contains(value) || (0x2066...0x2069).contains(value)
    }

    /// write(2) until everything is out, retrying on EINTR; gives up silently on other errors
    /// (there is nowhere left to report them).
    static func write(fd: Int32, _ text: String) {
        var bytes = Array(text.utf8)
        var offset = 0
        while offset < bytes.count {
            let n = bytes.withUnsafeMutableBytes { buffer -> Int in
                guard let base = buffer.baseAddress else { return -1 }
                return Glibc.write(fd, base + offset, buffer.count - offset)
            }
            if n > 0 {
                offset += n
            } else if n < 0 && errno == EINTR {
                continue
            } else {
                return
            }
        }
        bytes.removeAll()
    }
}
