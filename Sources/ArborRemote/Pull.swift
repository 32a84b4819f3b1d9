// `pull`: fetch commits and the objects they reach from an archive repository served as static
// files (spec §7): summary (and summary.sig) or refs/heads/REF, then per commit its .commitmeta
// and .commit, then .dirtree, .dirmeta and .filez objects, only those missing locally. Every
// object is verified before it is staged. The commit is marked partial (state/C.commitpartial)
// before it becomes visible and verified objects are published every few seconds, so an
// interrupted pull keeps its work; the marker goes and the ref moves only when all is there.
import ArborCore
import Dispatch
#if canImport(Glibc)
import Glibc
#endif

/// Options of `pull`.
public struct PullOptions: Sendable {
    /// Refs to pull; empty for every ref in the remote's summary.
    public var refs: [String] = []
    /// Parents to follow beyond each ref's commit (-1 for all).
    public var depth = 0
    /// Write refs as they are on the remote (refs/heads/REF) instead of under refs/remotes/REMOTE/.
    public var mirror = false
    /// Count what would be fetched; write nothing.
    public var dryRun = false
    /// The most requests in flight.
    public var maxConcurrency = 64
    /// Seconds a transfer may stall (under 100 bytes/s) before it is abandoned and retried.
    public var stallTimeout = 60
    /// Creates default options.
    public init() {}
}

/// What a pull did (or, for a dry run, would do).
public struct PullReport: Sendable {
    /// Each pulled ref: its name, commit, and whether the local ref changed.
    public var refs: [(name: String, commit: Checksum, changed: Bool)] = []
    /// Objects fetched and stored (dry run: that would be fetched).
    public var objects = 0
    /// Bytes fetched (dry run: that would be fetched).
    public var bytes: UInt64 = 0
    /// HTTP requests made.
    public var requests = 0
    /// Requests retried after transient errors.
    public var retries = 0
    /// Wall time.
    public var seconds: Double = 0
    /// Whether this was a dry run.
    public var dryRun = false
}

/// Live counters for a progress display.
public final class PullProgress: @unchecked Sendable {
    private let mutex = Mutex()
    private var _fetched = 0, _known = 0, _bytes: UInt64 = 0
    let start = monotonicSeconds()
    /// Creates zeroed counters.
    public init() {}
    func found(_ n: Int = 1) { mutex.withLock { _known += n } }
    func fetched(bytes: Int) { mutex.withLock { _fetched += 1; _bytes += UInt64(bytes) } }
    /// Objects fetched, objects known to be needed so far, bytes, seconds elapsed.
    public var snapshot: (fetched: Int, known: Int, bytes: UInt64, seconds: Double) {
        mutex.withLock { (_fetched, _known, _bytes, monotonicSeconds() - start) }
    }
}

extension Repository {
    /// Pulls from a configured remote.
    public func pull(remote name: String, options: PullOptions, progress: PullProgress = PullProgress()) throws -> PullReport {
        guard let remote = remote(named: name) else { throw ArborError.notFound("no remote named \(name)") }
        let puller = try HTTPPull(repo: self, remote: remote, options: options, progress: progress)
        return try puller.run()
    }
}

/// One pull over HTTP (or file://) from an archive repository.
final class HTTPPull: @unchecked Sendable {
    let repo: Repository
    let remote: Remote
    let options: PullOptions
    let progress: PullProgress
    let fetcher: HTTPFetcher
    let base: String
    let keys: [Ed25519.PublicKey]

    private let mutex = Mutex()
    private var outstanding = 0
    private var firstError: Error?
    private var requested = Set<ObjectName>()
    private var commitsInFlight: [Checksum] = []
    private var txn: Transaction?
    private let txnLock = RWLock()
    private var lastFlush = monotonicSeconds()
    /// Publishes swapped-out transactions, one at a time and in order.
    private let flushes = DispatchQueue(label: "arbor.pull.flush")
    private var stagedSinceFlush = 0
    // Verification and storage run on one thread per core; the small queue in front of them
    // holds the network back when they fall behind, so received bodies never pile up in memory.
    private let workers = WorkQueue(threads: WorkQueue.defaultThreads, capacity: 16)
    private var objectsStored = 0
    private var bytesStored: UInt64 = 0
    private var dryRunBytes: UInt64 = 0
    private var dryRunObjects = 0
    private var sizesFromCommit: [Checksum: UInt64] = [:]

