// `commit`: layer the sources, write the tree, write the commit object (spec §3.4), publish the
// transaction, and only then move the branch ref.
#if canImport(Glibc)
import Glibc
#endif

/// Where a layer of the committed tree comes from.
public enum TreeSource: Sendable {
    /// A directory on disk.
    case directory(String)
    /// The tree of an existing commit (`--tree=ref=`).
    case ref(String)
    /// A tarball, `-` for standard input (`--tree=tar=`).
    case tarball(String)
    /// An OCI image layout directory and the tag of the image in it (`--tree=oci=DIR[:TAG]`).
    case oci(String, tag: String?)
}

/// Which parent the new commit gets.
public enum ParentChoice: Sendable {
    /// The commit the branch names now (none for a new branch or an orphan).
    case branchHead
    /// No parent.
    case none
    /// This revision.
    case revision(String)
}

/// Everything `commit` needs besides the sources.
public struct CommitOptions: Sendable {
    /// The branch to move; nil for an orphan commit (no ref).
    public var branch: String?
    /// One-line subject.
    public var subject = ""
    /// Body text.
    public var body = ""
    /// The parent commit.
    public var parent: ParentChoice = .branchHead
    /// Seconds since the epoch; nil for now.
    public var timestamp: UInt64?
    /// Metadata entries in order (`--add-metadata-string`).
    public var metadata: [(String, GVariant)] = []
    /// Record `ostree.ref-binding` (the branch and `bindRefs`).
    public var bindings = true
    /// Extra refs to bind.
    public var bindRefs: [String] = []
    /// Do not commit when the tree equals the parent's.
    public var skipIfUnchanged = false
    /// How entry metadata is mapped.
    public var tree = TreeOptions()
    /// Sign the new commit with these keys (ed25519), in the same transaction.
    public var signingKeys: [Ed25519.SecretKey] = []
    /// Record every object's archived and unpacked size (`ostree.sizes`), as `commit --generate-sizes`.
    public var generateSizes = false
    /// How tarball sources are read (OCI layers always autocreate parents and apply whiteouts).
    public var tar = TarOptions()
    /// Creates default options.
    public init() {}
}

/// What `commit` did.
public struct CommitResult: Sendable {
    /// The new commit, or the parent when the tree was unchanged and `skipIfUnchanged` was set.
    public var checksum: Checksum
    /// False when nothing was committed (skip-if-unchanged).
    public var created: Bool
    /// Objects newly written.
    public var objectsWritten: Int
    /// Content bytes newly written.
    public var bytesWritten: UInt64
}

extension Repository {
    /// Commits the layered `sources`. The branch ref moves only after every object is durable.
    public func commit(sources: [TreeSource], options: CommitOptions,
                       progress: ((CommitProgress) -> Void)? = nil) throws -> CommitResult {
        if let b = options.branch, !Self.isValidRefName(b) { throw ArborError.invalidArgument("invalid ref name '\(b)'") }
        for r in options.bindRefs where !Self.isValidRefName(r) { throw ArborError.invalidArgument("invalid ref name '\(r)'") }
        let parent: Checksum?
        switch options.parent {
        case .none: parent = nil
        case let .revision(r):
            parent = try resolveRev(r)
            _ = try loadCommit(parent!)
        case .branchHead: parent = try options.branch.flatMap { try resolveRef($0) }
        }
        let txn = try Transaction(self)
        let builder = CommitBuilder(transaction: txn, options: options.tree)
        do {
            progress?(builder.progress)
            var imageMetadata: [(String, GVariant)] = []
            for s in sources {
                switch s {
                case let .directory(path): try builder.addDirectory(path: path)
                case let .ref(rev): try builder.addCommit(rev)
                case let .tarball(path): try builder.addTarball(path: path, options: options.tar)
                case let .oci(dir, tag):
                    // The topmost image names the commit's content.
                    imageMetadata = try builder.addOCIImage(path: dir, tag: tag, options: options.tar).metadata
                }
            }
            let (tree, meta) = try builder.finish()
            if options.skipIfUnchanged, let p = parent {
                let pc = try loadCommit(p)
                if pc.rootTree == tree && pc.rootMeta == meta {
                    txn.abort()
                    return CommitResult(checksum: p, created: false, objectsWritten: 0, bytesWritten: 0)
                }
            }
            var metadata = options.metadata + imageMetadata.filter { k in !options.metadata.contains { $0.0 == k.0 } }
            if options.bindings {
                // As `ostree`: the key is written even when empty (an orphan commit binds to no ref).
                let refs = Set((options.branch.map { [$0] } ?? []) + options.bindRefs).sorted(by: nameLess)
                metadata.append(("ostree.ref-binding", .array(element: .string, refs.map { .string($0) })))
            }
            if options.generateSizes {
                metadata.append(("ostree.sizes", try builder.sizeIndex(tree: tree, meta: meta)))
            }
            let commit = CommitObject(metadata: metadata, parent: parent, subject: options.subject, body: options.body,
                                      timestamp: options.timestamp ?? UInt64(max(0, time(nil))), rootTree: tree, rootMeta: meta)
            let checksum = try txn.writeMetadata(.commit, commit.bytes)
            if !options.signingKeys.isEmpty {
                // Signed in the same transaction: the commit never appears unsigned.
                let sigs = try options.signingKeys.map { try $0.sign(commit.bytes) }
                try txn.writeMetadata(.commitMeta, addingSignatures(sigs, to: nil).0.serialize(), named: checksum)
            }
            let written = txn.objectsWritten, bytes = txn.contentBytesWritten
            try txn.commit(refs: options.branch.map { [($0, checksum)] } ?? [])
            return CommitResult(checksum: checksum, created: true, objectsWritten: written, bytesWritten: bytes)
        } catch {
            // Workers may still be writing into staging: let them stop before it is removed.
            builder.waitForWorkers()
            txn.abort()
            throw error
        }
    }
}

