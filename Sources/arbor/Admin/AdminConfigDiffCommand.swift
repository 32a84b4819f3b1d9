// `arbor admin config-diff`: the administrator's changes to /etc.
import ArborDeploy
import ArgumentParser

struct AdminConfigDiffCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "config-diff",
        abstract: "List the default deployment's /etc changes against its pristine usr/etc (M, D, A lines)."
    )

    @OptionGroup var sysrootOptions: SysrootOptions

    @Option(name: .customLong("os"), help: ArgumentHelp("The stateroot.", valueName: "STATEROOT"))
    var stateroot: String?

    @Flag(help: "Print JSON.")
    var json = false

    func run() throws {
        let (_, c) = try sysrootOptions.open().configDiff(stateroot: stateroot)
        if json {
            print(JSON.object([("modified", .array(c.modified.map { .string($0) })),
                               ("removed", .array(c.removed.map { .string($0) })),
                               ("added", .array(c.added.map { .string($0) }))]).render())
            return
        }
        for p in c.modified { print("M    \(p)") }
        for p in c.removed { print("D    \(p)") }
        for p in c.added { print("A    \(p)") }
    }
}