    /// Content up to this size is inflated once into memory, verified and stored from there.
    static let inMemoryLimit = 1 << 20


    init(repo: Repository, remote: Remote, options: PullOptions, progress: PullProgress) throws {
        self.repo = repo
        self.remote = remote
        self.options = options
        self.progress = progress
        // Large objects are received into unlinked files in tmp/, not memory.
        let spillDirectory = options.dryRun ? nil : try repo.dir.openDirectory("tmp")
        fetcher = try HTTPFetcher(maxConcurrency: options.maxConcurrency, stallTimeout: options.stallTimeout,
                                  spillDirectory: spillDirectory, spillLimit: HTTPPull.inMemoryLimit)
        base = remote.url.hasSuffix("/") ? String(remote.url.dropLast()) : remote.url
        keys = remote.signVerify ? try remote.trustedKeys() : []
        if remote.signVerify && keys.isEmpty {
            throw ArborError.invalidArgument("remote \(remote.name) requires signatures but has no trusted ed25519 keys")
        }
    }

    // MARK: Synchronous fetches (summary, refs)

    private func fetchNow(_ path: String, optional: Bool) throws -> [UInt8]? {
        var result: Result<FetchResponse, FetchError>?
        fetcher.get(base + "/" + path) { result = $0 }
        try fetcher.run { true }
        switch result {
        case let .success(r)?: return r.body
        case let .failure(e)?:
            if case .notFound = e, optional { return nil }
            throw ArborError.notFound("cannot fetch from remote \(remote.name): \(e)")
        case nil: throw ArborError.notFound("no answer for \(path)")
        }
    }

    func run() throws -> PullReport {
        defer { workers.close() }
        var report = PullReport()
        report.dryRun = options.dryRun
        // 1. Resolve refs: from the summary when the remote has one.
        let sig = try fetchNow("summary.sig", optional: true)
        let summaryBytes = try fetchNow("summary", optional: true)
        var summary: Summary?
        if let s = summaryBytes {
            summary = try Summary.parse(s)
            if remote.signVerify {
                guard let sigBytes = sig else {
                    throw ArborError.invalidArgument("remote \(remote.name): the summary is not signed, and signatures are required")
                }
                let sigMeta = try GVariant.parse(sigBytes, as: GVariantType("a{sv}"))
                _ = try verifySignatures(ed25519Signatures(in: sigMeta), message: s, keys: keys, what: "the summary of remote \(remote.name)")
            }
        }
        var wanted: [(String, Checksum)] = []
        let names = options.refs.isEmpty ? (summary?.refs.map(\.name) ?? []) : options.refs
        if names.isEmpty {
            throw ArborError.invalidArgument("remote \(remote.name) has no summary: name the refs to pull")
        }
        for ref in names {
            guard Repository.isValidRefName(ref) else { throw ArborError.invalidArgument("invalid ref name '\(ref)'") }
            if let s = summary {
                guard let r = s.refs.first(where: { $0.name == ref }) else {
                    throw ArborError.notFound("remote \(remote.name) has no ref \(ref)")
                }
                wanted.append((ref, r.checksum))
            } else {
                guard let bytes = try fetchNow("refs/heads/\(ref)", optional: true) else {
                    throw ArborError.notFound("remote \(remote.name) has no ref \(ref)")
                }
                let text = String(decoding: bytes, as: UTF8.self).split(separator: "\n").first.map(String.init) ?? ""
                guard isChecksumString(text), let c = Checksum(hex: text) else {
                    throw ArborError.corruptObject(name: "refs/heads/\(ref)", reason: "the remote's ref does not hold a checksum")
                }
                wanted.append((ref, c))
            }
        }

        // 2. Fetch commits and everything they reach.
        if !options.dryRun { txn = try Transaction(repo) }
        for (ref, c) in wanted { fetchCommit(c, ref: ref, depthLeft: options.depth) }
        var runError: Error?
        do {
            try fetcher.run { [self] in
                maybeFlush()
                return mutex.withLock { outstanding == 0 }
            }
        } catch { runError = error }
        // Background publishing must be over (and its errors known) before any ref moves.
        flushes.sync {}
        if let e = mutex.withLock({ firstError }) { runError = runError ?? e }

        if options.dryRun {
            report.objects = dryRunObjects
            report.bytes = dryRunBytes
        } else {
            // Verified objects are kept even when the pull failed: a rerun fetches only the rest.
            try txnLock.write { try txn?.commit() }
            txn = nil
            if let e = runError { throw e }
            for c in mutex.withLock({ commitsInFlight }) { try repo.clearPartial(c) }
            for (ref, c) in wanted {
                let local = options.mirror ? ref : "\(remote.name):\(ref)"
                let old = try? repo.resolveRef(local)
                if old != c { try repo.setRef(local, to: c) }
                report.refs.append((local, c, old != c))
            }
            // Object bytes only, so that a dry run's estimate and the real pull compare exactly.
            report.objects = objectsStored
            report.bytes = bytesStored
        }
        if let e = runError { throw e }
        if options.dryRun { report.refs = wanted.map { ($0.0, $0.1, false) } }
        report.requests = fetcher.requestsCompleted
        report.retries = fetcher.retries
        report.seconds = monotonicSeconds() - progress.start
        return report
    }

