// Remotes are `[remote "NAME"]` sections of the repository config (spec §4), as `ostree remote add`
// writes them: url=, gpg-verify=, sign-verify=, verification-ed25519-key= / verification-ed25519-file=.
import ArborCore

/// A configured remote.
public struct Remote: Sendable {
    /// The remote's name.
    public var name: String
    /// The base URL of its repository (http://, https:// or file://).
    public var url: String
    /// Whether commits (and the summary) must carry a valid ed25519 signature.
    public var signVerify: Bool
    /// Trusted public keys given inline.
    public var inlineKeys: [String]
    /// A file with trusted public keys, one a line.
    public var keyFile: String?

    /// The trusted public keys (inline plus those in the key file).
    public func trustedKeys() throws -> [Ed25519.PublicKey] {
        var texts = inlineKeys
        if let f = keyFile { texts += try Ed25519.readKeysFile(f) }
        return try texts.map { try Ed25519.PublicKey(base64: $0) }
    }
}

/// How a new remote verifies signatures.
public enum SignVerifySetting: Sendable {
    /// No verification (`--no-sign-verify`).
    case none
    /// ed25519 with a key given inline.
    case inlineKey(String)
    /// ed25519 with keys read from a file.
    case keyFile(String)
}

extension Repository {
    /// Every remote in the config, in file order.
    public func remotes() -> [Remote] {
        config.sections.compactMap { section -> Remote? in
            guard section.hasPrefix("remote \""), section.hasSuffix("\"") else { return nil }
            return remote(named: String(section.dropFirst(8).dropLast()))
        }
    }

    /// One remote, or nil.
    public func remote(named name: String) -> Remote? {
        let section = "remote \"\(name)\""
        guard let url = config.value(section, "url") else { return nil }
        let key = config.value(section, "verification-ed25519-key")
        return Remote(name: name, url: url,
                      signVerify: config.bool(section, "sign-verify", default: false),
                      inlineKeys: key.map { $0.split(separator: ";").map(String.init).filter { !$0.isEmpty } } ?? [],
                      keyFile: config.value(section, "verification-ed25519-file"))
    }

    /// Adds a remote; fails when one of that name exists.
    public func addRemote(name: String, url: String, signVerify: SignVerifySetting) throws {
        guard Self.isValidRefName(name), !name.contains("/") else { throw ArborError.invalidArgument("invalid remote name '\(name)'") }
        // Written into the config file: nothing may end a line or a section there.
        try RepoConfig.checkValue(url, "remote URL")
        if case let .keyFile(f) = signVerify { try RepoConfig.checkValue(f, "key file path") }
        guard url.hasPrefix("http://") || url.hasPrefix("https://") || url.hasPrefix("file://") else {
            throw ArborError.invalidArgument("unsupported URL '\(url)' (http://, https:// or file://)")
        }
        if remote(named: name) != nil { throw ArborError.invalidArgument("remote \(name) already exists") }
        if case let .inlineKey(k) = signVerify { _ = try Ed25519.PublicKey(base64: k) }
        try updateConfig { c in
            let section = "remote \"\(name)\""
            c.set(section, "url", url)
            c.set(section, "gpg-verify", "false")
            switch signVerify {
            case .none:
                c.set(section, "sign-verify", "false")
            case let .inlineKey(k):
                c.set(section, "sign-verify", "true")
                c.set(section, "verification-ed25519-key", k)
            case let .keyFile(f):
                c.set(section, "sign-verify", "true")
                c.set(section, "verification-ed25519-file", f)
            }
        }
    }

    /// Deletes a remote (its section; its remote refs stay, as with `ostree remote delete`).
    public func deleteRemote(name: String) throws {
        guard remote(named: name) != nil else { throw ArborError.notFound("no remote named \(name)") }
        try updateConfig { _ = $0.removeSection("remote \"\(name)\"") }
    }
}
