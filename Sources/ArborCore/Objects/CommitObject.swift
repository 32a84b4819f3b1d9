// commit: (a{sv}aya(say)sstayay) -- metadata, parent, related objects, subject, body,
// timestamp (big-endian), root dirtree, root dirmeta (spec §3.4).

/// A commit object. A commit read from disk keeps its exact bytes: metadata key order is not
/// canonical, so a commit is never re-encoded.
public struct CommitObject: Hashable, Sendable {
    /// The `a{sv}` metadata (an `.array` of dict entries).
    public var metadata: GVariant
    /// The parent commit, if any.
    public var parent: Checksum?
    /// The one-line subject.
    public var subject: String
    /// The body text.
    public var body: String
    /// Seconds since the epoch, UTC.
    public var timestamp: UInt64
    /// The root directory listing.
    public var rootTree: Checksum
    /// The root directory metadata.
    public var rootMeta: Checksum
    /// The serialised bytes (exactly as stored when read from disk).
    public private(set) var bytes: [UInt8]

    static let type = try! GVariantType("(a{sv}aya(say)sstayay)")
    static let metadataType = GVariantType.array(.dictEntry(.string, .variant))

    /// Creates a new commit and serialises it.
    public init(metadata: [(String, GVariant)], parent: Checksum?, subject: String, body: String,
                timestamp: UInt64, rootTree: Checksum, rootMeta: Checksum) {
        self.metadata = GVariant.vardict(metadata)
        self.parent = parent
        self.subject = subject
        self.body = body
        self.timestamp = timestamp
        self.rootTree = rootTree
        self.rootMeta = rootMeta
        self.bytes = GVariant.tuple([
            self.metadata, .bytes(parent?.bytes ?? []),
            .array(element: .tuple([.string, .array(.byte)]), []),
            .string(subject), .string(body), .uint64(timestamp.bigEndian),
            .bytes(rootTree.bytes), .bytes(rootMeta.bytes),
        ]).serialize()
    }

    /// Parses and validates a commit object.
    public static func parse(_ bytes: [UInt8], name: String) throws -> CommitObject {
        let v = try parseNormal(bytes, as: type, name: name)
        guard case let .tuple(c) = v, c.count == 8, case let .bytes(parentBytes) = c[1],
              case let .string(subject) = c[3], case let .string(body) = c[4], case let .uint64(ts) = c[5],
              case let .bytes(tree) = c[6], case let .bytes(meta) = c[7] else {
            throw ArborError.corruptObject(name: name, reason: "not a commit")
        }
        var parent: Checksum?
        if !parentBytes.isEmpty {
            guard let p = Checksum(bytes: parentBytes) else { throw ArborError.corruptObject(name: name, reason: "bad parent checksum") }
            parent = p
        }
        guard let rt = Checksum(bytes: tree), let rm = Checksum(bytes: meta) else {
            throw ArborError.corruptObject(name: name, reason: "bad root checksum")
        }
        var commit = CommitObject(metadata: [], parent: parent, subject: subject, body: body,
                                  timestamp: UInt64(bigEndian: ts), rootTree: rt, rootMeta: rm)
        commit.metadata = c[0]
        commit.bytes = bytes
        return commit
    }

    /// The commit's checksum (of its exact bytes).
    public var checksum: Checksum { SHA256Hasher.hash(bytes) }

    /// SHA-256 of the root dirtree and dirmeta checksums, shown by `log` as ContentChecksum.
    public var contentChecksum: Checksum { SHA256Hasher.hash(rootTree.bytes + rootMeta.bytes) }

    /// The `version` metadata string, if present.
    public var version: String? { metadata.lookup("version")?.stringValue }

    /// Metadata entries in stored order, values unwrapped from their variants.
    public var metadataEntries: [(key: String, value: GVariant)] {
        guard case let .array(_, items) = metadata else { return [] }
        return items.compactMap { item in
            guard case let .dictEntry(k, v) = item, case let .string(key) = k else { return nil }
            if case let .variant(inner) = v { return (key, inner) }
            return (key, v)
        }
    }
}
