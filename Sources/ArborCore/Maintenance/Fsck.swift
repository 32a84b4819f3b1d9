// `fsck`: re-hash every loose object (on every core), check that each complete commit reaches
// only present, sound objects, and that refs name complete commits. Partial commits
// (state/C.commitpartial, spec §3.7) are reported, not treated as corruption, as `ostree fsck`.
#if canImport(Glibc)
import Glibc
#endif
import Dispatch

/// One problem `fsck` found.
public struct FsckIssue: Sendable {
    /// What kind of problem.
    public enum Kind: String, Sendable {
        /// The object's bytes do not match its name, or it does not parse.
        case corrupt
        /// A complete commit needs an object that is not there.
        case missing
        /// A ref names a missing, corrupt or partial commit.
        case badRef = "bad-ref"
    }
    /// The kind.
    public var kind: Kind
    /// The object concerned (nil for ref problems without one).
    public var object: ObjectName?
    /// The ref concerned, for `badRef`.
    public var ref: String?
    /// Why.
    public var reason: String
    /// Commits and paths that reach the object.
    public var reachedFrom: [(commit: Checksum, path: String)] = []
}

/// What `fsck` found and did.
public struct FsckReport: Sendable {
    /// Objects re-hashed.
    public var objectsChecked = 0
    /// Complete commits whose closure was checked.
    public var commitsChecked = 0
    /// Commits marked partial, not verified.
    public var partialCommits: [Checksum] = []
    /// Every problem.
    public var issues: [FsckIssue] = []
    /// Files under objects/ that are not objects (reported, harmless).
    public var strays: [String] = []
    /// Objects removed by `--delete`.
    public var deleted: [ObjectName] = []
    /// Commits marked partial by `--delete`.
    public var markedPartial: [Checksum] = []
    /// True when nothing is corrupt or missing.
    public var ok: Bool { issues.isEmpty }
}

/// Live counters for a progress display.
public final class FsckProgress: @unchecked Sendable {
    private let mutex = Mutex()
    private var _done = 0, _total = 0
    /// Creates zeroed counters.
    public init() {}
    func set(total: Int) { mutex.withLock { _total = total } }
    func tick() { mutex.withLock { _done += 1 } }
    /// Objects verified so far, of how many.
    public var snapshot: (done: Int, total: Int) { mutex.withLock { (_done, _total) } }
}

