// `arbor pull` and `arbor pull-local`.
import ArborCore
import ArborRemote
import ArgumentParser

struct PullCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "pull",
        abstract: "Fetch commits and their objects from a remote over HTTP, verifying every object.",
        discussion: """
        Only objects missing here are fetched, many at once over kept-alive connections. An \
        interrupted pull keeps every verified object and leaves the commit marked partial; running \
        it again fetches only the rest. Refs are written as REMOTE:REF (refs/remotes/REMOTE/REF), \
        or as they are with --mirror, only once their commit is complete.
        """
    )

    @OptionGroup var repoOptions: RepoOptions
    @OptionGroup var output: OutputOptions

    @Option(help: "Also fetch N parents of each commit (-1: all).")
    var depth: Int = 0

    @Flag(help: "Write refs as the remote names them (refs/heads/REF).")
    var mirror = false

    @Flag(name: .customLong("dry-run"), help: "Print how many objects and bytes would be fetched.")
    var dryRun = false

    @Option(name: .customLong("max-concurrency"), help: "The most requests in flight (default 64; adapts below it).")
    var maxConcurrency: Int = 64

    @Option(name: .customLong("stall-timeout"), help: "Seconds a transfer may stall before it is retried (default 60).")
    var stallTimeout: Int = 60

    @Flag(help: "Print a JSON report.")
    var json = false

    @Argument(help: "The remote.")
    var remote: String

    @Argument(help: "Refs to pull (default: every ref in the remote's summary).")
    var refs: [String] = []

    func run() throws {
        guard maxConcurrency >= 1 else { throw ValidationError("--max-concurrency must be at least 1") }
        let repo = try repoOptions.open()
        var o = PullOptions()
        o.refs = refs
        o.depth = depth
        o.mirror = mirror
        o.dryRun = dryRun
        o.maxConcurrency = maxConcurrency
        guard stallTimeout >= 1 else { throw ValidationError("--stall-timeout must be at least 1") }
        o.stallTimeout = stallTimeout
        let progress = PullProgress()
        let line = ProgressLine(enabled: output.showProgress && !json) {
            let s = progress.snapshot
            let rate = s.seconds > 0 ? UInt64(Double(s.bytes) / s.seconds) : 0
            var text = "Receiving objects: \(s.fetched)/\(s.known), \(humanBytes(s.bytes)), \(humanBytes(rate))/s"
            if rate > 0 && s.known > s.fetched && s.fetched > 0 {
                let perObject = Double(s.bytes) / Double(s.fetched)
                text += ", ~\(Int(Double(s.known - s.fetched) * perObject / Double(rate)))s left"
            }
            return text
        }
        let report: PullReport
        do { report = try repo.pull(remote: remote, options: o, progress: progress) } catch {
            line?.stop()
            throw error
        }
        line?.stop()
        render(report, json: json, quiet: output.quiet)
    }
}

struct PullLocalCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "pull-local",
        abstract: "Copy commits and their objects from another local repository (any mode), verifying them."
    )

    @OptionGroup var repoOptions: RepoOptions
    @OptionGroup var output: OutputOptions

    @Option(help: "Also copy N parents of each commit (-1: all).")
    var depth: Int = 0

    @Flag(help: "Print a JSON report.")
    var json = false

    @Argument(help: "The source repository.")
    var source: String

    @Argument(help: "Refs to copy (default: all local refs of the source).")
    var refs: [String] = []

    func run() throws {
        let repo = try repoOptions.open()
        let src = try Repository.open(path: source)
        let report = try repo.pullLocal(from: src, refs: refs, depth: depth)
        render(report, json: json, quiet: output.quiet)
    }
}

private func render(_ r: PullReport, json: Bool, quiet: Bool) {
    if json {
        print(JSON.object([
            ("dryRun", .bool(r.dryRun)),
            ("refs", .array(r.refs.map { .object([("ref", .string($0.name)), ("commit", .string($0.commit.hex)), ("changed", .bool($0.changed))]) })),
            ("objects", .uint(UInt64(r.objects))), ("bytes", .uint(r.bytes)),
            ("requests", .uint(UInt64(r.requests))), ("retries", .uint(UInt64(r.retries))),
            ("seconds", .string(String(format3(r.seconds)))),
        ]).render())
        return
    }
    if r.dryRun {
        print("Would fetch \(r.objects) objects, \(r.bytes) bytes (\(humanBytes(r.bytes)))")
        return
    }
    for ref in r.refs { print("\(ref.name): \(ref.commit.hex)\(ref.changed ? "" : " (unchanged)")") }
    if !quiet { print("\(r.objects) objects, \(humanBytes(r.bytes)) transferred in \(format3(r.seconds)) s") }
}

private func format3(_ d: Double) -> String {
    let ms = Int((d * 1000).rounded())
    let frac = String(ms % 1000)
    return "\(ms / 1000).\(String(repeating: "0", count: 3 - frac.count))\(frac)"
}
