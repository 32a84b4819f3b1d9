// The key-file syntax of ostree's configuration files (GLib's GKeyFile, the parts that matter
// for prepare-root.conf), parsed without GLib.

/// A minimal GLib-style key file: `[group]` headers, `key=value` lines, `#` comments. Keys and
/// values are trimmed of surrounding blanks; a later duplicate key wins.
struct KeyFile {
    /// group name → key → value.
    private var groups: [String: [String: String]] = [:]

    /// Parses the text of a key file; malformed lines are skipped.
    init(_ bytes: [UInt8]) {
        var group: String?
        for raw in String(decoding: bytes, as: UTF8.self).split(separator: "\n", omittingEmptySubsequences: true) {
            let line = KeyFile.trim(Substring(raw))
            if line.isEmpty || line.hasPrefix("#") { continue }
            if line.hasPrefix("[") && line.hasSuffix("]") {
                group = String(line.dropFirst().dropLast())
                continue
            }
            guard let name = group, let eq = line.firstIndex(of: "=") else { continue }
            let key = KeyFile.trim(line[..<eq])
            let value = KeyFile.trim(line[line.index(after: eq)...])
            groups[name, default: [:]][String(key)] = String(value)
        }
    }

    /// The value of `key` in `group`, if present.
    func value(group: String, key: String) -> String? {
        return groups[group]?[key]
    }

    /// `text` without leading and trailing spaces, tabs and carriage returns.
    static func trim(_ text: Substring) -> Substring {
        let blank: (Character) -> Bool = { $0 == " " || $0 == "\t" || $0 == "\r" }
        guard let first = text.firstIndex(where: { !blank($0) }), let last = text.lastIndex(where: { !blank($0) }) else { return "" }
        return text[first...last]
    }
}