/// Parses a commit timestamp: seconds (`1704067200` or `@1704067200`), or ISO 8601 / RFC 3339
/// (`2024-01-01T00:00:00Z`, `2024-01-01 00:00:00+02:00`, `2024-01-01`).
public func parseTimestamp(_ text: String) -> UInt64? {
    var s = Substring(text.trimmingSpaces)
    if s.hasPrefix("@") { s = s.dropFirst() }
    if let n = UInt64(s) { return n }
    let chars = Array(s.utf8)
    func num(_ from: Int, _ len: Int) -> Int? {
        guard from + len <= chars.count else { return nil }
        var v = 0
        for c in chars[from..<(from + len)] {
            guard (48...57).contains(c) else { return nil }
            v = v * 10 + Int(c - 48)
        }
        return v
    }
    guard let y = num(0, 4), chars.count >= 10, chars[4] == 45, let mo = num(5, 2), chars[7] == 45, let d = num(8, 2) else { return nil }
    var h = 0, mi = 0, se = 0, i = 10
    if i < chars.count && (chars[i] == 84 || chars[i] == 32 || chars[i] == 116) {
        guard let hh = num(i + 1, 2), chars.count > i + 3, chars[i + 3] == 58, let mm = num(i + 4, 2) else { return nil }
        h = hh; mi = mm; i += 6
        if i < chars.count && chars[i] == 58 {
            guard let ss = num(i + 1, 2) else { return nil }
            se = ss; i += 3
            if i < chars.count && chars[i] == 46 { i += 1; while i < chars.count && (48...57).contains(chars[i]) { i += 1 } }
        }
    }
    var offset = 0
    if i < chars.count {
        if chars[i] == 90 || chars[i] == 122 { i += 1 } else if chars[i] == 43 || chars[i] == 45 {
            let sign = chars[i] == 43 ? 1 : -1
            guard let oh = num(i + 1, 2) else { return nil }
            var om = 0
            if i + 3 < chars.count && chars[i + 3] == 58 { guard let m = num(i + 4, 2) else { return nil }; om = m; i += 6 }
            else if let m = num(i + 3, 2) { om = m; i += 5 } else { i += 3 }
            offset = sign * (oh * 3600 + om * 60)
        } else { return nil }
    }
    guard i == chars.count, (1...12).contains(mo), (1...31).contains(d), h < 24, mi < 60, se < 61 else { return nil }
    // Days from the civil date (Howard Hinnant's algorithm).
    let yy = mo <= 2 ? y - 1 : y
    let era = (yy >= 0 ? yy : yy - 399) / 400
    let yoe = yy - era * 400
    let doy = (153 * (mo + (mo > 2 ? -3 : 9)) + 2) / 5 + d - 1
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy
    let days = era * 146097 + doe - 719468
    let t = days * 86400 + h * 3600 + mi * 60 + se - offset
    return t < 0 ? nil : UInt64(t)
}
