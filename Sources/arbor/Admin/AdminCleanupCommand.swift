// `arbor admin cleanup`: remove what no deployment needs.
import ArborCore
import ArborDeploy
import ArgumentParser

struct AdminCleanupCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "cleanup",
        abstract: "Remove leftovers: undeployed directories, old boot entries and bootlinks, unused kernels, unreachable objects.",
        discussion: "Objects are pruned as `ostree admin cleanup` does: only the commits refs name (no history) are kept."
    )

    @OptionGroup var sysrootOptions: SysrootOptions
    @OptionGroup var output: OutputOptions

    @Flag(name: .customLong("no-prune"), help: "Do not prune the repository.")
    var noPrune = false

    func run() throws {
        let sysroot = try sysrootOptions.open()
        let r = try sysroot.cleanup { say(output.quiet, $0) }
        say(output.quiet, "Removed \(r.deployments) deployment(s), \(r.bootDirectories) kernel director\(r.bootDirectories == 1 ? "y" : "ies"), \(r.other) other leftover(s)")
        if !noPrune {
            var o = PruneOptions()
            o.refsOnly = true
            o.depth = 0
            let p = try sysroot.repository().prune(o)
            say(output.quiet, "Pruned \(p.unreachable.count) object(s), \(humanBytes(p.bytes)) freed")
        }
    }
}
