// The only output arbor-prepare-root makes: single lines on stderr, which in an initramfs is the
// kernel console. Every line is made printable first so that a hostile ostree= value (newlines,
// escapes) can never split one message into two.
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

    /// Replaces control characters (and DEL) by `\xNN`, so the text stays on one line.
    static func printable(_ text: String) -> String {
        var out = ""
        for unit in text.unicodeScalars {
            if unit.value < 0x20 || unit.value == 0x7f {
                let hex = String(unit.value, radix: 16)
                out += "\\x" + (hex.count < 2 ? "0" + hex : hex)
            } else {
                out.unicodeScalars.append(unit)
            }
        }
        return out
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
