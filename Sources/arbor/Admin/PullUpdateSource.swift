// Upgrades through pull: a refspec `REMOTE:REF` whose remote is configured in the sysroot
// repository is fetched (only the missing objects, verified, signature policy applied) before
// it is resolved; anything else resolves locally.
import ArborCore
import ArborDeploy
import ArborRemote

/// An update source that pulls `REMOTE:REF` refspecs from their remote.
struct PullUpdateSource: UpdateSource {
    /// The most requests in flight.
    var maxConcurrency = 64
    /// Fail when the refspec names no remote (`--pull-only`: there would be nothing to do).
    var requireRemote = false

    var fetches: Bool { true }

    func update(refspec: String, repo: Repository, log: (String) -> Void) throws -> Checksum {
        guard let colon = refspec.firstIndex(of: ":"), repo.remote(named: String(refspec[..<colon])) != nil else {
            if requireRemote {
                throw ArborError.invalidArgument("--pull-only: origin \(refspec) names no configured remote, so there is nothing to pull")
            }
            return try LocalRefSource().update(refspec: refspec, repo: repo, log: log)
        }
        let remote = String(refspec[..<colon]), ref = String(refspec[refspec.index(after: colon)...])
        var o = PullOptions()
        o.refs = [ref]
        o.maxConcurrency = maxConcurrency
        log("Pulling \(ref) from \(remote)...")
        let r = try repo.pull(remote: remote, options: o)
        log("Received \(r.objects) objects (\(r.bytes) bytes)")
        return try repo.resolveRev(refspec)
    }
}
