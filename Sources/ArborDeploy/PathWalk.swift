// Walking relative paths one component at a time with O_NOFOLLOW, so that no symlink inside a
// sysroot or deployment (an /etc may hold absolute ones) is ever followed out of it.
#if canImport(Glibc)
import Glibc
#endif
import ArborCore

extension FileDescriptor {
    /// Opens the directory at `relative` below this one, refusing a symlink at every component.
    func openDirectoryPath(_ relative: String) throws -> FileDescriptor {
        var dir = try openDirectory(".")
        for comp in pathComponents(relative) { dir = try dir.openDirectory(comp) }
        return dir
    }

    /// Like `openDirectoryPath`, but nil when a component is missing.
    func openDirectoryPathIfExists(_ relative: String) throws -> FileDescriptor? {
        var dir = try openDirectory(".")
        for comp in pathComponents(relative) {
            guard let st = try dir.statIfExists(comp) else { return nil }
            guard st.st_mode & S_IFMT == S_IFDIR else {
                throw ArborError.invalidArgument("\(dir.join(comp)) is not a directory")
            }
            dir = try dir.openDirectory(comp)
        }
        return dir
    }

    /// The directory holding `relative`'s last component (opened safely) and that component.
    func parentAndLeaf(_ relative: String) throws -> (FileDescriptor, String) {
        let comps = pathComponents(relative)
        guard let leaf = comps.last else { throw ArborError.invalidArgument("empty path") }
        return (try openDirectoryPath(comps.dropLast().joined(separator: "/")), leaf)
    }

    /// Reads the regular file `name` (at most `limit` bytes); nil when it does not exist. A
    /// symlink, FIFO or device is refused before any read: it could block or point elsewhere.
    func readRegularFile(_ name: String, limit: Int) throws -> [UInt8]? {
        guard let f = try openIfExists(name, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY) else { return nil }
        guard fileType(try f.stat()) == S_IFREG else { throw ArborError.invalidArgument("\(f.path) is not a regular file") }
        return try f.readAll(limit: limit)
    }

    /// Whether this descriptor and `other` are the same directory.
    func sameInode(_ st: Glibc.stat) -> Bool {
        guard let mine = try? stat() else { return false }
        return mine.st_dev == st.st_dev && mine.st_ino == st.st_ino
    }
}

/// The non-empty components of a relative path; `.` is dropped and `..` rejected by callers' names.
func pathComponents(_ path: String) -> [String] {
    path.split(separator: "/").map(String.init).filter { !$0.isEmpty && $0 != "." }
}

/// `stat("/")`, or nil.
func statOfRoot() -> Glibc.stat? {
    var st = Glibc.stat()
    return fstatat(AT_FDCWD, "/", &st, 0) == 0 ? st : nil
}

/// The file type bits of a stat.
func fileType(_ st: Glibc.stat) -> mode_t { st.st_mode & S_IFMT }
