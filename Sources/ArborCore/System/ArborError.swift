// The error type of ArborCore: every failure carries enough context for a one-line message.
#if canImport(Glibc)
import Glibc
#endif

/// Errors raised by ArborCore. `description` is one human-readable line without the `arbor: error:` prefix.
public enum ArborError: Error, CustomStringConvertible, Equatable {
    /// A system call failed: the operation, the path it acted on (may be empty) and `errno`.
    case system(op: String, path: String, errno: Int32)
    /// An object in the repository is malformed or does not match its name.
    case corruptObject(name: String, reason: String)
    /// An object the operation needs is not in the repository.
    case missingObject(name: String)
    /// A revision, ref, path or remote does not exist.
    case notFound(String)
    /// A checksum prefix matches more than one commit.
    case ambiguous(String)
    /// The caller passed an invalid value.
    case invalidArgument(String)
    /// The repository (or one of its files) is malformed.
    case invalidRepository(String)
    /// The repository lock is held by another process.
    case locked(String)
    /// The input tree cannot be represented (special files, bad names, ...).
    case unsupported(String)
    /// A file changed while it was being read.
    case changedWhileReading(String)

    public var description: String {
        switch self {
        case let .system(op, path, err):
            let msg = String(cString: strerror(err))
            return path.isEmpty ? "\(op): \(msg)" : "\(op) \(path): \(msg)"
        case let .corruptObject(name, reason): return "corrupt object \(name): \(reason)"
        case let .missingObject(name): return "missing object \(name)"
        case let .notFound(what): return what
        case let .ambiguous(what): return what
        case let .invalidArgument(what): return what
        case let .invalidRepository(what): return what
        case let .locked(what): return what
        case let .unsupported(what): return what
        case let .changedWhileReading(path): return "\(path) changed while it was being committed"
        }
    }

    /// Builds a `.system` error from the current `errno`.
    public static func errno(_ op: String, _ path: String = "") -> ArborError {
        .system(op: op, path: path, errno: Glibc.errno)
    }
}
