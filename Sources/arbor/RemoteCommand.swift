// `arbor remote`: manage remotes in the repository config.
import ArborCore
import ArborRemote
import ArgumentParser

struct RemoteCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "remote",
        abstract: "Add, list and delete remotes (written as `ostree remote add` writes them).",
        subcommands: [RemoteAdd.self, RemoteList.self, RemoteDelete.self]
    )
}

struct RemoteAdd: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "add",
        abstract: "Add a remote.",
        discussion: """
        With --sign-verify=ed25519=inline:KEY (or =file:PATH, one key a line), every commit and the \
        summary pulled from this remote must carry a valid signature by one of the keys.
        """
    )

    @OptionGroup var repoOptions: RepoOptions

    @Flag(name: .customLong("no-sign-verify"), help: "Do not require signatures.")
    var noSignVerify = false

    @Option(name: .customLong("sign-verify"), help: ArgumentHelp("Require ed25519 signatures.", valueName: "ed25519=inline:KEY|ed25519=file:PATH"))
    var signVerify: String?

    @Argument(help: "The remote's name.")
    var name: String

    @Argument(help: "The URL of its repository.")
    var url: String

    func run() throws {
        let repo = try repoOptions.open()
        var setting = SignVerifySetting.none
        if let s = signVerify {
            if noSignVerify { throw ValidationError("--sign-verify and --no-sign-verify exclude each other") }
            if s.hasPrefix("ed25519=inline:") {
                setting = .inlineKey(String(s.dropFirst("ed25519=inline:".count)))
            } else if s.hasPrefix("ed25519=file:") {
                setting = .keyFile(String(s.dropFirst("ed25519=file:".count)))
            } else {
                throw ValidationError("invalid --sign-verify '\(s)' (ed25519=inline:KEY or ed25519=file:PATH)")
            }
        }
        try repo.addRemote(name: name, url: url, signVerify: setting)
    }
}

struct RemoteList: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "list", abstract: "List remotes.")

    @OptionGroup var repoOptions: RepoOptions

    @Flag(name: [.customShort("u"), .customLong("show-urls")], help: "Show URLs.")
    var showURLs = false

    @Flag(help: "Print JSON.")
    var json = false

    func run() throws {
        let repo = try repoOptions.open()
        let remotes = repo.remotes()
        if json {
            print(JSON.array(remotes.map { r in
                .object([("name", .string(r.name)), ("url", .string(r.url)), ("signVerify", .bool(r.signVerify)),
                         ("keys", .array(r.inlineKeys.map { .string($0) })), ("keyFile", r.keyFile.map { .string($0) } ?? .null)])
            }).render())
            return
        }
        let width = remotes.map(\.name.count).max() ?? 0
        for r in remotes {
            print(showURLs ? r.name + String(repeating: " ", count: width - r.name.count + 2) + r.url : r.name)
        }
    }
}

struct RemoteDelete: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "delete", abstract: "Delete a remote.")

    @OptionGroup var repoOptions: RepoOptions

    @Argument(help: "The remote's name.")
    var name: String

    func run() throws {
        try repoOptions.open().deleteRemote(name: name)
    }
}
