// dirtree: (a(say)a(sayay)) -- files (name, content checksum) and subdirectories
// (name, dirtree checksum, dirmeta checksum), each sorted bytewise by name (spec §3.2).

/// A directory listing object.
public struct DirTree: Hashable, Sendable {
    /// A file or symlink entry.
    public struct File: Hashable, Sendable {
        /// The entry name (one path component).
        public var name: String
        /// The content object's checksum.
        public var checksum: Checksum
        /// Creates an entry.
        public init(name: String, checksum: Checksum) { self.name = name; self.checksum = checksum }
    }
    /// A subdirectory entry.
    public struct Dir: Hashable, Sendable {
        /// The entry name.
        public var name: String
        /// The subdirectory's dirtree checksum.
        public var tree: Checksum
        /// The subdirectory's dirmeta checksum.
        public var meta: Checksum
        /// Creates an entry.
        public init(name: String, tree: Checksum, meta: Checksum) { self.name = name; self.tree = tree; self.meta = meta }
    }

    /// Files, sorted by name.
    public var files: [File]
    /// Subdirectories, sorted by name.
    public var dirs: [Dir]

    /// Creates a listing; entries are sorted here so callers need not.
    public init(files: [File], dirs: [Dir]) {
        self.files = files.sorted { nameLess($0.name, $1.name) }
        self.dirs = dirs.sorted { nameLess($0.name, $1.name) }
    }

    static let type = GVariantType.tuple([.array(.tuple([.string, .array(.byte)])),
                                          .array(.tuple([.string, .array(.byte), .array(.byte)]))])

    /// The serialised object.
    public func serialize() -> [UInt8] {
        GVariant.tuple([
            .array(element: .tuple([.string, .array(.byte)]), files.map { .tuple([.string($0.name), .bytes($0.checksum.bytes)]) }),
            .array(element: .tuple([.string, .array(.byte), .array(.byte)]),
                   dirs.map { .tuple([.string($0.name), .bytes($0.tree.bytes), .bytes($0.meta.bytes)]) }),
        ]).serialize()
    }

    /// Parses and validates a dirtree: normal form, valid names, 32-byte checksums, no name twice.
    public static func parse(_ bytes: [UInt8], name: String) throws -> DirTree {
        let v = try parseNormal(bytes, as: type, name: name)
        guard case let .tuple(c) = v, c.count == 2 else { throw ArborError.corruptObject(name: name, reason: "not a dirtree") }
        var files: [File] = []
        var dirs: [Dir] = []
        if case let .array(_, items) = c[0] {
            files.reserveCapacity(items.count)
            for item in items {
                guard case let .tuple(f) = item, f.count == 2, case let .string(n) = f[0], case let .bytes(cs) = f[1],
                      let sum = Checksum(bytes: cs) else {
                    throw ArborError.corruptObject(name: name, reason: "bad file entry")
                }
                try validateName(n, object: name)
                files.append(File(name: n, checksum: sum))
            }
        }
        if case let .array(_, items) = c[1] {
            dirs.reserveCapacity(items.count)
            for item in items {
                guard case let .tuple(d) = item, d.count == 3, case let .string(n) = d[0], case let .bytes(t) = d[1],
                      case let .bytes(m) = d[2], let tree = Checksum(bytes: t), let meta = Checksum(bytes: m) else {
                    throw ArborError.corruptObject(name: name, reason: "bad directory entry")
                }
                try validateName(n, object: name)
                dirs.append(Dir(name: n, tree: tree, meta: meta))
            }
        }
        var seen = Set<EntryName>()
        for n in files.map(\.name) + dirs.map(\.name) where !seen.insert(EntryName(n)).inserted {
            throw ArborError.corruptObject(name: name, reason: "duplicate entry \"\(n)\"")
        }
        var t = DirTree(files: [], dirs: [])
        t.files = files
        t.dirs = dirs
        return t
    }

    /// Rejects names that are not a single path component.
    static func validateName(_ n: String, object: String) throws {
        if n.isEmpty || n == "." || n == ".." || n.utf8.contains(UInt8(ascii: "/")) || n.utf8.contains(0) {
            throw ArborError.corruptObject(name: object, reason: "invalid entry name \"\(n)\"")
        }
    }
}

/// Bytewise (strcmp) ordering of UTF-8 names, OSTree's sort order.
@inline(__always) public func nameLess(_ a: String, _ b: String) -> Bool {
    a.utf8.lexicographicallyPrecedes(b.utf8)
}

/// A file name compared and hashed by its UTF-8 bytes. Swift's `String` equality is Unicode
/// canonical equivalence ("café" precomposed equals "café" decomposed), but on disk and in
/// OSTree those are two different names.
public struct EntryName: Hashable, Sendable {
    /// The name.
    public let string: String
    /// Wraps a name.
    public init(_ s: String) { string = s }
    public static func == (a: EntryName, b: EntryName) -> Bool { a.string.utf8.elementsEqual(b.string.utf8) }
    public func hash(into h: inout Hasher) {
        for b in string.utf8 { h.combine(b) }
    }
}

/// Whether two names are the same bytes.
@inline(__always) public func sameName(_ a: String, _ b: String) -> Bool { a.utf8.elementsEqual(b.utf8) }
