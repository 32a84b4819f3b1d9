// The repository subcommands: create, commit, check out and inspect.
import ArgumentParser

let repositoryCommands: [ParsableCommand.Type] = [
    InitCommand.self, CommitCommand.self, CheckoutCommand.self, LsCommand.self, CatCommand.self,
    ShowCommand.self, LogCommand.self, RevParseCommand.self, RefsCommand.self,
]
