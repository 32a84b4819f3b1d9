// Refs (spec §4): files under refs/heads/ (local) and refs/remotes/REMOTE/ (fetched), holding
// 64 hex characters and a newline. `REMOTE:REF` names a remote ref.
#if canImport(Glibc)
import Glibc
#endif

/// A ref as listed: its full name (`REMOTE:REF` for remote refs) and target.
public struct RefEntry: Hashable, Sendable {
    /// `os/stable` or `origin:os/stable`.
    public var name: String
    /// The commit it names.
    public var checksum: Checksum
}

extension Repository {
    /// Whether `name` is a valid ref name: `/`-separated fragments, each a word character
    /// followed by word characters, `-` or `.`.
    public static func isValidRefName(_ name: String) -> Bool {
        if name.isEmpty { return false }
        for frag in name.split(separator: "/", omittingEmptySubsequences: false) {
            guard let first = frag.first, isWord(first) else { return false }
            for c in frag.dropFirst() where !(isWord(c) || c == "-" || c == ".") { return false }
        }
        return true
    }

    private static func isWord(_ c: Character) -> Bool { c == "_" || c.isLetter || c.isNumber }

    /// Splits `REMOTE:REF` into its parts (remote nil for a local ref) and validates both.
    static func splitRefspec(_ spec: String) throws -> (String?, String) {
        if let colon = spec.firstIndex(of: ":") {
            let remote = String(spec[..<colon]), ref = String(spec[spec.index(after: colon)...])
            guard isValidRefName(remote), !remote.contains("/"), isValidRefName(ref) else {
                throw ArborError.invalidArgument("invalid refspec '\(spec)'")
            }
            return (remote, ref)
        }
        guard isValidRefName(spec) else { throw ArborError.invalidArgument("invalid ref name '\(spec)'") }
        return (nil, spec)
    }

    private func refFilePath(_ spec: String) throws -> String {
        let (remote, ref) = try Self.splitRefspec(spec)
        if let r = remote { return "refs/remotes/\(r)/\(ref)" }
        return "refs/heads/\(ref)"
    }

    /// The commit a ref names, or nil when there is no such ref.
    public func resolveRef(_ spec: String) throws -> Checksum? {
        let path = try refFilePath(spec)
        guard let fd = try dir.openIfExists(path, O_RDONLY | O_NOFOLLOW) else { return nil }
        let st = try fd.stat()
        if st.st_mode & S_IFMT == S_IFDIR { return nil }
        let text = String(decoding: try fd.readAll(limit: 4096), as: UTF8.self).trimmingSpaces
        let line = text.split(separator: "\n").first.map(String.init) ?? ""
        guard let c = Checksum(hex: line), isChecksumString(line) else {
            throw ArborError.invalidRepository("ref \(spec) (\(path)) does not hold a checksum")
        }
        return c
    }

    /// Points a ref at a commit, atomically and durably. The commit must already be in the repository.
    public func setRef(_ spec: String, to checksum: Checksum) throws {
        let path = try refFilePath(spec)
        let parts = path.split(separator: "/").map(String.init)
        let parent = parts.dropLast().joined(separator: "/")
        guard let leaf = parts.last else { throw ArborError.invalidArgument("invalid ref name '\(spec)'") }
        let d: FileDescriptor
        do { d = try dir.mkdirs(parent, mode: 0o755) } catch {
            throw ArborError.invalidArgument("cannot create ref \(spec): a ref is in the way of its path (\(error))")
        }
        if let st = try d.statIfExists(leaf), st.st_mode & S_IFMT == S_IFDIR {
            throw ArborError.invalidArgument("cannot create ref \(spec): refs exist below it")
        }
        // Staged in tmp/: a kill between create and rename must not leave a file among the refs.
        let staging = try dir.openDirectory("tmp")
        try writeFileAtomically(d, leaf, Array((checksum.hex + "\n").utf8), sync: config.bool("core", "fsync", default: true),
                                staging: staging)
    }

    /// Deletes a ref; returns whether it existed. Empty parent directories are removed.
    @discardableResult
    public func deleteRef(_ spec: String) throws -> Bool {
        let path = try refFilePath(spec)
        guard let st = try dir.statIfExists(path), st.st_mode & S_IFMT != S_IFDIR else { return false }
        try dir.unlink(path)
        var comps = path.split(separator: "/").map(String.init).dropLast()
        while comps.count > 2 && !(comps.count == 3 && comps[1] == "remotes") {
            if unlinkat(dir.raw, comps.joined(separator: "/"), AT_REMOVEDIR) != 0 { break }
            comps = comps.dropLast()
        }
        return true
    }

