// `arbor admin`: deployments in a sysroot.
import ArgumentParser

let adminCommands: [ParsableCommand.Type] = [AdminCommand.self]

/// The `admin` group: one subcommand per file in this directory.
struct AdminCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "admin",
        abstract: "Manage deployments in an OSTree-layout sysroot.",
        discussion: """
        Every subcommand takes --sysroot=PATH (default /). The layout is OSTree's: `ostree admin` \
        reads what Arbor writes and the other way round.
        """,
        subcommands: [
            AdminInitFsCommand.self, AdminOsInitCommand.self, AdminDeployCommand.self, AdminUpgradeCommand.self,
            AdminSwitchCommand.self, AdminRollbackCommand.self, AdminStatusCommand.self, AdminUndeployCommand.self,
            AdminPinCommand.self, AdminCleanupCommand.self, AdminConfigDiffCommand.self, AdminBlessBootCommand.self,
            AdminKargsCommand.self,
        ]
    )
}
