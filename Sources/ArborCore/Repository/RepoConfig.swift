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

    static func sectionName(_ line: String) -> String? {
        let t = line.trimmingSpaces
        guard t.hasPrefix("["), t.hasSuffix("]"), t.count >= 2 else { return nil }
        return String(t.dropFirst().dropLast())
    }

    static func keyValue(_ line: String) -> (String, String)? {
        let t = line.trimmingSpaces
        if t.isEmpty || t.hasPrefix("#") || t.hasPrefix("[") { return nil }
        guard let eq = t.firstIndex(of: "=") else { return nil }
        return (String(t[..<eq]).trimmingSpaces, String(t[t.index(after: eq)...]).trimmingSpaces)
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
    /// The string without leading and trailing spaces and tabs.
    var trimmingSpaces: String {
        var s = Substring(self)
        while let f = s.first, f == " " || f == "\t" || f == "\r" || f == "\n" { s = s.dropFirst() }
        while let l = s.last, l == " " || l == "\t" || l == "\r" || l == "\n" { s = s.dropLast() }
        return String(s)
    }
}
