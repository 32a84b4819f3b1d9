// The repository `config` file: GLib key-file syntax (INI), spec §4. Lines are kept as written
// so that editing one key preserves the rest, comments included.

/// A parsed key file that preserves the original lines.
public struct RepoConfig: Sendable, Equatable {
    private(set) var lines: [String]

    /// Parses key-file text.
    public init(text: String) {
        // Split on the byte, not the Character: "\r\n" is one Character, so CRLF lines would
        // otherwise never split (found by fuzzing).
        lines = text.utf8.split(separator: UInt8(ascii: "\n"), omittingEmptySubsequences: false).map { String(Substring($0)) }
        if lines.last == "" { lines.removeLast() }
    }

    /// The text to write back.
    public var text: String { lines.map { $0 + "\n" }.joined() }

    /// Section names in file order.
    public var sections: [String] {
        lines.compactMap(Self.sectionName)
    }

    // Brackets, `#` and `=` are matched as bytes, as GLib does: as Characters, "]" or "="
    // followed by a combining mark would not match (found by fuzzing).
    static func sectionName(_ line: String) -> String? { line.trimmingSpaces.groupName }

    static func keyValue(_ line: String) -> (String, String)? {
        let t = line.trimmingSpaces
        if t.isEmpty || t.utf8.first == UInt8(ascii: "#") || t.utf8.first == UInt8(ascii: "[") { return nil }
        return t.splitKeyValue()
    }

    /// The value of `key` in `section`, or nil.
    public func value(_ section: String, _ key: String) -> String? {
        var current: String?
        for line in lines {
            if let s = Self.sectionName(line) { current = s; continue }
            if current == section, let (k, v) = Self.keyValue(line), k == key { return v }
        }
        return nil
    }

    /// A boolean value (`true`/`false`/`1`/`0`), or `defaultValue`.
    public func bool(_ section: String, _ key: String, default defaultValue: Bool) -> Bool {
        switch value(section, key)?.lowercased() {
        case "true", "1", "yes": return true
        case "false", "0", "no": return false
        default: return defaultValue
        }
    }

    /// All keys and values of a section, in order.
    public func entries(_ section: String) -> [(String, String)] {
        var current: String?
        var out: [(String, String)] = []
        for line in lines {
            if let s = Self.sectionName(line) { current = s; continue }
            if current == section, let kv = Self.keyValue(line) { out.append(kv) }
        }
        return out
    }

    /// Refuses a value that would change the file's structure when written: a line break would
    /// start a new key or `[section]`, and other control characters or surrounding spaces
    /// would not read back as written (GLib escapes them; nothing Arbor writes needs them).
    public static func checkValue(_ value: String, _ what: String) throws {
        if value.utf8.contains(where: { $0 < 0x20 || $0 == 0x7f }) {
            throw ArborError.invalidArgument("\(what) \(value.debugDescription) contains a control character")
        }
        if value.trimmingSpaces != value {
            throw ArborError.invalidArgument("\(what) \(value.debugDescription) begins or ends with a space")
        }
    }

    /// Sets `key` in `section`, adding the section at the end when missing.
    public mutating func set(_ section: String, _ key: String, _ value: String) {
        var current: String?
        var lastLineOfSection: Int?
        for (i, line) in lines.enumerated() {
            if let s = Self.sectionName(line) { current = s; if s == section { lastLineOfSection = i }; continue }
            if current == section {
                if let (k, _) = Self.keyValue(line), k == key { lines[i] = "\(key)=\(value)"; return }
                if !line.trimmingSpaces.isEmpty { lastLineOfSection = i }
            }
        }
        if let at = lastLineOfSection {
            lines.insert("\(key)=\(value)", at: at + 1)
        } else {
            if let last = lines.last, !last.trimmingSpaces.isEmpty { lines.append("") }
            lines.append("[\(section)]")
            lines.append("\(key)=\(value)")
        }
    }

    /// Removes a whole section; returns whether it existed.
    @discardableResult
    public mutating func removeSection(_ section: String) -> Bool {
        var out: [String] = []
        var current: String?
        var found = false
        for line in lines {
            if let s = Self.sectionName(line) { current = s; if s == section { found = true; continue } }
            if current == section { continue }
            out.append(line)
        }
        while out.last?.trimmingSpaces.isEmpty == true { out.removeLast() }
        lines = out
        return found
    }
}

extension StringProtocol {
    /// The string without leading and trailing spaces, tabs and line ends. Unicode scalars, not
    /// Characters: a tab followed by a combining mark is one Character, and its tab must still
    /// go (found by fuzzing).
    public var trimmingSpaces: String {
        let scalars = String(self).unicodeScalars
        func space(_ s: Unicode.Scalar) -> Bool { s == " " || s == "\t" || s == "\r" || s == "\n" }
        var lo = scalars.startIndex, hi = scalars.endIndex
        while lo < hi, space(scalars[lo]) { lo = scalars.index(after: lo) }
        while hi > lo, space(scalars[scalars.index(before: hi)]) { hi = scalars.index(before: hi) }
        return String(String.UnicodeScalarView(scalars[lo..<hi]))
    }

    /// The name of a `[group]` header line (already trimmed), matched by byte; nil for any other line.
    public var groupName: String? {
        let t = String(self).utf8
        guard t.count >= 2, t.first == UInt8(ascii: "["), t.last == UInt8(ascii: "]") else { return nil }
        return String(decoding: t.dropFirst().dropLast(), as: UTF8.self)
    }

    /// `key=value` split at the first `=` byte, both sides trimmed; nil without one.
    public func splitKeyValue() -> (key: String, value: String)? {
        let bytes = String(self).utf8
        guard let eq = bytes.firstIndex(of: UInt8(ascii: "=")) else { return nil }
        return (String(decoding: bytes[..<eq], as: UTF8.self).trimmingSpaces,
                String(decoding: bytes[bytes.index(after: eq)...], as: UTF8.self).trimmingSpaces)
    }
}
