// Extended attributes read and written through descriptors (files, directories) or through
// the parent directory's descriptor (symlinks, which cannot be opened).
#if canImport(Glibc)
import Glibc
#endif
import CArborSystem

/// One extended attribute. `name` has no trailing NUL here; the GVariant form adds it.
public struct Xattr: Hashable, Sendable {
    /// The attribute name, e.g. `user.foo`, as bytes.
    public var name: [UInt8]
    /// The raw value.
    public var value: [UInt8]
    /// Creates an attribute.
    public init(name: [UInt8], value: [UInt8]) {
        self.name = name
        self.value = value
    }
    /// The name as text.
    public var nameString: String { String(decoding: name, as: UTF8.self) }
}

/// Sorts attributes the way OSTree does (bytewise by name) and drops empty values, which
/// OSTree's reader skips.
public func canonicalXattrs(_ xs: [Xattr]) -> [Xattr] {
    xs.filter { !$0.value.isEmpty }.sorted { $0.name.lexicographicallyPrecedes($1.name) }
}

enum XattrIO {
    /// Lists and reads all xattrs of an open file or directory.
    static func read(fd: Int32, path: String) throws -> [Xattr] {
        try readWith(path: path,
                     list: { buf, size in flistxattr(fd, buf, size) },
                     get: { name, buf, size in fgetxattr(fd, name, buf, size) })
    }

    /// Lists and reads the xattrs of `name` in `dir` without following it (works on symlinks).
    static func read(dir: FileDescriptor, name: String) throws -> [Xattr] {
        let p = procPath(dir: dir, name: name)
        return try readWith(path: dir.join(name),
                            list: { buf, size in llistxattr(p, buf, size) },
                            get: { n, buf, size in lgetxattr(p, n, buf, size) })
    }

    private static func readWith(path: String,
                                 list: (UnsafeMutablePointer<CChar>?, Int) -> Int,
                                 get: (UnsafePointer<CChar>, UnsafeMutableRawPointer?, Int) -> Int) throws -> [Xattr] {
        var size = list(nil, 0)
        if size < 0 {
            if Glibc.errno == ENOTSUP || Glibc.errno == EOPNOTSUPP { return [] }
            throw ArborError.errno("listxattr", path)
        }
        if size == 0 { return [] }
        var names = [CChar](repeating: 0, count: size + 1)
        while true {
            size = list(&names, names.count)
            if size >= 0 { break }
            if Glibc.errno != ERANGE { throw ArborError.errno("listxattr", path) }
            let more = list(nil, 0)
            if more < 0 { throw ArborError.errno("listxattr", path) }
            names = [CChar](repeating: 0, count: more + 1)
        }
        var result: [Xattr] = []
        var start = 0
        for i in 0..<size where names[i] == 0 {
            let nameBytes = names[start..<i].map { UInt8(bitPattern: $0) }
            start = i + 1
            if nameBytes.isEmpty { continue }
            let value: [UInt8] = try nameBytes.withUnsafeBufferPointer { _ in
                let cname = nameBytes.map { CChar(bitPattern: $0) } + [0]
                return try cname.withUnsafeBufferPointer { np -> [UInt8] in
                    while true {
                        let vsize = get(np.baseAddress!, nil, 0)
                        if vsize < 0 {
                            if Glibc.errno == ENODATA { return [] }
                            throw ArborError.errno("getxattr", path)
                        }
                        if vsize == 0 { return [] }
                        var v = [UInt8](repeating: 0, count: vsize)
                        let got = get(np.baseAddress!, &v, vsize)
                        if got >= 0 { return Array(v[0..<got]) }
                        if Glibc.errno != ERANGE { throw ArborError.errno("getxattr", path) }
                    }
                }
            }
            result.append(Xattr(name: nameBytes, value: value))
        }
        return canonicalXattrs(result)
    }

    /// Sets every attribute on an open file or directory.
    static func write(fd: Int32, path: String, _ xattrs: [Xattr]) throws {
        for x in xattrs {
            let cname = x.name.map { CChar(bitPattern: $0) } + [0]
            let r = x.value.withUnsafeBytes { v in fsetxattr(fd, cname, v.baseAddress, v.count, 0) }
            if r != 0 { throw ArborError.errno("setxattr \(x.nameString)", path) }
        }
    }

    /// Sets attributes on `name` in `dir` without following it.
    static func write(dir: FileDescriptor, name: String, _ xattrs: [Xattr]) throws {
        let p = procPath(dir: dir, name: name)
        for x in xattrs {
            let cname = x.name.map { CChar(bitPattern: $0) } + [0]
            let r = x.value.withUnsafeBytes { v in lsetxattr(p, cname, v.baseAddress, v.count, 0) }
            if r != 0 { throw ArborError.errno("setxattr \(x.nameString)", dir.join(name)) }
        }
    }

    /// Reads one attribute of an open file; nil when absent.
    static func get(fd: Int32, name: String) -> [UInt8]? {
        let size = fgetxattr(fd, name, nil, 0)
        if size < 0 { return nil }
        var v = [UInt8](repeating: 0, count: max(size, 1))
        let got = fgetxattr(fd, name, &v, v.count)
        if got < 0 { return nil }
        return Array(v[0..<got])
    }

    /// `/proc/self/fd/N/name`: lets the l*xattr calls act on an entry of a directory descriptor.
    static func procPath(dir: FileDescriptor, name: String) -> String {
        if dir.raw == AT_FDCWD { return name }
        return "/proc/self/fd/\(dir.raw)/\(name)"
    }
}
