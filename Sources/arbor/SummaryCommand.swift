// `arbor summary`: regenerate, sign, view or verify the summary file.
import ArborCore
import ArgumentParser

struct SummaryCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "summary",
        abstract: "Regenerate the summary (-u), optionally signed; print it (--view); check its signature (--verify).",
        discussion: "The summary lists the local refs with their commits, sizes and versions; pull reads it."
    )

    @OptionGroup var repoOptions: RepoOptions

    @Flag(name: [.customShort("u"), .customLong("update")], help: "Regenerate the summary.")
    var update = false

    @Flag(help: "Print the summary.")
    var view = false

    @Flag(help: "Verify summary.sig with the given public keys.")
    var verify = false

    @Option(help: ArgumentHelp("Sign the summary with this secret key (repeatable).", valueName: "KEY"))
    var sign: [String] = []

    @Option(name: .customLong("sign-type"), help: "Signature type (only ed25519).")
    var signType: String = "ed25519"

    @Option(name: .customLong("keys-file"), help: ArgumentHelp("A file with one base64 key a line.", valueName: "FILE"))
    var keysFile: String?

    @Flag(help: "Print JSON (with --view).")
    var json = false

    @Argument(help: "Public keys for --verify.")
    var keys: [String] = []

    func validate() throws {
        if !update && !view && !verify { throw ValidationError("give -u, --view or --verify") }
        if signType != "ed25519" { throw ValidationError("unsupported signature type '\(signType)' (ed25519)") }
    }

    func run() throws {
        let repo = try repoOptions.open()
        if update {
            let secret = try (sign + (verify ? [] : try keyTexts([], file: keysFile))).map { try Ed25519.SecretKey(base64: $0) }
            try repo.updateSummary(signingKeys: secret)
        }
        if verify {
            let r = try repo.verifySummary(keys: try keyTexts(keys, file: keysFile).map { try Ed25519.PublicKey(base64: $0) })
            print("Summary signature verified successfully with key \(r.key.base64)")
        }
        if view {
            guard let s = try repo.readSummary() else { throw ArborError.notFound("the repository has no summary (run summary -u)") }
            if json {
                print(JSON.object([
                    ("refs", .array(s.refs.map { r in
                        .object([("name", .string(r.name)), ("checksum", .string(r.checksum.hex)), ("commitSize", .uint(r.commitSize)),
                                 ("version", r.version.map { .string($0) } ?? .null), ("timestamp", r.timestamp.map { .uint($0) } ?? .null)])
                    })),
                    ("metadata", .object(vardictEntries(s.metadata).map { k, v in
                        // Timestamps are stored big-endian (spec §1.2).
                        if k == "ostree.summary.last-modified" || k == "ostree.summary.expires", let t = v.uint64Value {
                            return (k, JSON.uint(UInt64(bigEndian: t)))
                        }
                        return (k, JSON(v))
                    })),
                ]).render())
                return
            }
            for r in s.refs {
                print("* \(r.name)\n    Latest Commit (\(r.commitSize) bytes):\n      \(r.checksum.hex)")
                if let v = r.version { print("    Version (ostree.commit.version): \(v)") }
                if let t = r.timestamp { print("    Timestamp (ostree.commit.timestamp): \(isoDate(t))") }
                print("")
            }
            for (k, v) in vardictEntries(s.metadata) {
                switch k {
                case "ostree.summary.mode": print("Repository Mode (\(k)): \(v.stringValue ?? "")")
                case "ostree.summary.last-modified":
                    print("Last-Modified (\(k)): \(isoDate(UInt64(bigEndian: v.uint64Value ?? 0)))")
                case "ostree.summary.tombstone-commits": print("Has Tombstone Commits (\(k)): \(v.boolValue == true ? "Yes" : "No")")
                default: print("\(k): \(gvariantText(v))")
                }
            }
        }
    }
}

/// `2024-01-01T00:00:00+00`, as `ostree summary --view` prints times.
func isoDate(_ t: UInt64) -> String {
    let s = formatDate(t)   // "YYYY-MM-DD HH:MM:SS +0000"
    return String(s.prefix(10)) + "T" + String(s.dropFirst(11).prefix(8)) + "+00"
}

/// The entries of an a{sv}, values unwrapped.
func vardictEntries(_ v: GVariant) -> [(String, GVariant)] {
    guard case let .array(_, items) = v else { return [] }
    return items.compactMap {
        guard case let .dictEntry(.string(k), .variant(val)) = $0 else { return nil }
        return (k, val)
    }
}
