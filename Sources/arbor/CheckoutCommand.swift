// `arbor checkout`: materialise a commit's tree.
import ArborCore
import ArgumentParser

struct CheckoutCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "checkout",
        abstract: "Check a commit out into a directory.",
        discussion: """
        From bare repositories (and from bare-user ones with --user-mode, and bare-user-only ones) \
        files are hardlinked to the repository's objects; otherwise they are copied and verified. \
        Nothing is ever written outside DEST, whatever the tree contains.
        """
    )

    @OptionGroup var repoOptions: RepoOptions

    @Flag(name: [.customShort("U"), .customLong("user-mode")], help: "Do not apply ownership or setuid/setgid bits.")
    var userMode = false

    @Option(help: ArgumentHelp("Check out only this path of the tree.", valueName: "PATH"))
    var subpath: String?

    @Flag(help: "Write into an existing DEST, replacing files in the way.")
    var union = false

    @Flag(name: [.customShort("H"), .customLong("require-hardlinks")], help: "Fail rather than copy when hardlinking is impossible.")
    var requireHardlinks = false

    @Flag(name: [.customShort("C"), .customLong("force-copy")], help: "Copy every file; never hardlink.")
    var forceCopy = false

    @Argument(help: "The commit to check out.")
    var rev: String

    @Argument(help: "The destination directory (must not exist unless --union).")
    var destination: String

    func run() throws {
        let repo = try repoOptions.open()
        var o = CheckoutOptions()
        o.userMode = userMode
        o.subpath = subpath
        o.union = union
        o.requireHardlinks = requireHardlinks
        o.forceCopy = forceCopy
        _ = try repo.checkout(rev, destination: destination, options: o)
    }
}
