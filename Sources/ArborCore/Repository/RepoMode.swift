// Repository modes: how content objects sit on disk (spec §5).

/// The storage mode of a repository.
public enum RepoMode: String, Sendable, CaseIterable {
    /// Real files with real ownership, modes and xattrs (needs root to write).
    case bare
    /// Regular files owned by the writing user; true metadata in the `user.ostreemeta` xattr.
    case bareUser = "bare-user"
    /// Regular files with canonical permissions; no ownership or xattrs kept.
    case bareUserOnly = "bare-user-only"
    /// Compressed `.filez` objects, suitable for serving over HTTP.
    case archive

    /// Parses a mode name as given on the command line or in a config file
    /// (`archive-z2` is the historical spelling of `archive`).
    public init?(name: String) {
        switch name {
        case "bare": self = .bare
        case "bare-user": self = .bareUser
        case "bare-user-only": self = .bareUserOnly
        case "archive", "archive-z2": self = .archive
        default: return nil
        }
    }

    /// The name written to `config`; `ostree` 2022.7 writes `archive-z2`, and so do we.
    public var configName: String { self == .archive ? "archive-z2" : rawValue }

    /// The loose-object suffix for content objects.
    public var contentSuffix: String { self == .archive ? "filez" : "file" }

    /// Whether committed trees are canonicalised (uid/gid 0, no xattrs, modes masked).
    public var forcesCanonicalPermissions: Bool { self == .bareUserOnly }
}
