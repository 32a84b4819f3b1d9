// Integrity and maintenance subcommands: fsck, diff, prune, summary, sign.
import ArgumentParser

let integrityCommands: [ParsableCommand.Type] = [
    FsckCommand.self, DiffCommand.self, PruneCommand.self, SummaryCommand.self, SignCommand.self,
]
