// Tarball and OCI subcommands (import is `commit --tree=tar=|oci=`): export.
import ArgumentParser

let archiveCommands: [ParsableCommand.Type] = [ExportCommand.self]
