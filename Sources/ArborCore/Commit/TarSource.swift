// `commit --tree=tar=FILE`: a tarball layered into the tree, streamed entry by entry through
// libarchive. Nothing is extracted to disk: each regular file is hashed (and staged when the
// repository lacks it) straight from the decompressed stream, so memory stays flat whatever
// the archive's size. Member names become tree paths after the rules `tar` applies when it
// extracts (leading `/` and `./` stripped), and since the tree is built in memory a symlink
// planted by one member can never redirect a later one anywhere, let alone outside the tree.
#if canImport(Glibc)
import Glibc
#endif
import CArchive

extension CommitBuilder {
    /// Layers a tarball (`-` for standard input): every format and compression libarchive reads.
    public func addTarball(path: String, options tar: TarOptions) throws {
        let fd: FileDescriptor
        let display: String
        if path == "-" {
            let raw = dup(0)
            if raw < 0 { throw ArborError.errno("dup", "standard input") }
            fd = FileDescriptor(raw: raw, path: "standard input")
            display = "standard input"
        } else {
            fd = try FileDescriptor.cwd.openat(path, O_RDONLY)
            if try fd.stat().st_mode & S_IFMT == S_IFDIR { throw ArborError.invalidArgument("\(path) is a directory, not a tarball") }
            display = path
        }
        try importArchive(ArchiveReader(fd: fd, display: display), tar: tar)
    }

    /// Layers every entry of an open archive stream.
    func importArchive(_ reader: ArchiveReader, tar: TarOptions) throws {
        let layer = LayerRecord(enabled: tar.whiteouts)
        while let entry = try reader.next() {
            try importEntry(entry, reader: reader, tar: tar, layer: layer)
        }
        if root.metaChecksum == nil {
            // As ostree: without the root's entry, its metadata is only invented on request.
            guard tar.autocreateParents else {
                throw ArborError.unsupported("\(reader.display): no entry for the root directory (./); use --tar-autocreate-parents")
            }
            root.setMeta(try txn.writeMetadata(.dirMeta, options.apply(DirMeta(uid: 0, gid: 0, mode: 0o40755)).serialize()))
        }
    }

    private func importEntry(_ entry: OpaquePointer, reader: ArchiveReader, tar: TarOptions, layer: LayerRecord) throws {
        let rawName = try entryName(entry, reader: reader)
        let comps = try treeComponents(rawName, what: "entry", display: reader.display)
        let shown = comps.isEmpty ? "/" : comps.joined(separator: "/")
        func fail(_ why: String) -> ArborError { ArborError.unsupported("\(reader.display): entry \(shown): \(why)") }

        if tar.whiteouts, let last = comps.last, let w = Whiteout(name: last) {
            try applyWhiteout(w, in: Array(comps.dropLast()), entry: entry, tar: tar, layer: layer, fail: fail)
            return
        }

        let type = UInt32(archive_entry_filetype(entry)) & EntryType.mask
        let isHardlink = archive_entry_hardlink(entry) != nil
        if comps.isEmpty {
            guard type == EntryType.directory && !isHardlink else { throw fail("only a directory can be the root") }
            root.setMeta(try writeEntryDirMeta(entry, reader: reader, fail: fail))
            return
        }
        let parent = try parentDirectory(comps, entry: entry, tar: tar, layer: layer, fail: fail)
        let name = comps[comps.count - 1]

        if isHardlink {
            let slot = try hardlinkTarget(entry, reader: reader, fail: fail)
            try parent.setFile(name, slot)
            layer.note(parent, name)
            progress.add(files: 1, bytes: 0)
            return
        }
        switch type {
        case EntryType.directory:
            let meta = try writeEntryDirMeta(entry, reader: reader, fail: fail)
            let dir = try parent.subdir(name)
            dir.setMeta(meta)
            layer.note(parent, name)
        case EntryType.regular:
            guard archive_entry_size_is_set(entry) != 0, archive_entry_size(entry) >= 0 else { throw fail("size unknown") }
            let size = UInt64(archive_entry_size(entry))
            let (uid, gid) = try owner(entry, fail: fail)
            let meta = options.apply(FileMeta(uid: uid, gid: gid, mode: 0o100000 | (UInt32(archive_entry_perm(entry)) & 0o7777),
                                              xattrs: options.wantsXattrs ? try entryXattrs(entry) : []))
            let checksum: Checksum
            do {
                checksum = try txn.writeRegularFile(meta: meta, size: size, read: { try reader.read(into: $0) })
            } catch let e as ArborError {
                // The stream's own error already names the archive; a short entry gets the entry's name.
                if case let .unsupported(msg) = e, msg.hasPrefix(reader.display + ":") { throw e }
                throw fail("\(e)")
            }
            try parent.setFile(name, .done(checksum))
            layer.note(parent, name)
            progress.add(files: 1, bytes: size)
        case EntryType.symlink:
            guard let t = archive_entry_symlink(entry) else { throw fail("symlink without a target") }
            let bytes = Array(UnsafeBufferPointer(start: UnsafeRawPointer(t).assumingMemoryBound(to: UInt8.self), count: strlen(t)))
            guard !bytes.isEmpty else { throw fail("empty symlink target") }
            guard bytes.count < Int(PATH_MAX) else { throw fail("symlink target longer than \(Int(PATH_MAX) - 1) bytes") }
            guard let target = String(validating: bytes, as: UTF8.self) else { throw fail("symlink target is not valid UTF-8") }
            let (uid, gid) = try owner(entry, fail: fail)
            // Symlink permissions mean nothing on Linux; ostree records 0777 whatever the archive says.
            let meta = options.apply(FileMeta(uid: uid, gid: gid, mode: 0o120777, symlinkTarget: target,
                                              xattrs: options.wantsXattrs ? try entryXattrs(entry) : []))
            try parent.setFile(name, .done(try txn.writeSymlink(meta: meta)))
            layer.note(parent, name)
            progress.add(files: 1, bytes: 0)
        case EntryType.characterDevice, EntryType.blockDevice, EntryType.fifo, EntryType.socket:
            guard tar.skipSpecial else {
                throw fail("\(fileKind(mode_t(type))) cannot be committed (only files, directories and symlinks; --tar-skip-special leaves such entries out)")
            }
            tar.skipped?("/" + shown)
        default:
            throw fail("unknown entry type \(String(type, radix: 8))")
        }
    }

