// `arbor export`: a commit's tree as a reproducible tarball.
import ArborCore
import ArgumentParser

struct ExportCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "export",
        abstract: "Write a commit's tree as a tarball.",
        discussion: """
        The compression follows the output's name (.tar, .tar.gz or .tgz, .tar.xz, .tar.zst, \
        .tar.bz2); - writes a plain tar to standard output. Modes, numeric owners, xattrs, \
        symlinks and hardlinks (files that are one object) are kept, and the same commit always \
        gives the same bytes: sorted entries, every mtime the commit's timestamp.
        """
    )

    @OptionGroup var repoOptions: RepoOptions
    @OptionGroup var output: OutputOptions

    @Option(name: [.customShort("o"), .customLong("output")], help: ArgumentHelp("The tarball to write, or - for standard output.", valueName: "FILE"))
    var outputPath: String

    @Option(help: ArgumentHelp("Export only this path of the tree.", valueName: "P"))
    var subpath: String?

    @Argument(help: "The commit.")
    var rev: String

    func run() throws {
        let repo = try repoOptions.open()
        var options = ExportOptions()
        options.subpath = subpath
        let stats = try repo.exportTarball(rev, output: outputPath, options: options)
        if output.verbose { warn("wrote \(stats.entries) entries (\(humanBytes(stats.bytes)) of content)") }
    }
}