    // MARK: Work accounting

    private func begin() { mutex.withLock { outstanding += 1 } }
    private func end() {
        mutex.withLock { outstanding -= 1 }
        fetcher.wake()
    }
    private func fail(_ e: Error) {
        mutex.withLock { if firstError == nil { firstError = e } }
        fetcher.cancel()
    }
    private var failed: Bool { mutex.withLock { firstError != nil } }

    /// Claims an object for fetching; false when already requested or present.
    private func need(_ name: ObjectName) -> Bool {
        if !options.dryRun && (txn?.has(name.checksum, name.type) ?? false) { return false }
        if options.dryRun && repo.hasObject(name.checksum, name.type) { return false }
        return mutex.withLock { requested.insert(name).inserted }
    }

    private func url(_ name: ObjectName) -> String {
        let hex = name.checksum.hex
        let suffix = name.type == .file ? "filez" : name.type.name
        return "\(base)/objects/\(hex.prefix(2))/\(hex.dropFirst(2)).\(suffix)"
    }

    /// Fetches an object and hands its bytes to `process` on a worker thread.
    private func fetch(_ name: ObjectName, optional: Bool = false, process: @escaping ([UInt8]?) throws -> Void) {
        fetchResponse(name, optional: optional, spill: false) { try process($0?.body) }
    }

    /// Fetches an object and hands the response (with `spill`, perhaps a file) to `process` on a worker thread.
    private func fetchResponse(_ name: ObjectName, optional: Bool = false, spill: Bool,
                               process: @escaping (FetchResponse?) throws -> Void) {
        if failed { return }
        begin()
        progress.found()
        fetcher.get(url(name), spill: spill) { [self] result in
            switch result {
            case let .success(r):
                progress.fetched(bytes: r.size)
                dispatch { try process(r) }
            case let .failure(e):
                if case .notFound = e, optional {
                    dispatch { try process(nil) }
                } else {
                    fail(ArborError.notFound("cannot fetch \(name) from remote \(remote.name): \(e)"))
                }
            }
            end()
        }
    }

    /// Runs verification and storage off the network thread.
    private func dispatch(_ work: @escaping () throws -> Void) {
        begin()
        workers.submit { [self] in
            defer { end() }
            if failed { return }
            do { try txnLock.read { try work() } } catch { fail(error) }
        }
    }

