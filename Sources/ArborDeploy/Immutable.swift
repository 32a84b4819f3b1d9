// The immutable inode attribute (FS_IOC_SETFLAGS) on a deployment's root directory only, as
// `ostree` sets it: nothing can be added to or renamed in the root, while the files below stay
// repository objects that prune can remove.
#if canImport(Glibc)
import Glibc
#endif
import ArborCore
import CArborSystem

/// Sets or clears the immutable attribute.
enum Immutable {
    /// Sets or clears the attribute on an open directory; filesystems without it are ignored.
    static func set(_ dir: FileDescriptor, _ on: Bool) throws {
        var flags: UInt32 = 0
        if arbor_get_inode_flags(dir.raw, &flags) != 0 {
            if unsupported(errno) { return }
            throw ArborError.errno("get inode flags", dir.path)
        }
        let want = on ? flags | arbor_immutable_flag() : flags & ~arbor_immutable_flag()
        if want == flags { return }
        if arbor_set_inode_flags(dir.raw, want) != 0 {
            if unsupported(errno) { return }
            throw ArborError.errno("set inode flags", dir.path)
        }
    }

    private static func unsupported(_ e: Int32) -> Bool { e == EOPNOTSUPP || e == ENOTTY || e == ENOTSUP || e == EINVAL }
}
