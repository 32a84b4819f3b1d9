// `arbor admin upgrade`: deploy the newest commit of the default deployment's origin.
import ArborDeploy
import ArgumentParser

struct AdminUpgradeCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "upgrade",
        abstract: "Deploy the newest commit of the default deployment's origin ref, if it changed.",
        discussion: "An origin REMOTE:REF is pulled from its remote first (only missing objects, verified); a local ref is read from the sysroot repository."
    )

    @OptionGroup var sysrootOptions: SysrootOptions
    @OptionGroup var output: OutputOptions
    @OptionGroup var bootTries: BootTriesOption

    @Option(name: .customLong("os"), help: ArgumentHelp("The stateroot (default: the default deployment's).", valueName: "STATEROOT"))
    var stateroot: String?

    @Flag(name: .customLong("pull-only"), help: "Only fetch the update; do not deploy it.")
    var pullOnly = false

    @Flag(name: .customLong("deploy-only"), help: "Do not fetch; deploy what the repository has.")
    var deployOnly = false

    @Flag(name: .customLong("allow-downgrade"), help: "Accept a commit older than the deployed one.")
    var allowDowngrade = false

    @Flag(help: "Keep every existing deployment.")
    var retain = false

    @Flag(name: .customLong("allow-failed"), help: "Deploy the update even though its commit failed to boot on this node before.")
    var allowFailed = false

    func run() throws {
        var o = UpgradeOptions()
        if !deployOnly { o.source = PullUpdateSource(requireRemote: pullOnly) }
        o.stateroot = stateroot
        o.pullOnly = pullOnly
        o.deployOnly = deployOnly
        o.allowDowngrade = allowDowngrade
        o.retain = retain
        o.bootTries = bootTries.bootTries
        o.allowFailed = allowFailed
        try report(try sysrootOptions.open().upgrade(o) { say(output.quiet, $0) }, quiet: output.quiet)
    }
}

/// Prints what an upgrade or switch did.
func report(_ outcome: UpgradeOutcome, quiet: Bool) throws {
    switch outcome {
    case let .noUpdate(d):
        say(quiet, "No update available (\(d.stateroot) \(d.name))")
    case let .fetched(c):
        say(quiet, "Fetched \(c.hex)")
    case let .deployed(result, oldVersion, newVersion, diff):
        say(quiet, result.bootloaderSummary)
        say(quiet, "\(oldVersion) → \(newVersion): \(diff.description)")
        say(quiet, "Deployed \(result.deployment.stateroot) \(result.deployment.name); it boots next")
    }
}
