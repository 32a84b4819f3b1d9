// `arbor admin pin [--unpin] INDEX`: keep a deployment when newer ones are deployed.
import ArborDeploy
import ArgumentParser

struct AdminPinCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "pin",
        abstract: "Pin (or with --unpin, unpin) the deployment at INDEX."
    )

    @OptionGroup var sysrootOptions: SysrootOptions

    @Flag(name: [.short, .long], help: "Remove the pin.")
    var unpin = false

    @Argument(help: "The deployment's index (0 is the default).")
    var index: Int

    func run() throws {
        _ = try sysrootOptions.open().pin(index: index, !unpin)
        print("Deployment \(index) is now \(unpin ? "unpinned" : "pinned")")
    }
}
