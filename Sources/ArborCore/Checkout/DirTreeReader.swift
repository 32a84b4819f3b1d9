// Dirtrees on the checkout's hot path: read with one read into a reused buffer through the
// worker's open `objects/XX` directories, and decoded by a reader for the one layout a dirtree
// has, (a(say)a(sayay)), instead of building and re-serialising general GVariant values. It only
// accepts exactly the normal form (every framing offset and offset width as the serialiser writes
// them), valid names, 32-byte checksums and sorted entries; anything else (a missing or large
// object, a checksum mismatch, any oddity) goes to `Repository.loadDirTree`, so results and
// errors stay exactly its own.
#if canImport(Glibc)
import Glibc
#endif

/// Reusable state for reading dirtrees on one thread.
final class DirTreeReader {
    /// Larger dirtrees (tens of thousands of entries) take the general path.
    static let maxSize = 1 << 20
    /// Small dirtrees recur (every empty directory has the same one): kept, up to this many.
    static let cacheLimit = 1024

    private var cache: [Checksum: DirTree] = [:]

    private let name = UnsafeMutablePointer<CChar>.allocate(capacity: 62 + 9)
    private var buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: 64 << 10, alignment: 8)
    private let hasher = SHA256Hasher()

    init() {
        for (i, b) in ".dirtree".utf8.enumerated() { name[62 + i] = CChar(bitPattern: b) }
        name[70] = 0
    }

    deinit {
        name.deallocate()
        buffer.deallocate()
    }

    /// The dirtree `c`, read from `objects/XX` (`sub`, nil when not open).
    func load(_ c: Checksum, in sub: FileDescriptor?, _ repo: Repository) throws -> DirTree {
        if let t = cache[c] { return t }
        let t: DirTree
        if let sub = sub, let fast = fastLoad(c, sub) { t = fast } else { t = try repo.loadDirTree(c) }
        if t.files.count + t.dirs.count <= 4 && cache.count < Self.cacheLimit { cache[c] = t }
        return t
    }

    private func fastLoad(_ c: Checksum, _ sub: FileDescriptor) -> DirTree? {
        writeHexTail(c, into: name)
        let fd = openat(sub.raw, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC)
        if fd < 0 { return nil }
        defer { close(fd) }
        var st = Glibc.stat()
        guard fstat(fd, &st) == 0, st.st_mode & S_IFMT == S_IFREG, st.st_size <= Self.maxSize else { return nil }
        let size = Int(st.st_size)
        if size > buffer.count {
            buffer.deallocate()
            buffer = .allocate(byteCount: size, alignment: 8)
        }
        var got = 0
        while got < size {
            let n = read(fd, buffer.baseAddress.map { $0 + got }, size - got)
            if n < 0 && errno == EINTR { continue }
            if n <= 0 { return nil }
            got += n
        }
        let bytes = UnsafeRawBufferPointer(rebasing: buffer[0..<size])
        hasher.update(bytes)
        guard hasher.finalize() == c else { return nil }
        return DirTreeDecoder(bytes).decode()
    }
}

/// Writes checksum hex digits 2...63 (the loose name after the `XX/` directory) to `out[0..<62]`.
func writeHexTail(_ c: Checksum, into out: UnsafeMutablePointer<CChar>) {
    var i = 0
    @inline(__always) func put(_ w: UInt64, _ digits: Int) {
        var s = (digits - 1) * 4
        while s >= 0 {
            let v = UInt8(truncatingIfNeeded: (w >> UInt64(s)) & 0xf)
            out[i] = CChar(bitPattern: v < 10 ? 48 + v : 87 + v)
            i += 1
            s -= 4
        }
    }
    put(c.w0, 14)
    put(c.w1, 16)
    put(c.w2, 16)
    put(c.w3, 16)
}

/// The strict normal-form reader of one serialised dirtree; nil on anything it does not accept.
struct DirTreeDecoder {
    let b: UnsafeRawBufferPointer

    init(_ b: UnsafeRawBufferPointer) { self.b = b }

