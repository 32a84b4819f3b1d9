// `arbor init`: create a repository.
import ArborCore
import ArgumentParser

struct InitCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "init",
        abstract: "Create a repository.",
        discussion: """
        Modes: bare (real files with real ownership; needs root to write), bare-user (files owned by \
        the writing user, true metadata in an xattr), bare-user-only (canonical permissions only), \
        archive (compressed objects to serve over HTTP; archive-z2 is accepted as an alias).
        """
    )

    @OptionGroup var repoOptions: RepoOptions

    @Option(help: "bare, bare-user, bare-user-only or archive.")
    var mode: String = "bare"

    func run() throws {
        guard let m = RepoMode(name: mode) else {
            throw ValidationError("unknown mode '\(mode)' (bare, bare-user, bare-user-only, archive)")
        }
        try Repository.create(path: repoOptions.path, mode: m)
    }
}
