// `arbor sign`: add or verify ed25519 signatures on a commit (OSTree's detached metadata).
import ArborCore
import ArgumentParser

struct SignCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "sign",
        abstract: "Sign a commit with ed25519 keys, or verify its signatures with --verify.",
        discussion: """
        Keys are OSTree's text form: a secret key is base64 of 64 bytes (seed then public key), a \
        public key base64 of 32 bytes. --keys-file reads one key a line. Signatures go into the \
        commit's detached metadata under ostree.sign.ed25519 and cover the commit object's bytes.
        """
    )

    @OptionGroup var repoOptions: RepoOptions

    @Option(name: .customLong("sign-type"), help: "Signature type (only ed25519).")
    var signType: String = "ed25519"

    @Option(name: .customLong("keys-file"), help: ArgumentHelp("A file with one base64 key a line.", valueName: "FILE"))
    var keysFile: String?

    @Flag(help: "Verify instead of signing: the KEYs are trusted public keys.")
    var verify = false

    @Argument(help: "The commit.")
    var rev: String

    @Argument(help: "Secret keys to sign with (public keys with --verify).")
    var keys: [String] = []

    func run() throws {
        guard signType == "ed25519" else { throw ValidationError("unsupported signature type '\(signType)' (ed25519)") }
        let repo = try repoOptions.open()
        let commit = try repo.resolveRev(rev)
        let texts = try keyTexts(keys, file: keysFile)
        if verify {
            let result = try repo.verifyCommit(commit, keys: try texts.map { try Ed25519.PublicKey(base64: $0) })
            print("Signature verified successfully with key \(result.key.base64)")
            return
        }
        guard !texts.isEmpty else { throw ValidationError("give at least one secret key (or --keys-file)") }
        let added = try repo.signCommit(commit, keys: try texts.map { try Ed25519.SecretKey(base64: $0) })
        if added == 0 { warn("commit \(commit.hex) already carries these signatures") }
    }
}

/// Keys from arguments plus a keys file (one a line).
func keyTexts(_ keys: [String], file: String?) throws -> [String] {
    try keys + (file.map { try Ed25519.readKeysFile($0) } ?? [])
}
