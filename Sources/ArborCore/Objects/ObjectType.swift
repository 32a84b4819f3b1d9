// Object types and loose-object names (spec §2).

/// The kinds of object an OSTree repository stores.
public enum ObjectType: UInt8, Sendable, CaseIterable, CustomStringConvertible {
    /// Content: a regular file or symlink with its metadata.
    case file = 1
    /// A directory listing.
    case dirTree = 2
    /// A directory's ownership, mode and xattrs.
    case dirMeta = 3
    /// A commit.
    case commit = 4
    /// A marker left where a commit was deliberately deleted.
    case tombstoneCommit = 5
    /// Detached (mutable) commit metadata: signatures.
    case commitMeta = 6
    /// Reflink payload links (read-only support: never written).
    case payloadLink = 7

    /// The name OSTree uses (`file`, `dirtree`, ...), also the loose-object suffix outside archive mode.
    public var name: String {
        switch self {
        case .file: return "file"
        case .dirTree: return "dirtree"
        case .dirMeta: return "dirmeta"
        case .commit: return "commit"
        case .tombstoneCommit: return "tombstone-commit"
        case .commitMeta: return "commitmeta"
        case .payloadLink: return "payload-link"
        }
    }

    public var description: String { name }

    /// Whether this is a metadata object (stored verbatim in every mode).
    public var isMetadata: Bool { self != .file }

    /// Parses a loose-object suffix (`filez` is the archive spelling of `file`).
    public init?(suffix: some StringProtocol) {
        switch suffix {
        case "file", "filez": self = .file
        case "dirtree": self = .dirTree
        case "dirmeta": self = .dirMeta
        case "commit": self = .commit
        case "tombstone-commit": self = .tombstoneCommit
        case "commitmeta": self = .commitMeta
        case "payload-link": self = .payloadLink
        default: return nil
        }
    }
}

/// An object's identity: its checksum and type, printed `CHECKSUM.TYPE` as OSTree does.
public struct ObjectName: Hashable, Sendable, CustomStringConvertible {
    /// The checksum the object is named after.
    public var checksum: Checksum
    /// The object type.
    public var type: ObjectType
    /// Creates a name.
    public init(_ checksum: Checksum, _ type: ObjectType) {
        self.checksum = checksum
        self.type = type
    }
    public var description: String { "\(checksum.hex).\(type.name)" }
}
