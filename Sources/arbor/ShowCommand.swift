// `arbor show` and `arbor log`: a commit in `ostree show`'s format, or as JSON.
import ArborCore
import ArgumentParser

struct ShowCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "show",
        abstract: "Show a commit: checksum, parent, date, subject, body and metadata."
    )

    @OptionGroup var repoOptions: RepoOptions

    @Flag(help: "Print JSON.")
    var json = false

    @Argument(help: "The commit.")
    var rev: String

    func run() throws {
        let repo = try repoOptions.open()
        let c = try repo.resolveRev(rev)
        let commit = try repo.loadCommit(c)
        if json {
            print(commitJSON(c, commit, repo: repo).render())
        } else {
            print(commitText(c, commit), terminator: "")
            let entries = commit.metadataEntries
            if !entries.isEmpty {
                print("Metadata:")
                for e in entries { print("    \(e.key): \(gvariantText(e.value))") }
            }
        }
    }
}

struct LogCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "log",
        abstract: "Show a commit and its ancestors present in the repository."
    )

    @OptionGroup var repoOptions: RepoOptions

    @Flag(help: "Print JSON.")
    var json = false

    @Argument(help: "The newest commit.")
    var rev: String

    func run() throws {
        let repo = try repoOptions.open()
        var next: Checksum? = try repo.resolveRev(rev)
        var items: [JSON] = []
        var seen = Set<Checksum>()
        while let c = next, seen.insert(c).inserted {
            guard repo.hasObject(c, .commit) else {
                if !json { print("<< History beyond this commit not fetched >>") }
                break
            }
            let commit = try repo.loadCommit(c)
            if json { items.append(commitJSON(c, commit, repo: repo)) } else { print(commitText(c, commit), terminator: "") }
            next = commit.parent
        }
        if json { print(JSON.array(items).render()) }
    }
}

/// The text `ostree show` and `ostree log` print for one commit.
func commitText(_ c: Checksum, _ commit: CommitObject) -> String {
    var s = "commit \(c.hex)\n"
    if let p = commit.parent { s += "Parent:  \(p.hex)\n" }
    s += "ContentChecksum:  \(commit.contentChecksum.hex)\n"
    s += "Date:  \(formatDate(commit.timestamp))\n"
    if let v = commit.version { s += "Version: \(v)\n" }
    if commit.subject.isEmpty {
        s += "(no subject)\n"
    } else {
        s += "\n" + indented(commit.subject)
    }
    if !commit.body.isEmpty { s += "\n" + indented(commit.body) }
    return s + "\n"
}

private func indented(_ text: String) -> String {
    text.split(separator: "\n", omittingEmptySubsequences: false).map { "    \($0)\n" }.joined()
}

/// A commit as JSON.
func commitJSON(_ c: Checksum, _ commit: CommitObject, repo: Repository) -> JSON {
    var o: [(String, JSON)] = [("checksum", .string(c.hex))]
    o.append(("parent", commit.parent.map { .string($0.hex) } ?? .null))
    o.append(("subject", .string(commit.subject)))
    o.append(("body", .string(commit.body)))
    o.append(("timestamp", .uint(commit.timestamp)))
    o.append(("date", .string(formatDate(commit.timestamp))))
    o.append(("version", commit.version.map { .string($0) } ?? .null))
    o.append(("contentChecksum", .string(commit.contentChecksum.hex)))
    o.append(("rootTree", .string(commit.rootTree.hex)))
    o.append(("rootMeta", .string(commit.rootMeta.hex)))
    o.append(("partial", .bool(repo.isPartial(c))))
    o.append(("metadata", .object(commit.metadataEntries.map { ($0.key, JSON($0.value)) })))
    return .object(o)
}

/// `YYYY-MM-DD HH:MM:SS +0000`, as `ostree` prints commit dates.
func formatDate(_ t: UInt64) -> String {
    let days = Int(t / 86400), secs = Int(t % 86400)
    // Civil date from days (Howard Hinnant's algorithm).
    let z = days + 719468
    let era = z / 146097
    let doe = z - era * 146097
    let yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100)
    let mp = (5 * doy + 2) / 153
    let d = doy - (153 * mp + 2) / 5 + 1
    let m = mp < 10 ? mp + 3 : mp - 9
    let y = yoe + era * 400 + (m <= 2 ? 1 : 0)
    func two(_ n: Int) -> String { n < 10 ? "0\(n)" : "\(n)" }
    return "\(y)-\(two(m))-\(two(d)) \(two(secs / 3600)):\(two(secs / 60 % 60)):\(two(secs % 60)) +0000"
}

/// A GVariant in GLib's text notation ('string', [a, b], true, uint64 5).
func gvariantText(_ v: GVariant) -> String {
    switch v {
    case let .boolean(b): return b ? "true" : "false"
    case let .byte(b): return "byte 0x" + String(b, radix: 16)
    case let .int16(i): return "int16 \(i)"
    case let .uint16(i): return "uint16 \(i)"
    case let .int32(i): return "\(i)"
    case let .uint32(i): return "uint32 \(i)"
    case let .int64(i): return "int64 \(i)"
    case let .uint64(i): return "uint64 \(i)"
    case let .double(d): return "\(d)"
    case let .string(s), let .objectPath(s), let .signature(s):
        return "'" + s.replacingQuotes() + "'"
    case let .bytes(b): return "[byte " + b.map { "0x" + ($0 < 16 ? "0" : "") + String($0, radix: 16) }.joined(separator: ", ") + "]"
    case let .array(_, items): return "[" + items.map(gvariantText).joined(separator: ", ") + "]"
    case let .tuple(items): return "(" + items.map(gvariantText).joined(separator: ", ") + ")"
    case let .dictEntry(k, val): return "{" + gvariantText(k) + ": " + gvariantText(val) + "}"
    case let .variant(inner): return "<" + gvariantText(inner) + ">"
    case let .maybe(_, inner): return inner.map(gvariantText) ?? "nothing"
    }
}

extension String {
    func replacingQuotes() -> String {
        var out = ""
        for c in self {
            if c == "'" || c == "\\" { out.append("\\") }
            out.append(c)
        }
        return out
    }
}