    /// Publishes what is staged every few seconds, so an interrupted pull keeps its verified
    /// objects. A fresh transaction is swapped in under the lock (no worker is staging then), and
    /// the old one is synced and published in the background while transfers and workers go on.
    private func maybeFlush() {
        guard !options.dryRun, monotonicSeconds() - lastFlush > 3 else { return }
        lastFlush = monotonicSeconds()
        do {
            let old: Transaction? = try txnLock.write {
                guard let t = txn, t.objectsWritten > 0 else { return nil }
                txn = try Transaction(repo)
                return t
            }
            if let t = old {
                flushes.async { [self] in
                    do { try t.commit() } catch { fail(error) }
                }
            }
        } catch { fail(error) }
    }

    // MARK: Objects

    private func fetchCommit(_ c: Checksum, ref: String?, depthLeft: Int) {
        let name = ObjectName(c, .commit)
        if repo.hasObject(c, .commit) && !repo.isPartial(c) {
            // Already complete here; only its ancestry may still be wanted.
            if depthLeft != 0, let commit = try? repo.loadCommit(c), let p = commit.parent {
                fetchCommit(p, ref: nil, depthLeft: depthLeft - 1)
            }
            return
        }
        guard mutex.withLock({ requested.insert(name).inserted }) else { return }
        let local = repo.hasObject(c, .commit)
        fetch(ObjectName(c, .commitMeta), optional: true) { [self] metaBytes in
            if local {
                // Resuming: the commit itself is here already; only its detached metadata may have changed.
                try handleCommit(c, bytes: try repo.readMetadata(c, .commit), fetched: false, metaBytes: metaBytes,
                                 ref: ref, depthLeft: depthLeft)
                return
            }
            fetch(name, optional: ref == nil) { [self] bytes in
                guard let bytes = bytes else { return }   // an ancestor the server no longer has
                try handleCommit(c, bytes: bytes, fetched: true, metaBytes: metaBytes, ref: ref, depthLeft: depthLeft)
            }
        }
    }

    /// Verifies a commit (checksum, signature policy, ref binding), stores it, and walks its tree.
    private func handleCommit(_ c: Checksum, bytes: [UInt8], fetched: Bool, metaBytes: [UInt8]?, ref: String?, depthLeft: Int) throws {
        let name = ObjectName(c, .commit)
        guard SHA256Hasher.hash(bytes) == c else {
            throw ArborError.corruptObject(name: name.description, reason: "checksum mismatch (from remote \(remote.name))")
        }
        let commit = try CommitObject.parse(bytes, name: name.description)
        var detached: GVariant?
        if let m = metaBytes {
            detached = try GVariant.parse(m, as: GVariantType("a{sv}"))
        }
        if remote.signVerify {
            _ = try verifySignatures(ed25519Signatures(in: detached), message: bytes, keys: keys,
                                     what: "commit \(c.hex) from remote \(remote.name)")
        }
        if let ref = ref, case let .array(_, bound)? = commit.metadata.lookup("ostree.ref-binding"),
           !bound.isEmpty, !bound.contains(where: { $0.stringValue == ref }) {
            throw ArborError.invalidArgument("commit \(c.hex) is not bound to ref \(ref) (possible downgrade or substitution)")
        }
        if let sizes = commit.metadata.lookup("ostree.sizes") { recordSizes(sizes) }
        if options.dryRun {
            countDryRun((fetched ? bytes.count : 0) + (metaBytes?.count ?? 0), objects: (fetched ? 1 : 0) + (metaBytes == nil ? 0 : 1))
        } else {
            try repo.markPartial(c)
            mutex.withLock { commitsInFlight.append(c) }
            if let t = txn {
                if fetched {
                    try t.writeMetadata(.commit, bytes, named: c)
                    noteStored(bytes: bytes.count)
                }
                if let m = metaBytes {
                    try t.writeMetadata(.commitMeta, m, named: c)
                    noteStored(bytes: m.count)
                }
            }
        }
        fetchDirMeta(commit.rootMeta)
        fetchDirTree(commit.rootTree)
        if depthLeft != 0, let p = commit.parent {
            fetchCommit(p, ref: nil, depthLeft: depthLeft - 1)
        }
    }

