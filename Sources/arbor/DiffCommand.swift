// `arbor diff`: what changed between two commits, in `ostree diff`'s lines and order.
import ArborCore
import ArgumentParser

struct DiffCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "diff",
        abstract: "List paths modified (M), deleted (D) and added (A) from REV_A to REV_B.",
        discussion: "The lines and their order are exactly `ostree diff`'s: all M, then all D, then all A."
    )

    @OptionGroup var repoOptions: RepoOptions

    @Flag(help: "Print JSON.")
    var json = false

    @Flag(help: "Print object statistics of the two commits.")
    var stats = false

    @Argument(help: "The old revision.")
    var revA: String

    @Argument(help: "The new revision.")
    var revB: String

    func run() throws {
        let repo = try repoOptions.open()
        let a = try repo.resolveRev(revA), b = try repo.resolveRev(revB)
        if stats {
            let s = try repo.diffStats(a, b)
            if json {
                print(JSON.object([("a", .uint(UInt64(s.a))), ("b", .uint(UInt64(s.b))), ("common", .uint(UInt64(s.common))),
                                   ("commonSize", .uint(s.commonSize))]).render())
            } else {
                print("[A] Object Count: \(s.a)\n[B] Object Count: \(s.b)\nCommon Object Count: \(s.common)\nCommon Object Size: \(glibSize(s.commonSize))")
            }
            return
        }
        let d = try repo.diff(a, b)
        if json {
            print(JSON.object([("modified", .array(d.modified.map { .string($0) })),
                               ("removed", .array(d.removed.map { .string($0) })),
                               ("added", .array(d.added.map { .string($0) }))]).render())
            return
        }
        for p in d.modified { print("M    \(p)") }
        for p in d.removed { print("D    \(p)") }
        for p in d.added { print("A    \(p)") }
    }
}
