// Paths as raw bytes. The kernel splits a path on the byte `/` (0x2F) and nothing else, and a
// file name is any bytes but `/` and NUL. Swift's String splits and compares grapheme clusters,
// in which a `/` merges with its neighbours (after U+0600, before U+0301): `r<U+0600>/..` is one
// Character there and two components for the kernel. So every path that comes from disk (link
// targets) or is walked component by component is handled here as [UInt8], and is turned into
// text only to be shown (Shown.bytes) or once it is known to be valid UTF-8 (BytePath.text).
#if canImport(Glibc)
import Glibc
#endif

/// Byte-string path operations and the system calls that take such paths.
enum BytePath {
    /// The separator, `/`.
    static let slash = UInt8(ascii: "/")
    /// The component `.`.
    static let dot: [UInt8] = [UInt8(ascii: ".")]
    /// The component `..`.
    static let dotDot: [UInt8] = [UInt8(ascii: "."), UInt8(ascii: ".")]

    /// The non-empty components of a path (`a//b/` gives `a`, `b`), split on the byte `/` only.
    static func split(_ path: [UInt8]) -> [[UInt8]] {
        return path.split(separator: slash, omittingEmptySubsequences: true).map { Array($0) }
    }

    /// `root` joined with `parts` (root `/` gives `/a/b`, an empty root `a/b`; no parts gives
    /// `root`).
    static func join(_ root: [UInt8], _ parts: [[UInt8]]) -> [UInt8] {
        var path = root
        for part in parts {
            if !path.isEmpty && path.last != slash { path.append(slash) }
            path += part
        }
        return path
    }

    /// Whether `path` starts with `/`.
    static func isAbsolute(_ path: [UInt8]) -> Bool {
        return path.first == slash
    }

    /// `path` as a String when it is valid UTF-8 (and so round-trips to the same bytes).
    static func text(_ path: [UInt8]) -> String? {
        return String(validating: path, as: UTF8.self)
    }

    /// Calls `body` with `path` as a NUL-terminated C string; nil, with errno EINVAL, when the
    /// path holds a NUL byte (which no file name can).
    static func withCString<R>(_ path: [UInt8], _ body: (UnsafePointer<CChar>) -> R) -> R? {
        guard !path.contains(0) else {
            errno = EINVAL
            return nil
        }
        let terminated = path + [0]
        return terminated.withUnsafeBufferPointer { buffer -> R? in
            guard let base = buffer.baseAddress else { return nil }
            return base.withMemoryRebound(to: CChar.self, capacity: buffer.count) { body($0) }
        }
    }

    /// lstat(2); nil (with errno set) when it fails.
    static func lstat(_ path: [UInt8]) -> stat? {
        var info = stat()
        let result = withCString(path) { Glibc.lstat($0, &info) }
        return result == 0 ? info : nil
    }

    /// readlink(2): the whole target, as bytes (any bytes but NUL, UTF-8 or not); nil (with
    /// errno set) when it fails.
    static func readlink(_ path: [UInt8]) -> [UInt8]? {
        var buffer = [UInt8](repeating: 0, count: Int(PATH_MAX) + 1)
        let count = withCString(path) { cPath -> Int in
            buffer.withUnsafeMutableBufferPointer { space -> Int in
                guard let base = space.baseAddress else { return -1 }
                return base.withMemoryRebound(to: CChar.self, capacity: space.count) {
                    Glibc.readlink(cPath, $0, space.count - 1)
                }
            }
        }
        guard let n = count, n >= 0 else { return nil }
        return Array(buffer[0..<n])
    }
}