    private func fetchDirMeta(_ m: Checksum) {
        let name = ObjectName(m, .dirMeta)
        guard need(name) else { return }
        fetch(name) { [self] bytes in
            guard let bytes = bytes else { return }
            guard SHA256Hasher.hash(bytes) == m else {
                throw ArborError.corruptObject(name: name.description, reason: "checksum mismatch (from remote \(remote.name))")
            }
            _ = try DirMeta.parse(bytes, name: name.description)
            try store(.dirMeta, bytes, m)
        }
    }

    private func fetchDirTree(_ t: Checksum) {
        let name = ObjectName(t, .dirTree)
        if txn?.isStored(t, .dirTree) ?? repo.hasObject(t, .dirTree) {
            // Present locally (perhaps from a partial pull): its children may still be missing.
            guard mutex.withLock({ requested.insert(name).inserted }) else { return }
            // Scanned right here (callers are workers): workers never queue work for each other.
            do { scan(try repo.loadDirTree(t)) } catch { fail(error) }
            return
        }
        guard need(name) else { return }
        fetch(name) { [self] bytes in
            guard let bytes = bytes else { return }
            guard SHA256Hasher.hash(bytes) == t else {
                throw ArborError.corruptObject(name: name.description, reason: "checksum mismatch (from remote \(remote.name))")
            }
            let tree = try DirTree.parse(bytes, name: name.description)
            try store(.dirTree, bytes, t)
            scan(tree)
        }
    }

    private func scan(_ tree: DirTree) {
        for f in tree.files { fetchFile(f.checksum) }
        for d in tree.dirs {
            fetchDirMeta(d.meta)
            fetchDirTree(d.tree)
        }
    }

    private func fetchFile(_ c: Checksum) {
        let name = ObjectName(c, .file)
        guard need(name) else { return }
        if options.dryRun {
            if let s = mutex.withLock({ sizesFromCommit[c] }) {
                countDryRun(Int(s), objects: 1)
                return
            }
            begin()
            progress.found()
            fetcher.get(url(name), head: true) { [self] result in
                switch result {
                case let .success(r): countDryRun(Int(r.contentLength ?? 0), objects: 1)
                case let .failure(e): fail(ArborError.notFound("cannot fetch \(name) from remote \(remote.name): \(e)"))
                }
                end()
            }
            return
        }
        fetchResponse(name, spill: true) { [self] response in
            guard let response = response, let t = txn else { return }
            if let file = response.file {
                try storeContent(c, file: file, t)
            } else {
                try storeContent(c, bytes: response.body, t)
            }
            noteStored(bytes: response.size)
        }
    }

    private func mismatch(_ c: Checksum) -> Error {
        ArborError.corruptObject(name: ObjectName(c, .file).description, reason: "checksum mismatch (from remote \(remote.name))")
    }

    /// Verifies and stages a `.filez` received in memory. Verification comes first: a damaged
    /// object must not land here under another name.
    private func storeContent(_ c: Checksum, bytes: [UInt8], _ t: Transaction) throws {
        let name = ObjectName(c, .file).description
        if let (meta, content, sum) = try inflateArchiveObject(bytes, name: name, limit: HTTPPull.inMemoryLimit) {
            guard sum == c else { throw mismatch(c) }
            if repo.mode == .archive {
                try t.writeVerifiedArchiveObject(c, bytes: bytes)
            } else {
                try content.withUnsafeBytes { try t.writeVerifiedContent(c, meta: meta, bytes: $0) }
            }
            return
        }
        // Larger content than is worth holding inflated: inflated once, into a staged object
        // that is kept only if it hashes to `c`.
        let (meta, size, _) = try FileMeta.parseArchiveHeader(bytes, object: name)
        if repo.mode == .archive || !meta.isRegular {
            let (_, _, sum) = try decodeArchiveObject(bytes, name: name)
            guard sum == c else { throw mismatch(c) }
            if repo.mode == .archive {
                try t.writeVerifiedArchiveObject(c, bytes: bytes)
                return
            }
        }
        let stored = try t.writeRegularFileOrSymlink(meta: meta, size: size, expected: c) { sink in
            _ = try withoutActuallyEscaping(sink) { s in try decodeArchiveObject(bytes, name: name, sink: s) }
        }
        guard stored == c else { throw mismatch(c) }
    }

