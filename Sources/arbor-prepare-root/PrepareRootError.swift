// Every way arbor-prepare-root can fail, each with the one-line message printed after
// `arbor-prepare-root: error: ` (the boot harness greps that prefix on the console). Every value
// that comes from outside goes through Shown.clip, so no message grows past a few hundred bytes
// per value, whatever the command line, the links or the configuration hold.
#if canImport(Glibc)
import Glibc
#endif

/// Why arbor-prepare-root stopped. Nothing here is retried: a boot either gets its root or it
/// fails loudly and at once.
enum PrepareRootError: Error {
    /// A bad command line (unknown option, missing value, too many arguments).
    case usage(String)
    /// A file arbor-prepare-root needs (`what`: the kernel command line, a configuration)
    /// could not be read.
    case unreadable(what: String, path: String, errno: Int32)
    /// That file is not a regular file (a FIFO, a device...), so it is not read at all.
    case notRegularFile(what: String, path: String)
    /// That file is larger than anything it could legitimately be.
    case tooLarge(what: String, path: String, limit: Int)
    /// A configuration file that ostree would refuse to load, or a value it would refuse.
    case invalidConfig(path: String, line: Int, reason: String)
    /// No `ostree=` argument on the kernel command line.
    case noOstreeArgument
    /// An `ostree=` value that cannot be a bootlink path (empty, control characters, quotes...).
    case invalidOstreeArgument(value: String, reason: String)
    /// The sysroot directory itself is missing or unusable.
    case sysrootUnusable(path: String, reason: String)
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
    /// Something in the sysroot or the deployment that ostree-prepare-root would follow or
    /// mount is a symbolic link (or not a directory) where only a directory is legitimate.
    case unsafeLayout(path: String, reason: String)
    /// `sysroot.readonly=true`, but the sysroot is mounted read-only already.
    case sysrootNotWritable(path: String)
    /// The new root has no /sbin/init that can be executed.
    case noInit(root: String, reason: String)
    /// A configuration that needs what this version does not implement (composefs).
    case unsupported(String)
    /// A system call failed; `what` says which step.
    case systemCall(what: String, path: String, errno: Int32)

    /// The text after `arbor-prepare-root: error: `, on one line.
    var message: String {
        let v = Shown.clip
        switch self {
        case .usage(let text):
            return "\(v(text)) (see --help)"
        case .unreadable(let what, let path, let code):
            return "cannot read \(what) \(v(path)): \(Self.describe(code))"
        case .notRegularFile(let what, let path):
            return "\(what) \(v(path)) is not a regular file"
        case .tooLarge(let what, let path, let limit):
            return "\(what) \(v(path)) is larger than \(limit) bytes"
        case .invalidConfig(let path, let line, let reason):
            return line > 0 ? "\(v(path)):\(line): \(v(reason))" : "\(v(path)): \(v(reason))"
        case .noOstreeArgument:
            return "no ostree= argument on the kernel command line; expected ostree=/ostree/boot.N/..."
        case .invalidOstreeArgument(let value, let reason):
            return "invalid ostree= argument '\(v(value))': \(reason)"
        case .sysrootUnusable(let path, let reason):
            return "sysroot \(v(path)): \(reason)"
        case .targetMissing(let path, let code):
            return "cannot find the ostree= target \(v(path)): \(Self.describe(code))"
        case .targetNotSymlink(let path):
            return "the ostree= target is not a symbolic link: \(v(path))"
        case .bootlinkEscapes(let path, let target):
            return "the bootlink \(v(path)) -> \(v(target)) leaves the sysroot"
        case .tooManySymlinks(let path):
            return "too many levels of symbolic links resolving \(v(path))"
        case .bootlinkBroken(let path, let code):
            return "cannot resolve the bootlink at \(v(path)): \(Self.describe(code))"
        case .notADeployment(let path, let reason):
            return "the ostree= target \(v(path)) is not a deployment: \(v(reason))"
        case .unsafeLayout(let path, let reason):
            return "refusing \(v(path)): \(reason)"
        case .sysrootNotWritable(let path):
            return "sysroot.readonly=true requires \(v(path)) to be writable at this point"
        case .noInit(let root, let reason):
            return "no executable /sbin/init in the new root \(v(root)): \(v(reason))"
        case .unsupported(let text):
            return v(text)
        case .systemCall(let what, let path, let code):
            return "\(v(what)) \(v(path)): \(Self.describe(code))"
        }
    }

    /// strerror(3) text for an errno value.
    static func describe(_ code: Int32) -> String {
        guard let text = strerror(code) else { return "errno \(code)" }
        return String(cString: text)
    }
}
