// `arbor admin os-init STATEROOT`: a stateroot and its shared /var.
import ArborDeploy
import ArgumentParser

struct AdminOsInitCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "os-init",
        abstract: "Create a stateroot (ostree/deploy/STATEROOT with its var/)."
    )

    @OptionGroup var sysrootOptions: SysrootOptions

    @Argument(help: "The stateroot name.")
    var stateroot: String

    func run() throws {
        try sysrootOptions.open().initStateroot(stateroot)
        print("ostree/deploy/\(stateroot) initialized as OSTree root")
    }
}