extension Repository {
    /// Verifies the repository. With `delete`, corrupt objects are removed and the commits that
    /// need them (or miss objects) are marked partial, so that a later pull repairs them.
    public func fsck(delete: Bool = false, progress: FsckProgress = FsckProgress()) throws -> FsckReport {
        let lock = try lock(delete ? .exclusive : .shared)
        defer { lock?.release() }
        var report = FsckReport()
        let (objects, strays) = try listObjects()
        report.strays = strays
        progress.set(total: objects.count)

        // 1. Every object, in parallel.
        let workers = max(1, min(8, Int(sysconf(Int32(_SC_NPROCESSORS_ONLN)))))
        let mutex = Mutex()
        var corrupt: [ObjectName: String] = [:]
        DispatchQueue.concurrentPerform(iterations: workers) { w in
            var i = w
            while i < objects.count {
                let name = objects[i]
                if let reason = verifyObject(name) { mutex.withLock { corrupt[name] = reason } }
                progress.tick()
                i += workers
            }
        }
        report.objectsChecked = objects.count

        // 2. The closure of every complete commit.
        var reached: [ObjectName: [(Checksum, String)]] = [:]
        var missing = Set<ObjectName>()
        var soundTrees = Set<Checksum>()
        var needsPartial = Set<Checksum>()
        let commits = objects.filter { $0.type == .commit }.map(\.checksum)
        for c in commits {
            if isPartial(c) {
                report.partialCommits.append(c)
                if isPartialFromFsck(c) {
                    report.issues.append(FsckIssue(kind: .corrupt, object: ObjectName(c, .commit),
                                                   reason: "partial since an earlier fsck found corruption; pull it again to repair"))
                }
                continue
            }
            if corrupt[ObjectName(c, .commit)] != nil { continue }
            report.commitsChecked += 1
            guard let commit = try? loadCommit(c) else { continue }
            var bad = false
            func check(_ name: ObjectName, _ path: String) -> Bool {
                if corrupt[name] != nil {
                    reached[name, default: []].append((c, path)); bad = true; return false
                }
                if !hasObject(name.checksum, name.type) {
                    missing.insert(name); reached[name, default: []].append((c, path)); bad = true; return false
                }
                return true
            }
            func walk(_ tree: Checksum, meta: Checksum, path: String) {
                _ = check(ObjectName(meta, .dirMeta), path)
                if soundTrees.contains(tree) { return }
                guard check(ObjectName(tree, .dirTree), path), let t = try? loadDirTree(tree) else { return }
                let before = bad
                bad = false
                let prefix = path == "/" ? "/" : path + "/"
                for f in t.files { _ = check(ObjectName(f.checksum, .file), prefix + f.name) }
                for d in t.dirs { walk(d.tree, meta: d.meta, path: prefix + d.name) }
                if !bad { soundTrees.insert(tree) }
                bad = bad || before
            }
            walk(commit.rootTree, meta: commit.rootMeta, path: "/")
            if bad { needsPartial.insert(c) }
        }

        for (name, reason) in corrupt.sorted(by: { $0.key.checksum < $1.key.checksum }) {
            var issue = FsckIssue(kind: .corrupt, object: name, reason: reason)
            issue.reachedFrom = (reached[name] ?? []).map { (commit: $0.0, path: $0.1) }
            report.issues.append(issue)
        }
        for name in missing.sorted(by: { $0.checksum < $1.checksum }) {
            var issue = FsckIssue(kind: .missing, object: name, reason: "missing")
            issue.reachedFrom = (reached[name] ?? []).map { (commit: $0.0, path: $0.1) }
            report.issues.append(issue)
        }

        // 3. Refs name complete, sound commits.
        for ref in try listRefs() {
            let name = ObjectName(ref.checksum, .commit)
            if !hasObject(ref.checksum, .commit) {
                report.issues.append(FsckIssue(kind: .badRef, object: name, ref: ref.name, reason: "ref \(ref.name) names a missing commit"))
            } else if corrupt[name] != nil {
                report.issues.append(FsckIssue(kind: .badRef, object: name, ref: ref.name, reason: "ref \(ref.name) names a corrupt commit"))
            } else if isPartial(ref.checksum) && !delete {
                report.issues.append(FsckIssue(kind: .badRef, object: name, ref: ref.name, reason: "ref \(ref.name) names a partial commit"))
            }
        }

        if delete {
            for name in corrupt.keys.sorted(by: { $0.checksum < $1.checksum }) {
                let (d, n) = looseName(name.checksum, name.type)
                try objectsDir.unlink("\(d)/\(n)")
                report.deleted.append(name)
            }
            for c in needsPartial.sorted() where corrupt[ObjectName(c, .commit)] == nil {
                try markPartial(c, fromFsck: true)
                report.markedPartial.append(c)
            }
            try objectsDir.syncfs()
        }
        return report
    }

    /// Marks a commit partial, durably (a pull marks it before the commit becomes visible): some
    /// of its objects are absent and may be fetched later. A mark left by fsck holds `f` (as
    /// `ostree` writes it), so that fsck keeps failing until a pull repairs it; a pull keeps
    /// whatever an existing mark holds.
    public func markPartial(_ commit: Checksum, fromFsck: Bool = false) throws {
        let state = try dir.mkdirs("state")
        let fd = try state.openat("\(commit.hex).commitpartial", O_WRONLY | O_CREAT | O_NOFOLLOW | (fromFsck ? O_TRUNC : 0), mode: 0o644)
        if fromFsck { try fd.writeAll([UInt8(ascii: "f")]) }
        if config.bool("core", "fsync", default: true) {
            try fd.fsync()
            try state.fsync()
        }
    }

    /// Whether a commit's partial mark was left by fsck after it found corruption.
    public func isPartialFromFsck(_ commit: Checksum) -> Bool {
        guard let fd = try? dir.openIfExists("state/\(commit.hex).commitpartial", O_RDONLY | O_NOFOLLOW),
              let bytes = try? fd.readAll(limit: 16) else { return false }
        return bytes.first == UInt8(ascii: "f")
    }

    /// Removes a commit's partial mark (all its objects are present).
    public func clearPartial(_ commit: Checksum) throws {
        try dir.unlink("state/\(commit.hex).commitpartial")
    }

    /// Re-hashes and parses one object; returns why it is bad, or nil.
    func verifyObject(_ name: ObjectName) -> String? {
        do {
            switch name.type {
            case .commit: _ = try loadCommit(name.checksum)
            case .dirTree: _ = try loadDirTree(name.checksum)
            case .dirMeta: _ = try loadDirMeta(name.checksum)
            case .commitMeta, .tombstoneCommit:
                let bytes = try readMetadata(name.checksum, name.type)
                _ = try parseNormal(bytes, as: CommitObject.metadataType, name: name.description)
            case .file: try readContent(name.checksum, verify: true) { _ in }
            case .payloadLink: break
            }
            return nil
        } catch let e as ArborError {
            if case let .corruptObject(_, reason) = e { return reason }
            if case .missingObject = e { return "vanished while checking" }
            return e.description
        } catch {
            return "\(error)"
        }
    }
}
