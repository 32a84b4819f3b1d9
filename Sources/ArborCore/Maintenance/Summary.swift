// The summary file (spec §7): (a(s(taya{sv}))a{sv}) -- local refs sorted by name, each with
// the commit's size (little-endian, unlike every other OSTree integer), checksum and
// {ostree.commit.version, ostree.commit.timestamp (BE)}; then repository metadata.
// `summary.sig` is detached metadata (a{sv}) signing the summary's exact bytes.
#if canImport(Glibc)
import Glibc
#endif

/// A parsed summary.
public struct Summary: Sendable {
    /// One ref of the summary.
    public struct Ref: Sendable {
        /// The ref name.
        public var name: String
        /// The commit object's size in bytes.
        public var commitSize: UInt64
        /// The commit.
        public var checksum: Checksum
        /// Per-ref metadata (a{sv}).
        public var metadata: GVariant
        /// `ostree.commit.timestamp`, if present.
        public var timestamp: UInt64? {
            metadata.lookup("ostree.commit.timestamp")?.uint64Value.map { UInt64(bigEndian: $0) }
        }
        /// `ostree.commit.version`, if present.
        public var version: String? { metadata.lookup("ostree.commit.version")?.stringValue }
    }
    /// Refs, sorted by name.
    public var refs: [Ref]
    /// Repository metadata (a{sv}).
    public var metadata: GVariant
    /// The exact bytes.
    public var bytes: [UInt8]

    static let type = try! GVariantType("(a(s(taya{sv}))a{sv})")

    /// Parses summary bytes (hostile input).
    public static func parse(_ bytes: [UInt8]) throws -> Summary {
        let v = try parseNormal(bytes, as: type, name: "summary")
        guard case let .tuple(c) = v, c.count == 2, case let .array(_, items) = c[0] else {
            throw ArborError.corruptObject(name: "summary", reason: "not a summary")
        }
        var refs: [Ref] = []
        for item in items {
            guard case let .tuple(r) = item, r.count == 2, case let .string(name) = r[0], case let .tuple(info) = r[1],
                  info.count == 3, case let .uint64(size) = info[0], case let .bytes(cs) = info[1],
                  let checksum = Checksum(bytes: cs) else {
                throw ArborError.corruptObject(name: "summary", reason: "bad ref entry")
            }
            refs.append(Ref(name: name, commitSize: size, checksum: checksum, metadata: info[2]))
        }
        return Summary(refs: refs, metadata: c[1], bytes: bytes)
    }
}

extension Repository {
    /// Builds the summary of the local refs as of `now`.
    public func buildSummary(now: UInt64) throws -> [UInt8] {
        var refItems: [GVariant] = []
        for ref in try listRefs() where !ref.name.contains(":") {
            let bytes = try readMetadata(ref.checksum, .commit)
            let commit = try CommitObject.parse(bytes, name: ObjectName(ref.checksum, .commit).description)
            var meta: [(String, GVariant)] = []
            if let v = commit.version { meta.append(("ostree.commit.version", .string(v))) }
            meta.append(("ostree.commit.timestamp", .uint64(commit.timestamp.bigEndian)))
            refItems.append(.tuple([.string(ref.name), .tuple([.uint64(UInt64(bytes.count)), .bytes(ref.checksum.bytes), .vardict(meta)])]))
        }
        var meta: [(String, GVariant)] = [
            ("ostree.summary.mode", .string(mode.configName)),
            ("ostree.summary.last-modified", .uint64(now.bigEndian)),
            ("ostree.summary.tombstone-commits", .boolean(config.bool("core", "tombstone-commits", default: false))),
            ("ostree.summary.indexed-deltas", .boolean(true)),
        ]
        if let cid = config.value("core", "collection-id") { meta.append(("ostree.summary.collection-id", .string(cid))) }
        return GVariant.tuple([.array(element: Summary.type.tupleChild(0).arrayElement, refItems), .vardict(meta)]).serialize()
    }

    /// Regenerates `summary` (and `summary.sig` when keys are given; a stale one is removed).
    public func updateSummary(signingKeys: [Ed25519.SecretKey] = [], now: UInt64? = nil) throws {
        let lock = try lock(.shared)
        defer { lock?.release() }
        let bytes = try buildSummary(now: now ?? UInt64(max(0, time(nil))))
        let sync = config.bool("core", "fsync", default: true)
        try dir.unlink("summary.sig")
        try writeFileAtomically(dir, "summary", bytes, sync: sync)
        if !signingKeys.isEmpty {
            let sigs = try signingKeys.map { try $0.sign(bytes) }
            let (meta, _) = addingSignatures(sigs, to: nil)
            try writeFileAtomically(dir, "summary.sig", meta.serialize(), sync: sync)
        }
    }

    /// Reads the summary, or nil when there is none.
    public func readSummary() throws -> Summary? {
        guard let fd = try dir.openIfExists("summary", O_RDONLY | O_NOFOLLOW) else { return nil }
        return try Summary.parse(try fd.readAll(limit: Self.maxMetadataSize))
    }

    /// Verifies `summary.sig` against trusted keys.
    public func verifySummary(keys: [Ed25519.PublicKey]) throws -> VerifyResult {
        guard let s = try readSummary() else { throw ArborError.notFound("the repository has no summary") }
        guard let fd = try dir.openIfExists("summary.sig", O_RDONLY | O_NOFOLLOW) else {
            throw ArborError.notFound("the summary has no signature (summary.sig)")
        }
        let sig = try parseNormal(try fd.readAll(limit: 1 << 20), as: CommitObject.metadataType, name: "summary.sig")
        return try verifySignatures(ed25519Signatures(in: sig), message: s.bytes, keys: keys, what: "the summary")
    }
}

extension GVariantType {
    func tupleChild(_ i: Int) -> GVariantType {
        if case let .tuple(c) = self, i < c.count { return c[i] }
        return self
    }
    var arrayElement: GVariantType {
        if case let .array(e) = self { return e }
        return self
    }
}