    /// The entry's name as bytes. libarchive returns the raw bytes even when it cannot convert
    /// them to the (C) locale, which is what we want: names are UTF-8 bytes in the tree.
    private func entryName(_ entry: OpaquePointer, reader: ArchiveReader) throws -> [UInt8] {
        guard let p = archive_entry_pathname(entry) ?? archive_entry_pathname_utf8(entry) else {
            throw ArborError.unsupported("\(reader.display): an entry has an unreadable name")
        }
        return Array(UnsafeBufferPointer(start: UnsafeRawPointer(p).assumingMemoryBound(to: UInt8.self), count: strlen(p)))
    }

    /// The entry's uid and gid, which must fit OSTree's 32 bits.
    private func owner(_ entry: OpaquePointer, fail: (String) -> ArborError) throws -> (uid: UInt32, gid: UInt32) {
        let u = archive_entry_uid(entry), g = archive_entry_gid(entry)
        guard let uid = UInt32(exactly: u), let gid = UInt32(exactly: g) else { throw fail("owner \(u):\(g) out of range") }
        return (uid, gid)
    }

    /// The entry's xattrs (pax `SCHILY.xattr.*` or `LIBARCHIVE.xattr.*`); a name given twice keeps its last value.
    private func entryXattrs(_ entry: OpaquePointer) throws -> [Xattr] {
        guard archive_entry_xattr_reset(entry) > 0 else { return [] }
        var byName: [[UInt8]: [UInt8]] = [:]
        var name: UnsafePointer<CChar>?
        var value: UnsafeRawPointer?
        var size = 0
        while archive_entry_xattr_next(entry, &name, &value, &size) == ARCHIVE_OK {
            guard let n = name else { continue }
            let nameBytes = Array(UnsafeBufferPointer(start: UnsafeRawPointer(n).assumingMemoryBound(to: UInt8.self), count: strlen(n)))
            let valueBytes = value.map { Array(UnsafeRawBufferPointer(start: $0, count: size)) } ?? []
            if !nameBytes.isEmpty { byName[nameBytes] = valueBytes }
        }
        return byName.map { Xattr(name: $0.key, value: $0.value) }
    }

    private func writeEntryDirMeta(_ entry: OpaquePointer, reader: ArchiveReader, fail: (String) -> ArborError) throws -> Checksum {
        let (uid, gid) = try owner(entry, fail: fail)
        let meta = options.apply(DirMeta(uid: uid, gid: gid, mode: 0o040000 | (UInt32(archive_entry_perm(entry)) & 0o7777),
                                         xattrs: options.wantsXattrs ? try entryXattrs(entry) : []))
        return try txn.writeMetadata(.dirMeta, meta.serialize())
    }

