// `admin upgrade` and `admin switch`: follow the default deployment's origin refspec to its newest
// commit and deploy it. Fetching is behind `UpdateSource`, so pulling from a remote plugs in
// without touching the deployment logic; today the source is the sysroot repository's own refs.
import ArborCore

/// Where an upgrade finds the newest commit of a refspec.
public protocol UpdateSource {
    /// Whether this source fetches from elsewhere (and so can honour `--pull-only`).
    var fetches: Bool { get }
    /// Brings `refspec` up to date in `repo` (if it fetches) and returns the commit it names.
    func update(refspec: String, repo: Repository, log: (String) -> Void) throws -> Checksum
}

/// The sysroot repository's local refs: no fetching.
public struct LocalRefSource: UpdateSource {
    /// Creates the source.
    public init() {}
    /// Always false.
    public var fetches: Bool { false }
    /// Resolves the refspec (a ref, `REMOTE:REF` or a checksum) locally.
    public func update(refspec: String, repo: Repository, log: (String) -> Void) throws -> Checksum {
        do { return try repo.resolveRev(refspec) } catch let e as ArborError {
            if case .notFound = e { throw ArborError.notFound("origin refspec \(refspec) is not in the sysroot repository") }
            throw e
        }
    }
}

/// Options of `upgrade` and `switch`.
public struct UpgradeOptions {
    /// The stateroot whose default deployment is upgraded (default: the default deployment's).
    public var stateroot: String?
    /// Where the new commit comes from.
    public var source: UpdateSource = LocalRefSource()
    /// Only fetch; do not deploy.
    public var pullOnly = false
    /// Do not fetch; deploy what the repository already has.
    public var deployOnly = false
    /// Accept a commit older than the deployed one.
    public var allowDowngrade = false
    /// Keep every existing deployment.
    public var retain = false
    /// Deploy a commit even though it failed to boot before.
    public var allowFailed = false
    /// Boot attempts for the new default (see `DeployOptions.bootTries`).
    public var bootTries: Int?
    /// Creates default options.
    public init() {}
}

/// What an upgrade did.
public enum UpgradeOutcome {
    /// The origin already names the deployed commit.
    case noUpdate(Deployment)
    /// `--pull-only`: fetched, not deployed.
    case fetched(Checksum)
    /// Deployed: the result, old and new versions, and what changed in the tree.
    case deployed(DeployResult, oldVersion: String, newVersion: String, diff: TreeDiffSummary)
}

extension Sysroot {
    /// Upgrades the default deployment of a stateroot to the newest commit of its origin.
    public func upgrade(_ options: UpgradeOptions, log: (String) -> Void = { _ in }) throws -> UpgradeOutcome {
        try upgrade(options, newRefspec: nil, log: log)
    }

    /// Rewrites the default deployment's origin to `refspec` and deploys it (`admin switch`).
    public func switchTo(_ refspec: String, options: UpgradeOptions, log: (String) -> Void = { _ in }) throws -> UpgradeOutcome {
        try upgrade(options, newRefspec: refspec, log: log)
    }

    private func upgrade(_ options: UpgradeOptions, newRefspec: String?, log: (String) -> Void) throws -> UpgradeOutcome {
        if options.pullOnly && options.deployOnly { throw ArborError.invalidArgument("--pull-only and --deploy-only exclude each other") }
        if options.pullOnly && !options.source.fetches {
            throw ArborError.unsupported("--pull-only: pulling from a remote is not available yet; upgrades deploy from the sysroot repository's refs")
        }
        let lock = try self.lock(waiting: { log("Waiting for sysroot lock...") })
        defer { lock.release() }
        let repo = try repository()
        let state = try load()
        // The booted deployment, else the first whose entry is not bad (an unblessed fallback's
        // failed default is not what the node runs), else the first.
        let candidates = state.deployments.filter { d in options.stateroot.map { d.stateroot == $0 } ?? true }
        let booted = bootedDeployment(state).flatMap { b in candidates.contains { $0.sameCheckout(b) } ? b : nil }
        let merge = booted ?? candidates.first { $0.bootAssessment != .bad } ?? candidates.first
        guard let current = merge else {
            throw ArborError.notFound("no deployment to upgrade\(options.stateroot.map { " in stateroot \($0)" } ?? "") (see 'arbor admin deploy')")
        }
        var origin = (current.origin ?? Origin(refspec: current.checksum.hex)).withoutTransientState
        if let r = newRefspec {
            // `switch REF` keeps the remote of the old refspec when REF names none (as `ostree`).
            if !r.contains(":"), let old = origin.refspec, let colon = old.firstIndex(of: ":") {
                origin.refspec = String(old[...colon]) + r
            } else {
                origin.refspec = r
            }
        }
        guard let refspec = origin.refspec else {
            throw ArborError.invalidArgument("deployment \(current.name) has no origin refspec to upgrade from")
        }
        let target: Checksum
        if options.deployOnly || !options.source.fetches {
            target = try LocalRefSource().update(refspec: refspec, repo: repo, log: log)
        } else {
            target = try options.source.update(refspec: refspec, repo: repo, log: log)
        }
        if options.pullOnly { return .fetched(target) }
        if target == current.checksum && newRefspec == nil { return .noUpdate(current) }
        let old = try repo.loadCommit(current.checksum), new = try repo.loadCommit(target)
        if newRefspec == nil && !options.allowDowngrade && new.timestamp < old.timestamp {
            throw ArborError.invalidArgument("upgrade would go back in time (commit \(target.hex) is older than the deployed \(current.checksum.hex)); use --allow-downgrade")
        }
        if !options.allowFailed, try hasFailedToBoot(target, stateroot: current.stateroot, state: state) {
            throw ArborError.invalidArgument("commit \(target.hex) failed to boot on this node before; refusing to deploy it again (use --allow-failed to try it anyway)")
        }
        let diff = try TreeDiffSummary.between(repo, current.checksum, target)
        var o = DeployOptions()
        o.stateroot = current.stateroot
        o.retain = options.retain
        o.origin = origin
        o.bootTries = options.bootTries
        let result = try deployLocked(commit: target, repo: repo, state: state, options: o, log: log)
        func version(_ c: Checksum, _ commit: CommitObject) -> String {
            commit.version ?? OSRelease.versionID(repo: repo, commit: c) ?? String(c.hex.prefix(12))
        }
        return .deployed(result, oldVersion: version(current.checksum, old), newVersion: version(target, new), diff: diff)
    }
}
