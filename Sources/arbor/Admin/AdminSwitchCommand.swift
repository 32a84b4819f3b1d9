// `arbor admin switch REF`: follow another ref from now on, and deploy it.
import ArborDeploy
import ArgumentParser

struct AdminSwitchCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "switch",
        abstract: "Rewrite the default deployment's origin to REF and deploy REF's commit."
    )

    @OptionGroup var sysrootOptions: SysrootOptions
    @OptionGroup var output: OutputOptions
    @OptionGroup var bootTries: BootTriesOption

    @Option(name: .customLong("os"), help: ArgumentHelp("The stateroot (default: the default deployment's).", valueName: "STATEROOT"))
    var stateroot: String?

    @Flag(help: "Keep every existing deployment.")
    var retain = false

    @Flag(name: .customLong("allow-failed"), help: "Deploy the commit even though it failed to boot on this node before.")
    var allowFailed = false

    @Argument(help: "The ref to follow (REMOTE:REF, or REF to keep the current remote).")
    var ref: String

    func run() throws {
        var o = UpgradeOptions()
        o.source = PullUpdateSource()
        o.stateroot = stateroot
        o.retain = retain
        o.bootTries = bootTries.bootTries
        o.allowFailed = allowFailed
        try report(try sysrootOptions.open().switchTo(ref, options: o) { say(output.quiet, $0) }, quiet: output.quiet)
    }
}
