// `arbor admin kargs`: the default deployment's kernel arguments, edited in place.
import ArborDeploy
import ArgumentParser

struct AdminKargsCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "kargs",
        abstract: "Show or edit the default deployment's kernel arguments in place.",
        discussion: """
        Without options, prints the arguments. Edits apply in order (all --delete, then all \
        --replace, then all --append) to the default deployment's boot entry, rewritten under its \
        own name: a boot counter in the name stays, and no second entry appears (ostree's \
        `admin kargs edit-in-place`). ostree= is the deployment tools' and cannot be edited.
        """
    )

    @OptionGroup var sysrootOptions: SysrootOptions
    @OptionGroup var output: OutputOptions

    @Option(help: ArgumentHelp("Append an argument.", valueName: "K=V"))
    var append: [String] = []

    @Option(help: ArgumentHelp("Delete every argument with key K, or exactly K=V.", valueName: "K|K=V"))
    var delete: [String] = []

    @Option(help: ArgumentHelp("Replace the value of an argument that is set.", valueName: "K=V"))
    var replace: [String] = []

    func run() throws {
        let sysroot = try sysrootOptions.open()
        let edits = delete.map(KernelArgEdit.delete) + replace.map(KernelArgEdit.replace) + append.map(KernelArgEdit.append)
        if edits.isEmpty {
            guard let d = try sysroot.load().deployments.first else { throw ValidationError("no deployment") }
            print(d.userKernelArgs.joined(separator: " "))
            return
        }
        let args = try sysroot.editKernelArgs(edits)
        if !output.quiet { print(args.joined(separator: " ")) }
    }
}
