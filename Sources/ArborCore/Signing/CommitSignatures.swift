// Ed25519 signatures in detached metadata (spec §3.5, §6): the `.commitmeta` of a commit (and
// `summary.sig` for the summary) is an a{sv} whose key `ostree.sign.ed25519` holds an `aay`,
// one 64-byte signature per key, over the exact bytes of the signed file.

/// The detached-metadata key for ed25519 signatures.
public let ed25519SignatureKey = "ostree.sign.ed25519"

/// How a verification went.
public struct VerifyResult: Sendable {
    /// The key that verified a signature.
    public var key: Ed25519.PublicKey
    /// How many signatures were present.
    public var signatures: Int
}

/// Adds signatures to an a{sv} detached-metadata value, keeping other keys and their order.
public func addingSignatures(_ sigs: [[UInt8]], to metadata: GVariant?) -> (GVariant, Int) {
    var entries: [(String, GVariant)] = []
    if case let .array(_, items)? = metadata {
        for item in items {
            guard case let .dictEntry(.string(k), .variant(v)) = item else { continue }
            entries.append((k, v))
        }
    }
    var existing: [[UInt8]] = []
    var at: Int?
    if let i = entries.firstIndex(where: { $0.0 == ed25519SignatureKey }) {
        at = i
        if case let .array(_, items) = entries[i].1 { existing = items.compactMap { $0.bytesValue } }
    }
    var added = 0
    for s in sigs where !existing.contains(s) { existing.append(s); added += 1 }
    let value = GVariant.array(element: .array(.byte), existing.map { .bytes($0) })
    if let i = at { entries[i].1 = value } else { entries.append((ed25519SignatureKey, value)) }
    return (GVariant.vardict(entries), added)
}

/// The ed25519 signatures in a detached-metadata value.
public func ed25519Signatures(in metadata: GVariant?) -> [[UInt8]] {
    guard let v = metadata?.lookup(ed25519SignatureKey) else { return [] }
    if case let .array(_, items) = v { return items.compactMap { $0.bytesValue } }
    return []
}

/// Checks `signatures` over `message` against trusted keys; throws a clear error when none verifies.
public func verifySignatures(_ signatures: [[UInt8]], message: [UInt8], keys: [Ed25519.PublicKey], what: String) throws -> VerifyResult {
    guard !keys.isEmpty else { throw ArborError.invalidArgument("no public keys given to verify \(what)") }
    guard !signatures.isEmpty else { throw ArborError.notFound("\(what) has no ed25519 signature") }
    for key in keys {
        for s in signatures where key.verify(s, message: message) {
            return VerifyResult(key: key, signatures: signatures.count)
        }
    }
    throw ArborError.invalidArgument("none of the \(signatures.count) ed25519 signature(s) on \(what) verifies with the given key(s)")
}

extension Repository {
    /// Signs a commit with each key (signatures already present are not repeated); returns how many were added.
    @discardableResult
    public func signCommit(_ commit: Checksum, keys: [Ed25519.SecretKey]) throws -> Int {
        let bytes = try readMetadata(commit, .commit)
        let sigs = try keys.map { try $0.sign(bytes) }
        let (meta, added) = addingSignatures(sigs, to: try readCommitMeta(commit))
        if added == 0 { return 0 }
        let txn = try Transaction(self)
        do {
            try txn.writeMetadata(.commitMeta, meta.serialize(), named: commit)
            try txn.commit()
        } catch {
            txn.abort()
            throw error
        }
        return added
    }

    /// Verifies a commit's ed25519 signatures against trusted public keys.
    public func verifyCommit(_ commit: Checksum, keys: [Ed25519.PublicKey]) throws -> VerifyResult {
        let bytes = try readMetadata(commit, .commit)
        return try verifySignatures(ed25519Signatures(in: try readCommitMeta(commit)), message: bytes, keys: keys,
                                    what: "commit \(commit.hex)")
    }
}
