// The kernel command line, split exactly as the kernel's own parser (lib/cmdline.c, next_arg)
// splits it: arguments are separated by whitespace outside double quotes; a double quote
// anywhere toggles quoting; a quote opening the argument or the value, and the matching
// one at its end, are removed, and quotes inside are kept. The first `ostree=` wins.
#if canImport(Glibc)
import Glibc
#endif

/// Reading and splitting the kernel command line, and finding `ostree=` in it.
enum KernelCommandLine {
    /// The longest command line read: far above any architecture's COMMAND_LINE_SIZE, so a
    /// stray huge file cannot exhaust the initramfs's memory; a longer file is an error.
    static let maxLength = 1 << 20

    /// One argument: its parameter name and, after the first `=`, its value.
    struct Argument: Equatable {
        /// The parameter name (before the first `=`), quotes removed as the kernel removes them.
        var parameter: [UInt8]
        /// The value after the first `=`, nil when there is no `=`.
        var value: [UInt8]?
    }

    /// The kernel's isspace(): space, \t, \n, \v, \f, \r, and 0xA0 (its ctype table is Latin-1).
    static func isSpace(_ byte: UInt8) -> Bool {
        return byte == 0x20 || (byte >= 0x09 && byte <= 0x0d) || byte == 0xa0
    }

    /// Splits a command line into arguments, as the kernel's parse_args/next_arg do.
    static func split(_ line: [UInt8]) -> [Argument] {
        var arguments: [Argument] = []
        var position = 0
        // parse_args starts with skip_spaces.
        while position < line.count && isSpace(line[position]) { position += 1 }
        while position < line.count && line[position] != 0 {
            var start = position
            var inQuote = false
            var quoted = false
            if line[start] == UInt8(ascii: "\"") {
                start += 1
                inQuote = true
                quoted = true
            }
            var end = start
            var equals: Int?
            while end < line.count && line[end] != 0 {
                let byte = line[end]
                if isSpace(byte) && !inQuote { break }
                if equals == nil && byte == UInt8(ascii: "=") { equals = end }
                if byte == UInt8(ascii: "\"") { inQuote.toggle() }
                end += 1
            }
            // The argument is line[start..<end]; strip quotes as next_arg does.
            var argumentEnd = end
            var parameter: [UInt8]
            var value: [UInt8]?
            if let eq = equals {
                parameter = Array(line[start..<eq])
                var valueStart = eq + 1
                if valueStart < argumentEnd && line[valueStart] == UInt8(ascii: "\"") {
                    valueStart += 1
                    if end > start && line[end - 1] == UInt8(ascii: "\"") { argumentEnd = end - 1 }
                }
                if quoted && argumentEnd == end && end > start && line[end - 1] == UInt8(ascii: "\"") {
                    argumentEnd = end - 1
                }
                value = valueStart <= argumentEnd ? Array(line[valueStart..<argumentEnd]) : []
            } else {
                if quoted && end > start && line[end - 1] == UInt8(ascii: "\"") { argumentEnd = end - 1 }
                parameter = Array(line[start..<max(start, argumentEnd)])
            }
            arguments.append(Argument(parameter: parameter, value: value))
            position = end < line.count ? end + 1 : end
            while position < line.count && isSpace(line[position]) { position += 1 }
        }
        return arguments
    }

    /// The value of the first `ostree=` argument, checked to be a plain absolute path.
    static func ostreeTarget(_ line: [UInt8]) throws -> String {
        guard let argument = split(line).first(where: { $0.parameter == Array("ostree".utf8) && $0.value != nil }),
              let value = argument.value else {
            throw PrepareRootError.noOstreeArgument
        }
        let shown = Shown.bytes(value)
        guard !value.isEmpty else {
            throw PrepareRootError.invalidOstreeArgument(value: shown, reason: "empty")
        }
        // A quote or a control character left in the value means a mangled command line; a
        // path with one would only ever be a coincidence.
        if value.contains(where: { $0 < 0x20 || $0 == 0x7f || $0 == UInt8(ascii: "\"") }) {
            throw PrepareRootError.invalidOstreeArgument(value: shown, reason: "contains a quote or a control character")
        }
        guard let text = BytePath.text(value) else {
            throw PrepareRootError.invalidOstreeArgument(value: shown, reason: "not valid UTF-8")
        }
        // The byte, not String.hasPrefix: that compares grapheme clusters, and `/` followed by a
        // combining mark is not the Character "/".
        guard BytePath.isAbsolute(value) else {
            throw PrepareRootError.invalidOstreeArgument(value: shown, reason: "not an absolute path")
        }
        return text
    }
}

extension KernelCommandLine {
    /// Reads the command line from `path`. For /proc/cmdline with no /proc (PID 1, or an
    /// initramfs that mounted nothing yet) proc is mounted for the read and unmounted right
    /// after, leaving the file system as it was, as ostree-prepare-root does.
    static func load(path: String, isProc: Bool) throws -> [UInt8] {
        var mountedProc = false
        if isProc && FileSystem.statIfPresent(path) == nil {
            guard errno == ENOENT else { throw PrepareRootError.unreadable(what: what, path: path, errno: errno) }
            try FileSystem.makeDirectory("/proc", mode: 0o555)
            try FileSystem.mount("proc", "/proc", type: "proc", flags: UInt(MS_NOSUID | MS_NODEV | MS_NOEXEC), what: "cannot mount proc on")
            mountedProc = true
        }
        defer { if mountedProc { _ = umount2("/proc", Int32(MNT_DETACH)) } }
        // Followed if a link (--cmdline-file names it on purpose), but never opened unless it is
        // a regular file (procfs's cmdline is one), so a FIFO cannot hang the boot.
        guard let line = try FileSystem.readRegularFile(path, what: what, limit: maxLength, followLinks: true) else {
            throw PrepareRootError.unreadable(what: what, path: path, errno: ENOENT)
        }
        return line
    }

    /// How errors name the file.
    static let what = "the kernel command line"
}