    func decode() -> DirTree? {
        // (a(say)a(sayay)): both arrays, then the end of the first.
        guard let (ends, bodyEnd) = framing(0, b.count, count: 1), let filesEnd = ends.first,
              let fileItems = elements(0, filesEnd), let dirItems = elements(filesEnd, bodyEnd) else {
            return nil
        }
        var files: [DirTree.File] = []
        files.reserveCapacity(fileItems.count)
        for r in fileItems {
            guard let (offs, body) = framing(r.lowerBound, r.upperBound, count: 1),
                  let name = name(r.lowerBound, r.lowerBound + offs[0]),
                  let sum = checksum(r.lowerBound + offs[0], body) else { return nil }
            if let prev = files.last, !nameLess(prev.name, name) { return nil }
            files.append(DirTree.File(name: name, checksum: sum))
        }
        var dirs: [DirTree.Dir] = []
        dirs.reserveCapacity(dirItems.count)
        for r in dirItems {
            // Framing offsets are stored last item first: the name's end, then the tree's.
            guard let (offs, body) = framing(r.lowerBound, r.upperBound, count: 2),
                  let name = name(r.lowerBound, r.lowerBound + offs[0]),
                  let tree = checksum(r.lowerBound + offs[0], r.lowerBound + offs[1]),
                  let meta = checksum(r.lowerBound + offs[1], body) else { return nil }
            if let prev = dirs.last, !nameLess(prev.name, name) { return nil }
            dirs.append(DirTree.Dir(name: name, tree: tree, meta: meta))
        }
        // Both lists sorted: a name in both shows in one merge pass.
        var i = 0, j = 0
        while i < files.count && j < dirs.count {
            if sameName(files[i].name, dirs[j].name) { return nil }
            if nameLess(files[i].name, dirs[j].name) { i += 1 } else { j += 1 }
        }
        var t = DirTree(files: [], dirs: [])
        t.files = files
        t.dirs = dirs
        return t
    }

    /// GVariant's framing-offset width for a container of `size` bytes.
    private func width(_ size: Int) -> Int {
        size <= 0xff ? 1 : size <= 0xffff ? 2 : size <= 0xffff_ffff ? 4 : 8
    }

    private func offset(at p: Int, _ w: Int) -> Int {
        var v = 0
        for k in stride(from: w - 1, through: 0, by: -1) { v = v << 8 | Int(b[p + k]) }
        return v
    }

    /// The `count` framing offsets at the end of container `lo..<hi` (the first item's first),
    /// each within the body, and the body's end; nil unless the width is the serialiser's.
    private func framing(_ lo: Int, _ hi: Int, count: Int) -> ([Int], Int)? {
        let size = hi - lo, w = width(size)
        guard size >= count * w else { return nil }
        let body = size - count * w
        guard GVariantEncoder.offsetWidth(body: body, count: count) == w else { return nil }
        var out: [Int] = []
        out.reserveCapacity(count)
        var prev = 0
        for k in 0..<count {
            let o = offset(at: hi - (k + 1) * w, w)
            guard o >= prev, o <= body else { return nil }
            out.append(o)
            prev = o
        }
        return (out, lo + body)
    }

    /// The items of an array of variable-size items at `lo..<hi`.
    private func elements(_ lo: Int, _ hi: Int) -> [Range<Int>]? {
        guard lo <= hi, hi <= b.count else { return nil }
        let size = hi - lo
        if size == 0 { return [] }
        let w = width(size)
        guard size >= w else { return nil }
        let last = offset(at: hi - w, w)
        guard last <= size - w, (size - last) % w == 0 else { return nil }
        let n = (size - last) / w
        guard GVariantEncoder.offsetWidth(body: last, count: n) == w else { return nil }
        var out: [Range<Int>] = []
        out.reserveCapacity(n)
        var prev = 0
        for k in 0..<n {
            let e = offset(at: lo + last + k * w, w)
            guard e >= prev, e <= last else { return nil }
            out.append(lo + prev..<lo + e)
            prev = e
        }
        return out
    }

    /// A NUL-terminated name at `lo..<end` (the NUL last) that `DirTree.validateName` accepts.
    private func name(_ lo: Int, _ end: Int) -> String? {
        guard end > lo + 1, b[end - 1] == 0 else { return nil }
        let bytes = UnsafeRawBufferPointer(rebasing: b[lo..<end - 1])
        if bytes.contains(0) || bytes.contains(UInt8(ascii: "/")) { return nil }
        if bytes.count <= 2 && bytes.allSatisfy({ $0 == UInt8(ascii: ".") }) { return nil }
        return String(validating: bytes, as: UTF8.self)
    }

    private func checksum(_ lo: Int, _ hi: Int) -> Checksum? {
        guard hi - lo == 32 else { return nil }
        return Checksum(bytes: UnsafeRawBufferPointer(rebasing: b[lo..<hi]))
    }
}
