// `arbor ls`: list a tree in `ostree ls` format.
import ArborCore
import ArgumentParser

struct LsCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "ls",
        abstract: "List a commit's tree.",
        discussion: "Each line: type and mode, uid, gid, size, path (and -> target for symlinks), as `ostree ls`."
    )

    @OptionGroup var repoOptions: RepoOptions

    @Flag(name: [.customShort("R"), .long], help: "List directories recursively.")
    var recursive = false

    @Flag(name: [.customShort("C"), .customLong("checksum")], help: "Show object checksums.")
    var checksum = false

    @Flag(name: [.customShort("d"), .customLong("dironly")], help: "Show directories themselves, not their contents.")
    var dirOnly = false

    @Flag(help: "Print JSON.")
    var json = false

    @Argument(help: "The commit.")
    var rev: String

    @Argument(help: "Paths in the tree (default /).")
    var paths: [String] = []

    func run() throws {
        let repo = try repoOptions.open()
        let commit = try repo.loadCommit(try repo.resolveRev(rev))
        var entries: [TreeEntry] = []
        for p in paths.isEmpty ? ["/"] : paths {
            try repo.listTree(commit: commit, path: p, recursive: recursive, directoryOnly: dirOnly) { entries.append($0) }
        }
        if json {
            print(JSON.array(entries.map { e in
                var o: [(String, JSON)] = [("path", .string(e.path)), ("type", .string(e.kind.rawValue)),
                                           ("mode", .uint(UInt64(e.mode))), ("uid", .uint(UInt64(e.uid))),
                                           ("gid", .uint(UInt64(e.gid))), ("size", .uint(e.size)),
                                           ("checksum", .string(e.checksum.hex))]
                if let m = e.metaChecksum { o.append(("dirmeta", .string(m.hex))) }
                if let t = e.symlinkTarget { o.append(("target", .string(t))) }
                return JSON.object(o)
            }).render())
            return
        }
        for e in entries { print(e.lsLine(withChecksums: checksum)) }
    }
}

extension TreeEntry {
    /// The line `ostree ls` prints: `d00755 0 0      0 /path`.
    func lsLine(withChecksums: Bool) -> String {
        let type: Character = kind == .directory ? "d" : kind == .symlink ? "l" : "-"
        var octal = String(mode & 0o7777, radix: 8)
        octal = String(repeating: "0", count: max(0, 4 - octal.count)) + octal
        var size = String(self.size)
        size = String(repeating: " ", count: max(0, 6 - size.count)) + size
        var line = "\(type)0\(octal) \(uid) \(gid) \(size) "
        if withChecksums {
            line += checksum.hex + " "
            if let m = metaChecksum { line += m.hex + " " }
        }
        line += path
        if let t = symlinkTarget { line += " -> \(t)" }
        return line
    }
}
