// `arbor admin rollback`: the previous deployment becomes the default again.
import ArborDeploy
import ArgumentParser

struct AdminRollbackCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "rollback",
        abstract: "Make the rollback deployment the default again (and the default the rollback), atomically."
    )

    @OptionGroup var sysrootOptions: SysrootOptions
    @OptionGroup var output: OutputOptions

    func run() throws {
        let r = try sysrootOptions.open().rollback { say(output.quiet, $0) }
        say(output.quiet, "Bootloader updated; bootconfig swap: \(r.bootSwap ? "yes" : "no"); bootversion: boot.\(r.bootVersion).\(r.subbootVersion)")
        if let d = r.deployments.first { say(output.quiet, "Default is now \(d.stateroot) \(d.name)") }
    }
}
