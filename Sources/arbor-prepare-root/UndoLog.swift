// What to take back when a step fails half-way: every mount, move, remount, file and directory
// made so far, undone in reverse order, so that a failed run leaves the mount table as it found
// it (`mount --make-rprivate /` excepted: it changes propagation, not the table).
#if canImport(Glibc)
import Glibc
#endif

/// The undo actions of the steps done so far.
struct UndoLog {
    /// One step to take back.
    enum Action {
        /// Detach the mount at this path.
        case unmount(String)
        /// Move the mount at `from` back to `to`.
        case move(from: String, to: String)
        /// Remove this file.
        case removeFile(String)
        /// Remove this (empty) directory.
        case removeDirectory(String)
        /// Make the file system mounted at this path read-only again (a remount of its
        /// superblock, which outlives the unmount of the bind that was used to make it writable).
        case remountReadOnly(String)
    }

    /// Actions in the order their steps were done.
    private(set) var actions: [Action] = []

    /// Records the undo of a step just done.
    mutating func record(_ action: Action) {
        actions.append(action)
    }

    /// Forgets everything: the steps are final.
    mutating func commit() {
        actions.removeAll()
    }

    /// Undoes every recorded step, last first, ignoring failures (this already is the failure
    /// path, and its one error line has been decided).
    mutating func rollBack() {
        _ = chdir("/")
        while let action = actions.popLast() {
            switch action {
            case .unmount(let path):
                FileSystem.detach(path)
            case .move(let from, let to):
                _ = Glibc.mount(from, to, nil, UInt(MS_MOVE) | UInt(MS_SILENT), nil)
            case .removeFile(let path):
                _ = unlink(path)
            case .removeDirectory(let path):
                _ = rmdir(path)
            case .remountReadOnly(let path):
                _ = Glibc.mount(nil, path, nil, UInt(MS_REMOUNT) | UInt(MS_RDONLY) | UInt(MS_SILENT), nil)
            }
        }
    }
}
