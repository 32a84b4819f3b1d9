// `arbor admin init-fs PATH`: an empty sysroot.
import ArborDeploy
import ArgumentParser

struct AdminInitFsCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "init-fs",
        abstract: "Create an empty sysroot layout (boot/, ostree/repo in bare mode, ostree/deploy/, dev, proc, ...)."
    )

    @Argument(help: "Where to create it.")
    var path: String

    func run() throws {
        try Sysroot.initFilesystem(path: path)
    }
}
