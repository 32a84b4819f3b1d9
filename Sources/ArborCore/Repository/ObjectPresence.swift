// "Is this object already in objects/?" for a transaction. A pull or commit asks once per
// object of the tree: thousands of fstatat calls, each a path lookup in the kernel. Once a
// transaction has asked about enough objects of one objects/XX directory (relative to the
// directory's size: a listed entry costs a small fraction of a lookup), it lists that directory
// once and answers from memory.
//
// Listings are kept as sorted arrays of 32-byte keys, and at most `maxListed` entries in all,
// so that a huge repository costs a bounded amount of memory (beyond it, lookups stay one by one).
//
// A listing only goes stale by objects appearing (writers only add; prune, the one remover,
// holds the exclusive lock a transaction excludes), so a stale answer is "absent" for an object
// that arrived since: one redundant write or fetch of identical bytes, never a missing object.
#if canImport(Glibc)
import Glibc
#endif

/// Per-transaction answers to "is this object stored?", from fstatat or a directory listing.
final class ObjectPresence: @unchecked Sendable {
    /// Lookups in a directory before its size is looked at.
    static let probe = 8
    /// Entries kept from all listings together (32 bytes each).
    static let maxListed = 1 << 16

    /// An object's checksum with its type in place of the first byte (the directory's, the
    /// same for every entry of a listing).
    private struct Key: Comparable {
        let w0: UInt64, w1: UInt64, w2: UInt64, w3: UInt64
        init(_ c: Checksum, _ type: ObjectType) {
            (w0, w1, w2, w3) = ((c.w0 & 0x00ff_ffff_ffff_ffff) | UInt64(type.rawValue) << 56, c.w1, c.w2, c.w3)
        }
        static func < (a: Key, b: Key) -> Bool { (a.w0, a.w1, a.w2, a.w3) < (b.w0, b.w1, b.w2, b.w3) }
    }

    private struct Dir {
        var lookups = 0
        /// Lookups after which the directory is listed (0: not yet decided).
        var limit = 0
        /// Sorted.
        var keys: [Key]?

        func contains(_ key: Key) -> Bool? {
            guard let keys = keys else { return nil }
            var lo = 0, hi = keys.count
            while lo < hi {
                let mid = (lo + hi) / 2
                if keys[mid] < key { lo = mid + 1 } else { hi = mid }
            }
            return lo < keys.count && keys[lo] == key
        }
    }

    private let repo: Repository
    private let mutex = Mutex()
    private var dirs = [Dir](repeating: Dir(), count: 256)
    private var listed = 0
    /// Loose-object suffixes of this repository's mode, and the type each names.
    private let suffixes: [([UInt8], ObjectType)]

    init(_ repo: Repository) {
        self.repo = repo
        suffixes = ObjectType.allCases.map { t in (Array((t == .file ? repo.mode.contentSuffix : t.name).utf8), t) }
    }

    /// Whether `objects/` holds the object.
    func contains(_ checksum: Checksum, _ type: ObjectType) -> Bool {
        let i = checksum.firstByte
        let key = Key(checksum, type)
        let answer: Bool? = mutex.withLock {
            if let known = dirs[i].contains(key) { return known }
            dirs[i].lookups += 1
            if dirs[i].lookups == Self.probe { dirs[i].limit = listingLimit(i) }
            guard dirs[i].limit > 0, dirs[i].lookups >= dirs[i].limit, listed < Self.maxListed else { return nil }
            guard let keys = list(i) else {
                dirs[i].limit = Int.max
                return nil
            }
            dirs[i].keys = keys
            listed += keys.count
            return dirs[i].contains(key)
        }
        return answer ?? repo.hasObject(checksum, type)
    }

    /// About 80 bytes of directory per entry; listing an entry costs about a sixteenth of a lookup.
    private func listingLimit(_ i: Int) -> Int {
        guard let sub = repo.objectSubdir(Repository.objectDirName(i)) else { return Self.probe }
        var st = Glibc.stat()
        guard fstat(sub.raw, &st) == 0 else { return Int.max }
        return max(Self.probe, Int(st.st_size) / (80 * 16))
    }

    /// The objects in `objects/XX`, sorted; nil when it cannot be read (lookups go on one by one).
    private func list(_ i: Int) -> [Key]? {
        let d = Repository.objectDirName(i)
        guard let sub = repo.objectSubdir(d) else {
            // No directory yet: nothing stored under this prefix (unless it appears meanwhile,
            // which at worst costs a redundant write).
            if case .some(.none) = try? repo.objectsDir.statIfExists(d) { return [] }
            return nil
        }
        var keys: [Key] = []
        do {
            try sub.forEachEntryName { name in
                guard name.count > 63, name[62] == UInt8(ascii: ".") else { return }
                let suffix = UnsafeBufferPointer(rebasing: name[63...])
                guard let type = suffixes.first(where: { $0.0.elementsEqual(suffix) })?.1,
                      let checksum = Checksum(firstByte: UInt8(i), hexTail: UnsafeBufferPointer(rebasing: name[0..<62]))
                else { return }
                keys.append(Key(checksum, type))
            }
        } catch {
            return nil
        }
        return keys.sorted()
    }
}
