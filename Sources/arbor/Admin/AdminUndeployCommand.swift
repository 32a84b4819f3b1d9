// `arbor admin undeploy INDEX`: drop a deployment from the boot order and delete it.
import ArborDeploy
import ArgumentParser

struct AdminUndeployCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "undeploy",
        abstract: "Remove the deployment at INDEX (as listed by 'admin status'); the booted one is refused."
    )

    @OptionGroup var sysrootOptions: SysrootOptions
    @OptionGroup var output: OutputOptions

    @Argument(help: "The deployment's index (0 is the default).")
    var index: Int

    func run() throws {
        let sysroot = try sysrootOptions.open()
        let before = try sysroot.load().deployments
        _ = try sysroot.undeploy(index: index) { say(output.quiet, $0) }
        if before.indices.contains(index) { say(output.quiet, "Deleted deployment \(before[index].stateroot) \(before[index].name)") }
    }
}
