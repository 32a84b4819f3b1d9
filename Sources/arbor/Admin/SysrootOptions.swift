// `--sysroot`, shared by every `arbor admin` subcommand.
import ArborDeploy
import ArgumentParser

/// Which sysroot to act on.
struct SysrootOptions: ParsableArguments {
    @Option(help: ArgumentHelp("The sysroot (default: /).", valueName: "PATH"))
    var sysroot: String = "/"

    /// Opens the sysroot.
    func open() throws -> Sysroot { try Sysroot(path: sysroot) }
}

/// Prints a line unless quiet.
func say(_ quiet: Bool, _ line: String) {
    if !quiet { print(line) }
}
