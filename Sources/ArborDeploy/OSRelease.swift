// os-release (freedesktop): `KEY=VALUE` lines, values optionally shell-quoted. OSTree titles boot
// entries with PRETTY_NAME, else ID, of `usr/lib/os-release`, falling back to `etc/os-release` (spec §9).
import ArborCore

/// Reads os-release from a commit's tree (never from disk, so no symlink can lead outside the tree).
public enum OSRelease {
    /// Parses os-release text into its variables.
    public static func parse(_ text: String) -> [String: String] {
        var out: [String: String] = [:]
        // Split on the byte: in Swift "\r\n" is one Character and would not split on "\n".
        for raw in text.utf8.split(separator: UInt8(ascii: "\n")) {
            let line = String(Substring(raw)).trimmingSpaces
            guard !line.hasPrefix("#"), let eq = line.firstIndex(of: "=") else { continue }
            out[String(line[..<eq])] = unquote(String(line[line.index(after: eq)...]))
        }
        return out
    }

    /// Removes shell quoting: '...' literally, "..." with backslash escapes.
    static func unquote(_ v: String) -> String {
        var out = ""
        var quote: Character?
        var escaped = false
        for c in v {
            if escaped { out.append(c); escaped = false; continue }
            if quote == "'" { if c == "'" { quote = nil } else { out.append(c) }; continue }
            if c == "\\" { escaped = true; continue }
            if c == "\"" || c == "'" {
                if quote == c { quote = nil } else if quote == nil { quote = c } else { out.append(c) }
                continue
            }
            out.append(c)
        }
        return out
    }

    /// The os-release variables of a commit, or nil when it has none.
    public static func variables(repo: Repository, commit: Checksum) throws -> [String: String]? {
        let c = try repo.loadCommit(commit)
        for path in ["usr/lib/os-release", "etc/os-release"] {
            if let bytes = try readFile(repo: repo, commit: c, path: path) {
                return parse(String(decoding: bytes, as: UTF8.self))
            }
        }
        return nil
    }

    /// VERSION_ID of a commit's os-release, if any.
    public static func versionID(repo: Repository, commit: Checksum) -> String? {
        guard let vars = try? variables(repo: repo, commit: commit) else { return nil }
        return vars["VERSION_ID"]
    }

    /// PRETTY_NAME, else ID: the name OSTree puts in boot entry titles.
    public static func name(repo: Repository, commit: Checksum) throws -> String {
        guard let vars = try variables(repo: repo, commit: commit) else {
            throw ArborError.invalidArgument("commit \(commit.hex) has no usr/lib/os-release or etc/os-release")
        }
        guard let n = vars["PRETTY_NAME"] ?? vars["ID"], !n.isEmpty else {
            throw ArborError.invalidArgument("commit \(commit.hex): os-release has neither PRETTY_NAME nor ID")
        }
        return n
    }

    /// A regular file's content from a commit, following symlinks inside the tree (at most 8).
    static func readFile(repo: Repository, commit: CommitObject, path: String, limit: Int = 1 << 20) throws -> [UInt8]? {
        var current = path
        for _ in 0..<8 {
            guard let e = try repo.lookupPath(commit: commit, path: current) else { return nil }
            switch e.kind {
            case .directory: return nil
            case .file:
                guard e.size <= UInt64(limit) else { return nil }
                var out: [UInt8] = []
                try repo.readContent(e.checksum, verify: true) { out.append(contentsOf: $0) }
                return out
            case .symlink:
                guard let target = e.symlinkTarget else { return nil }
                var comps = target.hasPrefix("/") ? [] : Array(pathComponents(current).dropLast())
                for c in pathComponents(target) {
                    if c == ".." { if !comps.isEmpty { comps.removeLast() } } else { comps.append(c) }
                }
                current = comps.joined(separator: "/")
            }
        }
        return nil
    }
}
