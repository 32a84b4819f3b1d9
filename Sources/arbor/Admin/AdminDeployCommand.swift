// `arbor admin deploy REV`: a new deployment, made the default atomically.
import ArborDeploy
import ArgumentParser

struct AdminDeployCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "deploy",
        abstract: "Check a commit out as a new deployment and make it the default for the next boot.",
        discussion: """
        /etc is merged from the current default deployment (the administrator's changes win; \
        conflicts are reported). Kernel arguments are inherited from the current default; each \
        --karg replaces an inherited argument with the same key or is added. The previous default \
        becomes the rollback; older unpinned deployments of the stateroot are removed unless --retain.
        """
    )

    @OptionGroup var sysrootOptions: SysrootOptions
    @OptionGroup var output: OutputOptions
    @OptionGroup var bootTries: BootTriesOption

    @Option(name: .customLong("os"), help: ArgumentHelp("The stateroot (default: the default deployment's).", valueName: "STATEROOT"))
    var stateroot: String?

    @Option(name: .customLong("karg"), help: ArgumentHelp("A kernel argument; replaces an inherited one with the same key.", valueName: "K=V"))
    var kargs: [String] = []

    @Option(name: .customLong("karg-append"), help: ArgumentHelp("A kernel argument appended as is.", valueName: "K=V"))
    var kargsAppend: [String] = []

    @Flag(name: .customLong("karg-none"), help: "Do not inherit the current default's kernel arguments.")
    var kargNone = false

    @Flag(help: "Keep every existing deployment.")
    var retain = false

    @Flag(name: .customLong("not-as-default"), help: "Add the deployment after the current default instead of before it.")
    var notAsDefault = false

    @Argument(help: "The commit to deploy (a ref of the sysroot repository, or a checksum).")
    var rev: String

    func run() throws {
        var o = DeployOptions()
        o.stateroot = stateroot
        o.kernelArgs = kargs
        o.appendKernelArgs = kargsAppend
        o.noInheritedKernelArgs = kargNone
        o.retain = retain
        o.bootTries = bootTries.bootTries
        o.notAsDefault = notAsDefault
        let result = try sysrootOptions.open().deploy(rev, options: o) { say(output.quiet, $0) }
        say(output.quiet, result.bootloaderSummary)
        say(output.quiet, "Deployed \(result.deployment.stateroot) \(result.deployment.name) as index \(result.index)")
    }
}
