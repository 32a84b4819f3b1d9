// `--boot-tries`, shared by the subcommands that make a new default deployment.
import ArgumentParser

/// How many boot attempts the new default gets before the boot loader falls back.
struct BootTriesOption: ParsableArguments {
    @Option(name: .customLong("boot-tries"), help: ArgumentHelp(
        "Boot attempts the new default gets before the boot loader falls back to the previous deployment (0-5, 0 = off; default: [sysroot] boot-counting-tries of the repository config). Its entry is named ostree-I-OS+N.conf.",
        valueName: "N"))
    var bootTries: Int?
}
