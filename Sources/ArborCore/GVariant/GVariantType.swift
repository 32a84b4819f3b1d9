// GVariantType.swift - GVariant type descriptions (the subset OSTree needs).

/// A complete GVariant type, such as `s`, `a{sv}` or `(a(say)a(sayay))`.
///
/// Only definite types are supported (no `*`, `?`, `r`), and the handle type `h`
/// and the `maybe`-less wildcard forms are not accepted.
public indirect enum GVariantType: Hashable, Sendable, CustomStringConvertible {
    /// `b`: a boolean, one byte 0 or 1.
    case boolean
    /// `y`: an unsigned byte.
    case byte
    /// `n`: a signed 16-bit integer.
    case int16
    /// `q`: an unsigned 16-bit integer.
    case uint16
    /// `i`: a signed 32-bit integer.
    case int32
    /// `u`: an unsigned 32-bit integer.
    case uint32
    /// `x`: a signed 64-bit integer.
    case int64
    /// `t`: an unsigned 64-bit integer.
    case uint64
    /// `d`: an IEEE-754 double.
    case double
    /// `s`: a UTF-8 string.
    case string
    /// `o`: a D-Bus object path.
    case objectPath
    /// `g`: a D-Bus type signature.
    case signature
    /// `v`: a variant (a value together with its type).
    case variant
    /// `mT`: a maybe of the given type.
    case maybe(GVariantType)
    /// `aT`: an array of the given element type.
    case array(GVariantType)
    /// `(T1...Tn)`: a tuple of the given member types (empty for the unit type `()`).
    case tuple([GVariantType])
    /// `{KV}`: a dictionary entry; the key must be a basic type.
    case dictEntry(GVariantType, GVariantType)

    /// The default nesting limit for type strings parsed by `init(_:)`.
    public static let maxTypeDepth = 64

    /// Parses exactly one complete type from `typeString`.
    ///
    /// Throws `GVariantError.invalidTypeString` on bad, unterminated or trailing
    /// input, and `GVariantError.depthExceeded` if containers nest more than 64 deep.
    public init(_ typeString: String) throws {
        var s = typeString
        let parsed: GVariantType = try s.withUTF8 { utf8 in
            try GVariantType.parseComplete(UnsafeRawBufferPointer(utf8), limit: GVariantType.maxTypeDepth)
        }
        self = parsed
    }

    /// The alignment of values of this type in bytes: 1, 2, 4 or 8.
    public var alignment: Int {
        switch self {
        case .boolean, .byte, .string, .objectPath, .signature: return 1
        case .int16, .uint16: return 2
        case .int32, .uint32: return 4
        case .int64, .uint64, .double, .variant: return 8
        case .maybe(let t), .array(let t): return t.alignment
        case .tuple(let members):
            var a = 1
            for m in members {
                let ma = m.alignment
                if ma > a { a = ma }
                if a == 8 { break }
            }
            return a
        case .dictEntry(let k, let v):
            return Swift.max(k.alignment, v.alignment)
        }
    }

    /// The serialized size of every value of this type, or `nil` when values
    /// of this type have a variable size. The unit type `()` has fixed size 1.
    public var fixedSize: Int? {
        switch self {
        case .boolean, .byte: return 1
        case .int16, .uint16: return 2
        case .int32, .uint32: return 4
        case .int64, .uint64, .double: return 8
        case .string, .objectPath, .signature, .variant, .maybe, .array: return nil
        case .tuple(let members):
            if members.isEmpty { return 1 }
            return GVariantType.fixedSize(ofMembers: members)
        case .dictEntry(let k, let v):
            return GVariantType.fixedSize(ofMembers: [k, v])
        }
    }

    /// True for the basic types allowed as dictionary keys.
    public var isBasic: Bool {
        switch self {
        case .boolean, .byte, .int16, .uint16, .int32, .uint32, .int64, .uint64, .double,
             .string, .objectPath, .signature:
            return true
        default:
            return false
        }
    }

    /// The GVariant type string, e.g. `(a{sv}aya(say)sstayay)`.
    public var description: String {
        var bytes: [UInt8] = []
        appendTypeString(into: &bytes)
        return String(decoding: bytes, as: UTF8.self)
    }

    // MARK: - Internals

    /// Fixed size of a tuple with the given (non-empty) members, or nil.
    static func fixedSize(ofMembers members: [GVariantType]) -> Int? {
        var off = 0
        var align = 1
        for m in members {
            guard let fs = m.fixedSize else { return nil }
            let a = m.alignment
            if a > align { align = a }
            off = (off + a - 1) & ~(a - 1)
            off += fs
        }
        return (off + align - 1) & ~(align - 1)
    }

    /// Appends the ASCII type string to `out`.
    func appendTypeString(into out: inout [UInt8]) {
        switch self {
        case .boolean: out.append(UInt8(ascii: "b"))
        case .byte: out.append(UInt8(ascii: "y"))
        case .int16: out.append(UInt8(ascii: "n"))
        case .uint16: out.append(UInt8(ascii: "q"))
        case .int32: out.append(UInt8(ascii: "i"))
        case .uint32: out.append(UInt8(ascii: "u"))
        case .int64: out.append(UInt8(ascii: "x"))
        case .uint64: out.append(UInt8(ascii: "t"))
        case .double: out.append(UInt8(ascii: "d"))
        case .string: out.append(UInt8(ascii: "s"))
        case .objectPath: out.append(UInt8(ascii: "o"))
        case .signature: out.append(UInt8(ascii: "g"))
        case .variant: out.append(UInt8(ascii: "v"))
        case .maybe(let t):
            out.append(UInt8(ascii: "m"))
            t.appendTypeString(into: &out)
        case .array(let t):
            out.append(UInt8(ascii: "a"))
            t.appendTypeString(into: &out)
        case .tuple(let members):
            out.append(UInt8(ascii: "("))
            for m in members { m.appendTypeString(into: &out) }
            out.append(UInt8(ascii: ")"))
        case .dictEntry(let k, let v):
            out.append(UInt8(ascii: "{"))
            k.appendTypeString(into: &out)
            v.appendTypeString(into: &out)
            out.append(UInt8(ascii: "}"))
        }
    }

    /// The basic type for a single type-code byte, or nil.
    @inline(__always)
    static func basic(_ c: UInt8) -> GVariantType? {
        switch c {
        case UInt8(ascii: "b"): return .boolean
        case UInt8(ascii: "y"): return .byte
        case UInt8(ascii: "n"): return .int16
        case UInt8(ascii: "q"): return .uint16
        case UInt8(ascii: "i"): return .int32
        case UInt8(ascii: "u"): return .uint32
        case UInt8(ascii: "x"): return .int64
        case UInt8(ascii: "t"): return .uint64
        case UInt8(ascii: "d"): return .double
        case UInt8(ascii: "s"): return .string
        case UInt8(ascii: "o"): return .objectPath
        case UInt8(ascii: "g"): return .signature
        default: return nil
        }
    }

    /// Parses exactly one complete type occupying all of `bytes`.
    /// `limit` is the maximum container nesting allowed.
    static func parseComplete(_ bytes: UnsafeRawBufferPointer, limit: Int) throws -> GVariantType {
        var i = 0
        let t = try parseOne(bytes, &i, depth: 0, limit: limit)
        guard i == bytes.count else {
            throw GVariantError.invalidTypeString(describe(bytes))
        }
        return t
    }

    /// Parses one complete type starting at `bytes[i]`, advancing `i` past it.
    static func parseOne(_ bytes: UnsafeRawBufferPointer, _ i: inout Int, depth: Int, limit: Int) throws -> GVariantType {
        guard i < bytes.count else { throw GVariantError.invalidTypeString(describe(bytes)) }
        let c = bytes[i]
        i += 1
        if let b = basic(c) { return b }
        switch c {
        case UInt8(ascii: "v"):
            return .variant
        case UInt8(ascii: "m"), UInt8(ascii: "a"):
            guard depth < limit else { throw GVariantError.depthExceeded }
            let inner = try parseOne(bytes, &i, depth: depth + 1, limit: limit)
            return c == UInt8(ascii: "m") ? .maybe(inner) : .array(inner)
        case UInt8(ascii: "("):
            guard depth < limit else { throw GVariantError.depthExceeded }
            var members: [GVariantType] = []
            while true {
                guard i < bytes.count else { throw GVariantError.invalidTypeString(describe(bytes)) }
                if bytes[i] == UInt8(ascii: ")") {
                    i += 1
                    return .tuple(members)
                }
                members.append(try parseOne(bytes, &i, depth: depth + 1, limit: limit))
            }
        case UInt8(ascii: "{"):
            guard depth < limit else { throw GVariantError.depthExceeded }
            guard i < bytes.count, let key = basic(bytes[i]) else {
                throw GVariantError.invalidTypeString(describe(bytes))
            }
            i += 1
            let value = try parseOne(bytes, &i, depth: depth + 1, limit: limit)
            guard i < bytes.count, bytes[i] == UInt8(ascii: "}") else {
                throw GVariantError.invalidTypeString(describe(bytes))
            }
            i += 1
            return .dictEntry(key, value)
        default:
            throw GVariantError.invalidTypeString(describe(bytes))
        }
    }

    /// A printable, length-limited rendering of a (possibly hostile) type string for errors.
    static func describe(_ bytes: UnsafeRawBufferPointer) -> String {
        var out = ""
        for (n, b) in bytes.enumerated() {
            if n >= 64 { out += "..."; break }
            if b >= 0x20 && b < 0x7f {
                out.unicodeScalars.append(Unicode.Scalar(b))
            } else {
                out += "\\x"
                let hex: [Character] = ["0", "1", "2", "3", "4", "5", "6", "7", "8", "9", "a", "b", "c", "d", "e", "f"]
                out.append(hex[Int(b >> 4)])
                out.append(hex[Int(b & 0xf)])
            }
        }
        return out
    }
}
