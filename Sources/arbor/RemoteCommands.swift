// Remote subcommands: remotes, pull over HTTP, pull from a local repository.
import ArgumentParser

let remoteCommands: [ParsableCommand.Type] = [RemoteCommand.self, PullCommand.self, PullLocalCommand.self]
