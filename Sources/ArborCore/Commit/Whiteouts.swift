// OCI/Docker whiteouts (OCI image spec, "Whiteouts"): in a layer, `.wh.NAME` deletes NAME
// from the layers below and `.wh..wh..opq` empties its directory of what the layers below put
// there. Neither ever touches what the same layer adds, whatever the order of its entries,
// so a layer records the names it has put in each directory.

/// A whiteout entry's instruction.
enum Whiteout: Equatable {
    /// `.wh.NAME`: remove NAME.
    case remove(String)
    /// `.wh..wh..opq`: make the directory opaque.
    case opaque

    static let prefix = ".wh."
    static let opaqueName = ".wh..wh..opq"

    /// The instruction a member's last component carries, or nil for an ordinary name.
    init?(name: String) {
        guard name.utf8.starts(with: Whiteout.prefix.utf8) else { return nil }
        if name.utf8.elementsEqual(Whiteout.opaqueName.utf8) {
            self = .opaque
        } else {
            self = .remove(String(decoding: name.utf8.dropFirst(Whiteout.prefix.utf8.count), as: UTF8.self))
        }
    }
}

/// The names one layer has put in each directory (only kept when whiteouts apply).
final class LayerRecord {
    let enabled: Bool
    // Directories are held strongly so that an identifier is never reused by a new directory.
    private var added: [ObjectIdentifier: (dir: MutableTree, names: Set<EntryName>)] = [:]

    init(enabled: Bool) { self.enabled = enabled }

    /// Records that this layer put `name` in `dir`.
    func note(_ dir: MutableTree, _ name: String) {
        guard enabled else { return }
        added[ObjectIdentifier(dir), default: (dir, [])].names.insert(EntryName(name))
    }

    /// Whether this layer put `name` in `dir`.
    func addedHere(_ dir: MutableTree, _ name: EntryName) -> Bool {
        added[ObjectIdentifier(dir)]?.names.contains(name) ?? false
    }
}

extension CommitBuilder {
    /// Applies a whiteout found in directory `dirComps` of the current layer.
    func applyWhiteout(_ w: Whiteout, in dirComps: [String], entry: OpaquePointer, tar: TarOptions,
                       layer: LayerRecord, fail: (String) -> ArborError) throws {
        switch w {
        case let .remove(name):
            guard !name.isEmpty, name != ".", name != ".." else { throw fail("whiteout of an invalid name") }
            // Nothing below to delete when the directory is not in the tree.
            guard let dir = try existingDirectory(dirComps) else { return }
            let key = EntryName(name)
            if layer.addedHere(dir, key) { return }
            try dir.remove(name)
        case .opaque:
            // The marker stands for its directory, which this layer therefore has.
            let dir = try parentDirectory(dirComps + [Whiteout.opaqueName], entry: entry, tar: tar, layer: layer, fail: fail)
            for key in Array(dir.files.keys) + Array(dir.dirs.keys) where !layer.addedHere(dir, key) {
                try dir.remove(key.string)
            }
        }
    }

    /// The directory at `comps` if the tree has one there.
    private func existingDirectory(_ comps: [String]) throws -> MutableTree? {
        var node = root
        for c in comps {
            try node.materialize()
            guard let d = node.dirs[EntryName(c)] else { return nil }
            node = d
        }
        try node.materialize()
        return node
    }
}
