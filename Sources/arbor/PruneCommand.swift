// `arbor prune`: delete unreachable objects.
import ArborCore
import ArgumentParser

struct PruneCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "prune",
        abstract: "Delete objects no commit (or, with --refs-only, no ref) reaches.",
        discussion: """
        Deployments of a sysroot keep their commits through the refs under ostree/. Runs under the \
        exclusive repository lock, so a concurrent commit or pull never loses an object it just wrote.
        """
    )

    @OptionGroup var repoOptions: RepoOptions

    @Flag(name: .customLong("refs-only"), help: "Only refs (and their ancestors) keep objects alive.")
    var refsOnly = false

    @Option(help: "Follow at most N parents from each ref (default: all).")
    var depth: Int?

    @Option(name: .customLong("keep-younger-than"), help: ArgumentHelp("Delete commits older than DATE (ref tips are kept).", valueName: "DATE"))
    var keepYoungerThan: String?

    @Flag(name: .customLong("no-prune"), help: "Only report what would be deleted.")
    var noPrune = false

    @Flag(help: "Print JSON.")
    var json = false

    func run() throws {
        let repo = try repoOptions.open()
        var o = PruneOptions()
        o.refsOnly = refsOnly
        if let d = depth {
            guard d >= 0 else { throw ValidationError("--depth must be 0 or more") }
            o.depth = d
        }
        if let k = keepYoungerThan {
            guard let t = parseTimestamp(k) else { throw ValidationError("invalid date '\(k)'") }
            o.keepYoungerThan = t
        }
        o.dryRun = noPrune
        let r = try repo.prune(o)
        if json {
            print(JSON.object([("totalObjects", .uint(UInt64(r.totalObjects))), ("unreachable", .uint(UInt64(r.unreachable.count))),
                               ("bytes", .uint(r.bytes)), ("deleted", .bool(r.deleted))]).render())
            return
        }
        print("Total objects: \(r.totalObjects)")
        if r.unreachable.isEmpty {
            print("No unreachable objects")
        } else if noPrune {
            print("Would delete: \(r.unreachable.count) objects, freeing \(glibSize(r.bytes))")
        } else {
            print("Deleted \(r.unreachable.count) objects, \(glibSize(r.bytes)) freed")
        }
    }
}
