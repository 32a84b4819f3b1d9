// prepare-root.conf as ostree 2023.6+ reads it: glnx_fd_readall_utf8 (the whole file must be
// valid UTF-8, with no NUL), then GLib's g_key_file_load_from_data, whose rules these are, on
// bytes (checked against GLib 2.74):
//
// * lines end at `\n`, and one `\r` right before it is dropped (CRLF files work);
// * leading blanks are skipped: GLib's g_ascii_isspace, which is space, \t, \n, \f and \r
//   (not \v);
// * an empty line or one starting with `#` is a comment;
// * `[NAME]`, followed only by spaces and tabs, opens a group; NAME is non-empty and holds no
//   `[`, `]` or control character;
// * `KEY=VALUE` (the first `=`, not the line's first byte): KEY loses its trailing blanks, holds
//   no `[` or `]` except one trailing `[LOCALE]` (letters, digits, `-_.@`; any non-ASCII byte is
//   taken as a letter here, where GLib asks g_unichar_isalnum), and neither starts nor ends
//   with a space; VALUE loses its leading blanks, keeps its trailing ones;
// * a key before any group, `Encoding` other than UTF-8 in the first group, or any other line
//   makes the whole file fail to load, and ostree-prepare-root with it.
//
// Groups of the same name merge and a later key replaces an earlier one. Booleans are read as
// g_key_file_get_boolean reads them: the value, trailing blanks removed, is exactly `true`,
// `false`, `1` or `0`; anything else (`True`, `yes`) is an error, not false.

/// A GLib key file, parsed strictly; every error names the file and the line.
struct KeyFile {
    /// One value and the line it came from.
    struct Entry {
        /// The raw value (leading blanks removed, as GLib stores it).
        var value: [UInt8]
        /// Its 1-based line number.
        var line: Int
    }

    /// The file's path, for errors.
    let path: String
    /// group name → key → entry, names as raw bytes.
    private var groups: [[UInt8]: [[UInt8]: Entry]] = [:]

    /// Parses `bytes`, the content of `path`; throws PrepareRootError.invalidConfig where GLib
    /// (or ostree's UTF-8 check) would refuse the file.
    init(_ bytes: [UInt8], path: String) throws {
        self.path = path
        guard !bytes.contains(0), String(validating: bytes, as: UTF8.self) != nil else {
            throw PrepareRootError.invalidConfig(path: path, line: 0, reason: "not valid UTF-8 text")
        }
        var group: [UInt8]?
        var firstGroup: [UInt8]?
        var number = 0
        var start = 0
        while start < bytes.count {
            number += 1
            var end = start
            while end < bytes.count && bytes[end] != Self.newline { end += 1 }
            var lineEnd = end
            if end < bytes.count && lineEnd > start && bytes[lineEnd - 1] == Self.carriageReturn { lineEnd -= 1 }
            let line = Array(bytes[start..<lineEnd].drop(while: Self.isBlank))
            start = end + 1
            if line.isEmpty || line[0] == UInt8(ascii: "#") { continue }
            if let name = try groupName(line, number: number) {
                group = name
                if firstGroup == nil { firstGroup = name }
                if groups[name] == nil { groups[name] = [:] }
                continue
            }
            let (key, value) = try keyValue(line, number: number)
            guard let current = group else {
                throw PrepareRootError.invalidConfig(path: path, line: number, reason: "a key before the first [group]")
            }
            if current == firstGroup, key == Array("Encoding".utf8),
               Self.lowercased(value) != Array("utf-8".utf8) {
                throw PrepareRootError.invalidConfig(path: path, line: number, reason: "unsupported Encoding '\(Shown.bytes(value))'")
            }
            groups[current, default: [:]][key] = Entry(value: value, line: number)
        }
    }

    /// `\n`.
    static let newline = UInt8(ascii: "\n")
    /// `\r`.
    static let carriageReturn = UInt8(ascii: "\r")

    /// GLib's g_ascii_isspace: space, \t, \n, \f, \r.
    static func isBlank(_ byte: UInt8) -> Bool {
        return byte == 0x20 || byte == 0x09 || byte == 0x0a || byte == 0x0c || byte == 0x0d
    }

    /// ASCII lower case.
    static func lowercased(_ bytes: [UInt8]) -> [UInt8] {
        return bytes.map { $0 >= 0x41 && $0 <= 0x5a ? $0 + 0x20 : $0 }
    }

