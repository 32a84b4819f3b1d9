// `arbor rev-parse`: resolve a revision to a checksum.
import ArborCore
import ArgumentParser

struct RevParseCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "rev-parse",
        abstract: "Print the checksum a revision names (ref, REMOTE:REF, checksum, unique prefix, REV^)."
    )

    @OptionGroup var repoOptions: RepoOptions

    @Argument(help: "The revision.")
    var rev: String

    func run() throws {
        let repo = try repoOptions.open()
        print(try repo.resolveRev(rev).hex)
    }
}
