// Enumerating loose objects (spec §2: objects/XX/REST.TYPE) and walking what a commit reaches.
#if canImport(Glibc)
import Glibc
#endif

extension Repository {
    /// Every loose object, by name. Files in objects/ that are not object names are returned apart.
    public func listObjects() throws -> (objects: [ObjectName], strays: [String]) {
        var objects: [ObjectName] = []
        var strays: [String] = []
        for d in try objectsDir.entries().sorted() {
            guard d.utf8.count == 2, d.utf8.allSatisfy({ (48...57).contains($0) || (97...102).contains($0) }),
                  let sub = try? objectsDir.openDirectory(d) else {
                strays.append("objects/\(d)")
                continue
            }
            for e in try sub.entries() {
                guard let dot = e.firstIndex(of: "."), let type = ObjectType(suffix: e[e.index(after: dot)...]),
                      let c = Checksum(hex: d + e[..<dot]), isChecksumString(d + e[..<dot]) else {
                    strays.append("objects/\(d)/\(e)")
                    continue
                }
                if type == .file && String(e[e.index(after: dot)...]) != mode.contentSuffix {
                    strays.append("objects/\(d)/\(e)")
                    continue
                }
                objects.append(ObjectName(c, type))
            }
        }
        return (objects, strays)
    }

    /// The size of a loose object on disk (0 when missing).
    public func objectSize(_ name: ObjectName) -> UInt64 {
        let (d, n) = looseName(name.checksum, name.type)
        guard let st = try? objectsDir.statIfExists("\(d)/\(n)") else { return 0 }
        return UInt64(st.st_size)
    }

    /// Adds to `into` every object a commit reaches (the commit, its detached metadata, trees,
    /// metadata and content). Missing objects are skipped when `tolerateMissing` (partial commits).
    public func reachableObjects(commit: Checksum, into set: inout Set<ObjectName>, tolerateMissing: Bool) throws {
        set.insert(ObjectName(commit, .commit))
        if hasObject(commit, .commitMeta) { set.insert(ObjectName(commit, .commitMeta)) }
        let c: CommitObject
        do { c = try loadCommit(commit) } catch ArborError.missingObject(_) where tolerateMissing { return }
        set.insert(ObjectName(c.rootMeta, .dirMeta))
        try reachableTree(c.rootTree, into: &set, tolerateMissing: tolerateMissing)
    }

    private func reachableTree(_ tree: Checksum, into set: inout Set<ObjectName>, tolerateMissing: Bool) throws {
        guard set.insert(ObjectName(tree, .dirTree)).inserted else { return }
        let t: DirTree
        do { t = try loadDirTree(tree) } catch ArborError.missingObject(_) where tolerateMissing { return }
        for f in t.files { set.insert(ObjectName(f.checksum, .file)) }
        for d in t.dirs {
            set.insert(ObjectName(d.meta, .dirMeta))
            try reachableTree(d.tree, into: &set, tolerateMissing: tolerateMissing)
        }
    }
}