    /// The directory that will hold `comps`' last component. Missing directories are an error,
    /// or, with `autocreateParents`, created 0755 and owned like the entry (as ostree does);
    /// a component that is a file or symlink is always an error.
    func parentDirectory(_ comps: [String], entry: OpaquePointer, tar: TarOptions, layer: LayerRecord,
                         fail: (String) -> ArborError) throws -> MutableTree {
        var node = root
        for (i, c) in comps.dropLast().enumerated() {
            try node.materialize()
            let key = EntryName(c)
            if let d = node.dirs[key] { node = d; continue }
            let here = comps[0...i].joined(separator: "/")
            if node.files[key] != nil { throw fail("\(here) is not a directory in the tree") }
            guard tar.autocreateParents else {
                throw fail("parent directory \(here) is missing (--tar-autocreate-parents creates it)")
            }
            let (uid, gid) = try owner(entry, fail: fail)
            let meta = try txn.writeMetadata(.dirMeta, options.apply(DirMeta(uid: uid, gid: gid, mode: 0o40755)).serialize())
            if root.metaChecksum == nil { root.setMeta(meta) }
            let d = try node.subdir(c)
            d.setMeta(meta)
            layer.note(node, c)
            node = d
        }
        try node.materialize()
        return node
    }

    /// The slot of the file a hardlink entry names: one object, whatever the number of links.
    private func hardlinkTarget(_ entry: OpaquePointer, reader: ArchiveReader, fail: (String) -> ArborError) throws -> FileSlot {
        guard let p = archive_entry_hardlink(entry) else { throw fail("hardlink without a target") }
        let raw = Array(UnsafeBufferPointer(start: UnsafeRawPointer(p).assumingMemoryBound(to: UInt8.self), count: strlen(p)))
        let comps = try treeComponents(raw, what: "hardlink target", display: reader.display)
        let target = comps.joined(separator: "/")
        guard let last = comps.last else { throw fail("hardlink to the root directory") }
        var node = root
        for c in comps.dropLast() {
            try node.materialize()
            guard let d = node.dirs[EntryName(c)] else { throw fail("hardlink target \(target) is not in the tree") }
            node = d
        }
        try node.materialize()
        if node.dirs[EntryName(last)] != nil { throw fail("hardlink target \(target) is a directory") }
        guard let slot = node.files[EntryName(last)] else { throw fail("hardlink target \(target) is not in the tree") }
        return slot
    }
}

/// File type bits of archive entries (libarchive's AE_IF* values, which are the Linux ones).
private enum EntryType {
    static let mask: UInt32 = 0o170000
    static let regular: UInt32 = 0o100000
    static let directory: UInt32 = 0o040000
    static let symlink: UInt32 = 0o120000
    static let characterDevice: UInt32 = 0o020000
    static let blockDevice: UInt32 = 0o060000
    static let fifo: UInt32 = 0o010000
    static let socket: UInt32 = 0o140000
}

/// Turns an archive member name into tree path components: leading `/` and `./` are stripped
/// and `.` components dropped, as `tar` does when it extracts; `..`, empty names, names that
/// are not UTF-8 and over-long names are refused, naming the entry. No components: the root.
func treeComponents(_ raw: [UInt8], what: String, display: String) throws -> [String] {
    let printable = String(decoding: raw.prefix(200), as: UTF8.self) + (raw.count > 200 ? "..." : "")
    func fail(_ why: String) -> ArborError { ArborError.unsupported("\(display): \(what) \"\(printable)\": \(why)") }
    guard !raw.isEmpty else { throw ArborError.unsupported("\(display): \(what) with an empty name") }
    guard raw.count < Int(PATH_MAX) else { throw fail("name longer than \(Int(PATH_MAX) - 1) bytes") }
    guard let text = String(validating: raw, as: UTF8.self) else { throw fail("name is not valid UTF-8") }
    var comps: [String] = []
    for c in text.utf8.split(separator: UInt8(ascii: "/"), omittingEmptySubsequences: true) {
        if c.elementsEqual(".".utf8) { continue }
        if c.elementsEqual("..".utf8) { throw fail("'..' would lead outside the tree") }
        guard c.count <= Int(NAME_MAX) else { throw fail("a component is longer than \(Int(NAME_MAX)) bytes") }
        comps.append(String(decoding: c, as: UTF8.self))
    }
    return comps
}