    /// `bytes` without its trailing blanks.
    static func trimmedTrailing(_ bytes: [UInt8]) -> [UInt8] {
        guard let last = bytes.lastIndex(where: { !isBlank($0) }) else { return [] }
        return Array(bytes[...last])
    }

    /// The group name when `line` (leading blanks removed) is a group header, nil when it is
    /// not one; throws for a header whose name GLib refuses.
    private func groupName(_ line: [UInt8], number: Int) throws -> [UInt8]? {
        guard line.first == UInt8(ascii: "["), let close = line.firstIndex(of: UInt8(ascii: "]")) else { return nil }
        guard line[(close + 1)...].allSatisfy({ $0 == 0x20 || $0 == 0x09 }) else { return nil }
        let name = Array(line[1..<close])
        guard !name.isEmpty, !name.contains(where: { $0 == UInt8(ascii: "[") || $0 < 0x20 || $0 == 0x7f }) else {
            throw PrepareRootError.invalidConfig(path: path, line: number, reason: "invalid group name '\(Shown.bytes(name))'")
        }
        return name
    }

    /// The key and value of a `KEY=VALUE` line (leading blanks removed); throws for any other
    /// line, as GLib does.
    private func keyValue(_ line: [UInt8], number: Int) throws -> (key: [UInt8], value: [UInt8]) {
        guard let equals = line.firstIndex(of: UInt8(ascii: "=")), equals > 0 else {
            throw PrepareRootError.invalidConfig(path: path, line: number,
                                                 reason: "'\(Shown.bytes(line))' is not a key=value pair, a [group] or a # comment")
        }
        let key = Self.trimmedTrailing(Array(line[..<equals]))
        guard Self.isKeyName(key) else {
            throw PrepareRootError.invalidConfig(path: path, line: number, reason: "invalid key name '\(Shown.bytes(key))'")
        }
        let value = Array(line[(equals + 1)...].drop(while: Self.isBlank))
        return (key, value)
    }

    /// g_key_file_is_key_name: non-empty, no `[`/`]`/`=` but one trailing `[LOCALE]`, no space
    /// at either end of the name part.
    static func isKeyName(_ key: [UInt8]) -> Bool {
        let stop = key.firstIndex(where: { $0 == UInt8(ascii: "[") || $0 == UInt8(ascii: "]") || $0 == UInt8(ascii: "=") }) ?? key.count
        guard stop > 0, key[0] != 0x20, key[stop - 1] != 0x20 else { return false }
        if stop == key.count { return true }
        guard key[stop] == UInt8(ascii: "[") else { return false }
        var index = stop + 1
        while index < key.count && isLocaleByte(key[index]) { index += 1 }
        return index == key.count - 1 && key[index] == UInt8(ascii: "]")
    }

    /// A byte GLib accepts in a key's `[LOCALE]` suffix.
    static func isLocaleByte(_ byte: UInt8) -> Bool {
        switch byte {
        case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "0")...UInt8(ascii: "9"),
             UInt8(ascii: "-"), UInt8(ascii: "_"), UInt8(ascii: "."), UInt8(ascii: "@"), 0x80...0xff:
            return true
        default:
            return false
        }
    }

    /// The entry for `key` in `group`, if present.
    func entry(group: String, key: String) -> Entry? {
        return groups[Array(group.utf8)]?[Array(key.utf8)]
    }

    /// The raw value of `key` in `group`, if present.
    func value(group: String, key: String) -> [UInt8]? {
        return entry(group: group, key: key)?.value
    }

    /// g_key_file_get_boolean: nil when the key is absent, else true or false; throws for any
    /// value but `true`, `false`, `1` and `0` (trailing blanks ignored).
    func boolean(group: String, key: String) throws -> Bool? {
        guard let found = entry(group: group, key: key) else { return nil }
        switch Self.trimmedTrailing(found.value) {
        case Array("true".utf8), Array("1".utf8):
            return true
        case Array("false".utf8), Array("0".utf8):
            return false
        default:
            throw PrepareRootError.invalidConfig(path: path, line: found.line,
                                                 reason: "[\(group)] \(key)=\(Shown.bytes(found.value)) is not a boolean (true, false, 1 or 0)")
        }
    }
}
