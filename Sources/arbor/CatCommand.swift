// `arbor cat`: print a file of a commit, verified.
import ArborCore
import ArgumentParser
#if canImport(Glibc)
import Glibc
#endif

struct CatCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "cat",
        abstract: "Print the content of a file in a commit.",
        discussion: "The object is verified against its checksum before anything is printed."
    )

    @OptionGroup var repoOptions: RepoOptions

    @Argument(help: "The commit.")
    var rev: String

    @Argument(help: "Files in the tree.")
    var paths: [String]

    func run() throws {
        let repo = try repoOptions.open()
        let commit = try repo.loadCommit(try repo.resolveRev(rev))
        let out = FileDescriptor(raw: dup(1), path: "stdout")
        for p in paths {
            guard let entry = try repo.lookupPath(commit: commit, path: p) else {
                throw ArborError.notFound("no such file in \(rev): \(p)")
            }
            guard entry.kind != .directory else { throw ArborError.invalidArgument("\(p) is a directory") }
            // Verify first so that a corrupt object prints nothing.
            try repo.readContent(entry.checksum, verify: true) { _ in }
            try repo.readContent(entry.checksum, verify: false) { try out.writeAll($0) }
        }
    }
}