    /// Every ref, local ones first then remote ones, each sorted by name.
    public func listRefs() throws -> [RefEntry] {
        var out: [RefEntry] = []
        if let heads = try? dir.openDirectory("refs/heads") {
            try walkRefs(heads, prefix: "", into: &out) { $0 }
        }
        if let remotes = try? dir.openDirectory("refs/remotes") {
            for r in try remotes.entries().sorted(by: nameLess) {
                guard let rd = try? remotes.openDirectory(r) else { continue }
                try walkRefs(rd, prefix: "", into: &out) { "\(r):\($0)" }
            }
        }
        return out
    }

    private func walkRefs(_ d: FileDescriptor, prefix: String, into out: inout [RefEntry], name: (String) -> String) throws {
        for e in try d.entries().sorted(by: nameLess) where !e.hasPrefix(".") {
            let full = prefix.isEmpty ? e : "\(prefix)/\(e)"
            let st = try d.stat(e)
            if st.st_mode & S_IFMT == S_IFDIR {
                try walkRefs(try d.openDirectory(e), prefix: full, into: &out, name: name)
            } else if st.st_mode & S_IFMT == S_IFREG {
                let text = String(decoding: try d.openRead(e).readAll(limit: 4096), as: UTF8.self).trimmingSpaces
                guard let c = Checksum(hex: text) else {
                    throw ArborError.invalidRepository("ref \(name(full)) does not hold a checksum")
                }
                out.append(RefEntry(name: name(full), checksum: c))
            }
        }
    }

    /// Resolves a revision: a ref, `REMOTE:REF`, a full checksum or a unique prefix of a commit
    /// checksum, each optionally followed by one or more `^` (parent).
    public func resolveRev(_ rev: String) throws -> Checksum {
        var base = Substring(rev)
        var parents = 0
        while base.hasSuffix("^") { base = base.dropLast(); parents += 1 }
        guard !base.isEmpty else { throw ArborError.invalidArgument("empty revision") }
        var c = try resolveBase(String(base))
        for _ in 0..<parents {
            let commit = try loadCommit(c)
            guard let p = commit.parent else { throw ArborError.notFound("commit \(c.hex) has no parent") }
            c = p
        }
        return c
    }

    private func resolveBase(_ rev: String) throws -> Checksum {
        if isChecksumString(rev), let c = Checksum(hex: rev) { return c }
        if Self.isValidRefName(rev) || rev.contains(":") {
            if let found = try? resolveRef(rev) { return found }
        }
        let hexChars = rev.utf8.allSatisfy { (48...57).contains($0) || (97...102).contains($0) }
        if hexChars && !rev.isEmpty && rev.count < 64 {
            let matches = try commitsWithPrefix(rev)
            if matches.count == 1 { return matches[0] }
            if matches.count > 1 {
                throw ArborError.ambiguous("ambiguous revision '\(rev)': matches \(matches.count) commits")
            }
        }
        throw ArborError.notFound("no such ref or commit: \(rev)")
    }

    /// Commits whose checksum starts with `prefix` (hex characters).
    public func commitsWithPrefix(_ prefix: String) throws -> [Checksum] {
        if prefix.count < 2 {
            return try objectsDir.entries().filter { $0.utf8.count == 2 && $0.hasPrefix(prefix) }.sorted()
                .flatMap { try commitsWithPrefix($0) }
        }
        let d = String(prefix.prefix(2)), rest = String(prefix.dropFirst(2))
        guard let sub = try? objectsDir.openDirectory(d) else { return [] }
        return try sub.entries().filter { $0.hasPrefix(rest) && $0.hasSuffix(".commit") }
            .compactMap { Checksum(hex: d + $0.dropLast(7)) }.sorted()
    }

    /// Every commit object in the repository.
    public func allCommits() throws -> [Checksum] {
        var out: [Checksum] = []
        for d in try objectsDir.entries() where d.utf8.count == 2 {
            guard let sub = try? objectsDir.openDirectory(d) else { continue }
            for e in try sub.entries() where e.hasSuffix(".commit") {
                if let c = Checksum(hex: d + e.dropLast(7)) { out.append(c) }
            }
        }
        return out.sorted()
    }
}
