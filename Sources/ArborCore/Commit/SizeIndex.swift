// `ostree.sizes` (spec §3.8): one `ay` per object the commit reaches, sorted by checksum:
// checksum (32 bytes), varint archived size, varint unpacked size, object type byte. Varints are
// unsigned, 7 bits a byte, low group first, high bit set when more bytes follow.

extension CommitBuilder {
    /// The size index of the tree just written (objects may still be staged).
    func sizeIndex(tree: Checksum, meta: Checksum) throws -> GVariant {
        var entries: [Checksum: (UInt64, UInt64, ObjectType)] = [:]
        var seenTrees = Set<Checksum>()
        func add(_ c: Checksum, _ type: ObjectType) throws {
            guard entries[c] == nil else { return }
            let stored = txn.storedSize(c, type)
            let unpacked = type == .file ? try txn.contentSize(c) : stored
            entries[c] = (stored, unpacked, type)
        }
        func walk(_ t: Checksum) throws {
            guard seenTrees.insert(t).inserted else { return }
            try add(t, .dirTree)
            let dt = try txn.loadDirTree(t)
            for f in dt.files { try add(f.checksum, .file) }
            for d in dt.dirs {
                try add(d.meta, .dirMeta)
                try walk(d.tree)
            }
        }
        try add(meta, .dirMeta)
        try walk(tree)
        let items: [GVariant] = entries.keys.sorted().compactMap { c in
            guard let (archived, unpacked, type) = entries[c] else { return nil }
            var b = c.bytes
            appendVarint(archived, to: &b)
            appendVarint(unpacked, to: &b)
            b.append(type.rawValue)
            return .bytes(b)
        }
        return .array(element: .array(.byte), items)
    }
}

func appendVarint(_ value: UInt64, to out: inout [UInt8]) {
    var v = value
    repeat {
        var byte = UInt8(v & 0x7f)
        v >>= 7
        if v != 0 { byte |= 0x80 }
        out.append(byte)
    } while v != 0
}
