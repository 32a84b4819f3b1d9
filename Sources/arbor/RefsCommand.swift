// `arbor refs`: list, create and delete refs.
import ArborCore
import ArgumentParser

struct RefsCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "refs",
        abstract: "List refs; create one with --create=REF REV; delete refs with --delete PREFIX...",
        discussion: "With --delete, every ref equal to or under each PREFIX is deleted (as `ostree refs --delete`)."
    )

    @OptionGroup var repoOptions: RepoOptions

    @Flag(help: "Print JSON (name → checksum).")
    var json = false

    @Flag(help: "Delete the refs named by the arguments (and the refs under them).")
    var delete = false

    @Option(help: ArgumentHelp("Create (or move) REF to point at the commit given as argument.", valueName: "REF"))
    var create: String?

    @Argument(help: "Prefixes to list or delete; with --create, the commit.")
    var arguments: [String] = []

    func validate() throws {
        if delete && create != nil { throw ValidationError("--delete and --create exclude each other") }
        if delete && arguments.isEmpty { throw ValidationError("--delete needs at least one ref or prefix") }
        if let c = create {
            let parts = c.split(separator: ":", maxSplits: 1, omittingEmptySubsequences: false).map(String.init)
            guard parts.allSatisfy(Repository.isValidRefName) else { throw ValidationError("invalid ref name '\(c)'") }
        }
        if create != nil && arguments.count != 1 { throw ValidationError("--create=REF needs exactly one commit argument") }
    }

    func run() throws {
        let repo = try repoOptions.open()
        if let ref = create {
            let c = try repo.resolveRev(arguments[0])
            _ = try repo.loadCommit(c)
            try repo.setRef(ref, to: c)
            return
        }
        let refs = try repo.listRefs()
        func matches(_ name: String, _ prefix: String) -> Bool {
            let p = prefix.hasSuffix("/") ? String(prefix.dropLast()) : prefix
            if p.hasSuffix(":") { return name.hasPrefix(p) }
            return name == p || name.hasPrefix(p + "/")
        }
        if delete {
            var deleted = 0
            for prefix in arguments {
                for r in refs where matches(r.name, prefix) {
                    if try repo.deleteRef(r.name) { deleted += 1 }
                }
            }
            if deleted == 0 { throw ArborError.notFound("no refs match \(arguments.joined(separator: " "))") }
            return
        }
        let shown = arguments.isEmpty ? refs : refs.filter { r in arguments.contains { matches(r.name, $0) } }
        if json {
            print(JSON.array(shown.map { .object([("name", .string($0.name)), ("checksum", .string($0.checksum.hex))]) }).render())
        } else {
            // As `ostree refs PREFIX`: names are printed relative to the prefix.
            for r in shown {
                if let p = arguments.first(where: { matches(r.name, $0) }), r.name != p, !p.hasSuffix(":") {
                    let prefix = p.hasSuffix("/") ? p : p + "/"
                    print(r.name.hasPrefix(prefix) ? String(r.name.dropFirst(prefix.count)) : r.name)
                } else {
                    print(r.name)
                }
            }
        }
    }
}
