// An object checksum: 32 bytes of SHA-256, shown as 64 lowercase hex characters (spec §2).

/// A SHA-256 object checksum.
public struct Checksum: Hashable, Comparable, Sendable, CustomStringConvertible {
    // Four words keep the value inline (no heap allocation) and make hashing cheap.
    @usableFromInline let w0: UInt64, w1: UInt64, w2: UInt64, w3: UInt64

    /// Creates a checksum from exactly 32 raw bytes.
    public init?(bytes: some Collection<UInt8>) {
        guard bytes.count == 32 else { return nil }
        var a: UInt64 = 0, b: UInt64 = 0, c: UInt64 = 0, d: UInt64 = 0
        var i = 0
        for byte in bytes {
            switch i >> 3 {
            case 0: a = (a << 8) | UInt64(byte)
            case 1: b = (b << 8) | UInt64(byte)
            case 2: c = (c << 8) | UInt64(byte)
            default: d = (d << 8) | UInt64(byte)
            }
            i += 1
        }
        (w0, w1, w2, w3) = (a, b, c, d)
    }

    /// Parses 64 hex characters (either case).
    public init?(hex: some StringProtocol) {
        let utf8 = Array(hex.utf8)
        guard utf8.count == 64 else { return nil }
        var words: [UInt64] = [0, 0, 0, 0]
        for (i, c) in utf8.enumerated() {
            guard let v = hexValue(c) else { return nil }
            words[i / 16] = (words[i / 16] << 4) | UInt64(v)
        }
        (w0, w1, w2, w3) = (words[0], words[1], words[2], words[3])
    }

    /// Parses a loose object's name: the first byte (its directory) and 62 hex characters.
    init?(firstByte: UInt8, hexTail: UnsafeBufferPointer<UInt8>) {
        guard hexTail.count == 62 else { return nil }
        var words: (UInt64, UInt64, UInt64, UInt64) = (UInt64(firstByte) << 56, 0, 0, 0)
        for (i, c) in hexTail.enumerated() {
            // Lowercase only: that is the spelling objects are looked up by.
            guard let v = hexValue(c), !(UInt8(ascii: "A")...UInt8(ascii: "F")).contains(c) else { return nil }
            let shift = UInt64(60 - ((i + 2) & 15) * 4)
            switch (i + 2) >> 4 {
            case 0: words.0 |= UInt64(v) << shift
            case 1: words.1 |= UInt64(v) << shift
            case 2: words.2 |= UInt64(v) << shift
            default: words.3 |= UInt64(v) << shift
            }
        }
        (w0, w1, w2, w3) = words
    }

    /// The first byte (the loose object's directory).
    var firstByte: Int { Int(w0 >> 56) }

    /// The 32 raw bytes.
    public var bytes: [UInt8] {
        var out = [UInt8]()
        out.reserveCapacity(32)
        for w in [w0, w1, w2, w3] {
            for s in stride(from: 56, through: 0, by: -8) { out.append(UInt8(truncatingIfNeeded: w >> UInt64(s))) }
        }
        return out
    }

    /// 64 lowercase hex characters as ASCII bytes.
    public var hexBytes: [UInt8] {
        var out = [UInt8](repeating: 0, count: 64)
        var i = 0
        for w in [w0, w1, w2, w3] {
            for s in stride(from: 60, through: 0, by: -4) {
                let v = UInt8((w >> UInt64(s)) & 0xf)
                out[i] = v < 10 ? 48 + v : 87 + v
                i += 1
            }
        }
        return out
    }

    /// 64 lowercase hex characters.
    public var hex: String {
        let digits: [UInt8] = Array("0123456789abcdef".utf8)
        var out = [UInt8](repeating: 0, count: 64)
        var i = 0
        for w in [w0, w1, w2, w3] {
            for s in stride(from: 60, through: 0, by: -4) {
                out[i] = digits[Int((w >> UInt64(s)) & 0xf)]
                i += 1
            }
        }
        return String(decoding: out, as: UTF8.self)
    }

    public var description: String { hex }

    public static func < (a: Checksum, b: Checksum) -> Bool {
        (a.w0, a.w1, a.w2, a.w3) < (b.w0, b.w1, b.w2, b.w3)
    }

    /// The checksum of an empty dirtree (the single byte 00), the well-known empty directory.
    public static let emptyDirTree = Checksum(hex: "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d")!
}

@inline(__always) func hexValue(_ c: UInt8) -> UInt8? {
    switch c {
    case UInt8(ascii: "0")...UInt8(ascii: "9"): return c - UInt8(ascii: "0")
    case UInt8(ascii: "a")...UInt8(ascii: "f"): return c - UInt8(ascii: "a") + 10
    case UInt8(ascii: "A")...UInt8(ascii: "F"): return c - UInt8(ascii: "A") + 10
    default: return nil
    }
}

/// Whether `s` is 64 lowercase hex characters.
public func isChecksumString(_ s: some StringProtocol) -> Bool {
    let u = s.utf8
    return u.count == 64 && u.allSatisfy { (48...57).contains($0) || (97...102).contains($0) }
}