    /// Verifies and stages a `.filez` received into a file (see `storeContent(_:bytes:_:)`).
    private func storeContent(_ c: Checksum, file: FileDescriptor, _ t: Transaction) throws {
        let name = ObjectName(c, .file).description
        func rewind() throws { if lseek(file.raw, 0, SEEK_SET) != 0 { throw ArborError.errno("seek", file.path) } }
        try rewind()
        let (meta, size, _) = try readArchiveObjectHeader(fd: file, name: name)
        if repo.mode == .archive || !meta.isRegular {
            try rewind()
            let (_, _, sum) = try decodeArchiveObject(fd: file, name: name)
            guard sum == c else { throw mismatch(c) }
            if repo.mode == .archive {
                let st = try file.stat()
                try t.writeVerifiedArchiveObject(c, from: file, size: UInt64(st.st_size))
                return
            }
        }
        // Inflated once, into a staged object that is kept only if it hashes to `c`.
        try rewind()
        let stored = try t.writeRegularFileOrSymlink(meta: meta, size: size, expected: c) { sink in
            _ = try withoutActuallyEscaping(sink) { s in try decodeArchiveObject(fd: file, name: name, sink: s) }
        }
        guard stored == c else { throw mismatch(c) }
    }

    private func store(_ type: ObjectType, _ bytes: [UInt8], _ c: Checksum) throws {
        if options.dryRun {
            countDryRun(bytes.count, objects: 1)
            return
        }
        try txn?.writeMetadata(type, bytes, named: c)
        noteStored(bytes: bytes.count)
    }

    private func noteStored(bytes: Int) {
        mutex.withLock {
            objectsStored += 1
            bytesStored += UInt64(bytes)
        }
    }

    private func countDryRun(_ bytes: Int, objects: Int) {
        mutex.withLock {
            dryRunObjects += objects
            dryRunBytes += UInt64(bytes)
        }
    }

    /// `ostree.sizes` (spec §3.8): per object, checksum, varint archived size, varint unpacked size[, type].
    private func recordSizes(_ v: GVariant) {
        guard case let .array(_, items) = v else { return }
        var out: [Checksum: UInt64] = [:]
        for item in items {
            guard let b = item.bytesValue, b.count > 32, let c = Checksum(bytes: b[0..<32]) else { continue }
            var i = 32
            var value: UInt64 = 0, shift: UInt64 = 0
            while i < b.count && shift < 64 {
                value |= UInt64(b[i] & 0x7f) << shift
                i += 1
                if b[i - 1] & 0x80 == 0 { break }
                shift += 7
            }
            out[c] = value
        }
        mutex.withLock { sizesFromCommit.merge(out) { a, _ in a } }
    }
}

extension Transaction {
    /// Stages a content object of either kind from its metadata and a content producer.
    func writeRegularFileOrSymlink(meta: FileMeta, size: UInt64, expected: Checksum? = nil,
                                   produce: ((UnsafeRawBufferPointer) throws -> Void) throws -> Void) throws -> Checksum {
        if meta.isSymlink { return try writeSymlink(meta: meta) }
        return try writeRegularFile(meta: meta, size: size, expected: expected, produce: produce)
    }
}

/// A readers-writer lock: workers stage objects under `read`, a flush publishes under `write`.
final class RWLock: @unchecked Sendable {
    private var lock = pthread_rwlock_t()
    init() { pthread_rwlock_init(&lock, nil) }
    deinit { pthread_rwlock_destroy(&lock) }
    func read<T>(_ body: () throws -> T) rethrows -> T {
        pthread_rwlock_rdlock(&lock)
        defer { pthread_rwlock_unlock(&lock) }
        return try body()
    }
    func write<T>(_ body: () throws -> T) rethrows -> T {
        pthread_rwlock_wrlock(&lock)
        defer { pthread_rwlock_unlock(&lock) }
        return try body()
    }
}
