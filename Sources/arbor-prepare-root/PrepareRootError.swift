// Every way arbor-prepare-root can fail, each with the one-line message printed after
// `arbor-prepare-root: error: ` (the boot harness greps that prefix on the console).
#if canImport(Glibc)
import Glibc
#endif

/// Why arbor-prepare-root stopped. Nothing here is retried: a boot either gets its root or it
/// fails loudly and at once.
enum PrepareRootError: Error {
    /// A bad command line (unknown option, missing value, too many arguments).
    case usage(String)
    /// The kernel command line file could not be read.
    case commandLineUnreadable(path: String, errno: Int32)
    /// No `ostree=` argument on the kernel command line.
    case noOstreeArgument
    /// An `ostree=` value that cannot be a bootlink path (empty, control characters, quotes...).
    case invalidOstreeArgument(value: String, reason: String)
    /// The sysroot directory itself is missing or unusable.
    case sysrootUnusable(path: String, errno: Int32)
    /// `SYSROOT/ostree=` does not exist.
    case targetMissing(path: String, errno: Int32)
    /// `SYSROOT/ostree=` exists but is not a symbolic link.
    case targetNotSymlink(path: String)
    /// Following the bootlink would leave the sysroot (`..` above it, or an absolute target).
    case bootlinkEscapes(path: String, target: String)
    /// More symbolic links than the kernel would follow (a loop, most likely).
    case tooManySymlinks(path: String)
    /// A component of the bootlink chain is missing or is not a directory.
    case bootlinkBroken(path: String, errno: Int32)
    /// The bootlink resolves to something that is not a deployment directory.
    case notADeployment(path: String, reason: String)
    /// `sysroot.readonly=true`, but the sysroot is mounted read-only already.
    case sysrootNotWritable(path: String)
    /// A configuration that needs what this version does not implement (composefs).
    case unsupported(String)
    /// A system call failed; `what` says which step.
    case systemCall(what: String, path: String, errno: Int32)

    /// The text after `arbor-prepare-root: error: `, on one line.
    var message: String {
        switch self {
        case .usage(let text):
            return "\(text) (see --help)"
        case .commandLineUnreadable(let path, let code):
            return "cannot read the kernel command line \(path): \(Self.describe(code))"
        case .noOstreeArgument:
            return "no ostree= argument on the kernel command line; expected ostree=/ostree/boot.N/..."
        case .invalidOstreeArgument(let value, let reason):
            return "invalid ostree= argument '\(value)': \(reason)"
        case .sysrootUnusable(let path, let code):
            return "sysroot \(path): \(Self.describe(code))"
        case .targetMissing(let path, let code):
            return "cannot find the ostree= target \(path): \(Self.describe(code))"
        case .targetNotSymlink(let path):
            return "the ostree= target is not a symbolic link: \(path)"
        case .bootlinkEscapes(let path, let target):
            return "the bootlink \(path) -> \(target) leaves the sysroot"
        case .tooManySymlinks(let path):
            return "too many levels of symbolic links resolving \(path)"
        case .bootlinkBroken(let path, let code):
            return "cannot resolve the bootlink at \(path): \(Self.describe(code))"
        case .notADeployment(let path, let reason):
            return "the ostree= target \(path) is not a deployment: \(reason)"
        case .sysrootNotWritable(let path):
            return "sysroot.readonly=true requires \(path) to be writable at this point"
        case .unsupported(let text):
            return text
        case .systemCall(let what, let path, let code):
            return "\(what) \(path): \(Self.describe(code))"
        }
    }

    /// strerror(3) text for an errno value.
    static func describe(_ code: Int32) -> String {
        guard let text = strerror(code) else { return "errno \(code)" }
        return String(cString: text)
    }
}
