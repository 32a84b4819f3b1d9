// GVariant.swift - an in-memory GVariant value.

/// A GVariant value (the subset of GVariant that OSTree needs).
///
/// The value carries enough information to derive its type (see `type`).
/// Values built by hand should be well-typed: the elements of `.array` all of
/// the element type, the payload of `.maybe` of the stated type, and strings
/// free of NUL characters. `isWellTyped` checks this. Serializing an ill-typed
/// value never crashes but produces bytes that will not parse back.
public enum GVariant: Hashable, Sendable {
    /// `b`
    case boolean(Bool)
    /// `y`
    case byte(UInt8)
    /// `n`
    case int16(Int16)
    /// `q`
    case uint16(UInt16)
    /// `i`
    case int32(Int32)
    /// `u`
    case uint32(UInt32)
    /// `x`
    case int64(Int64)
    /// `t`
    case uint64(UInt64)
    /// `d`
    case double(Double)
    /// `s`: must not contain NUL.
    case string(String)
    /// `o`: a D-Bus object path.
    case objectPath(String)
    /// `g`: a D-Bus type signature.
    case signature(String)
    /// `ay`: a byte string. The type `ay` always decodes to this case.
    case bytes([UInt8])
    /// `aT` for any element type other than `y` (the elements are all of type `element`).
    case array(element: GVariantType, [GVariant])
    /// `(T1...Tn)`: a tuple; the empty tuple is the unit value `()`.
    case tuple([GVariant])
    /// `{KV}`: a dictionary entry (key, value).
    indirect case dictEntry(GVariant, GVariant)
    /// `v`: a variant; the type of the inner value is derived from the value.
    indirect case variant(GVariant)
    /// `mT`: a maybe of type `T`, `nil` for Nothing.
    indirect case maybe(GVariantType, GVariant?)

    /// The GVariant type of this value.
    public var type: GVariantType {
        switch self {
        case .boolean: return .boolean
        case .byte: return .byte
        case .int16: return .int16
        case .uint16: return .uint16
        case .int32: return .int32
        case .uint32: return .uint32
        case .int64: return .int64
        case .uint64: return .uint64
        case .double: return .double
        case .string: return .string
        case .objectPath: return .objectPath
        case .signature: return .signature
        case .bytes: return .array(.byte)
        case .array(let element, _): return .array(element)
        case .tuple(let children): return .tuple(children.map { $0.type })
        case .dictEntry(let k, let v): return .dictEntry(k.type, v.type)
        case .variant: return .variant
        case .maybe(let t, _): return .maybe(t)
        }
    }

    /// The string of a `.string`, `.objectPath` or `.signature`, else nil.
    public var stringValue: String? {
        switch self {
        case .string(let s), .objectPath(let s), .signature(let s): return s
        default: return nil
        }
    }

    /// The bytes of a `.bytes` (or of an `.array` of `.byte` elements), else nil.
    public var bytesValue: [UInt8]? {
        switch self {
        case .bytes(let b): return b
        case .array(.byte, let elements):
            var out: [UInt8] = []
            out.reserveCapacity(elements.count)
            for e in elements {
                guard case .byte(let b) = e else { return nil }
                out.append(b)
            }
            return out
        default: return nil
        }
    }

    /// The value of a `.uint32`, else nil.
    public var uint32Value: UInt32? {
        if case .uint32(let v) = self { return v }
        return nil
    }

    /// The value of a `.uint64`, else nil.
    public var uint64Value: UInt64? {
        if case .uint64(let v) = self { return v }
        return nil
    }

    /// The value of a `.boolean`, else nil.
    public var boolValue: Bool? {
        if case .boolean(let v) = self { return v }
        return nil
    }

    /// The children of a tuple, the elements of an array (`.bytes` gives `.byte`
    /// values), or the key and value of a dict entry; nil for other values.
    public var children: [GVariant]? {
        switch self {
        case .tuple(let c): return c
        case .array(_, let c): return c
        case .bytes(let b): return b.map { .byte($0) }
        case .dictEntry(let k, let v): return [k, v]
        default: return nil
        }
    }

    /// The tuple child, array element (`.bytes` gives a `.byte`), or dict-entry
    /// member (0 = key, 1 = value) at `index`; nil when out of range or not a container.
    public subscript(index: Int) -> GVariant? {
        switch self {
        case .tuple(let c), .array(_, let c):
            return c.indices.contains(index) ? c[index] : nil
        case .bytes(let b):
            return b.indices.contains(index) ? .byte(b[index]) : nil
        case .dictEntry(let k, let v):
            return index == 0 ? k : (index == 1 ? v : nil)
        default:
            return nil
        }
    }

    /// For an `a{sv}` (or any array of dict entries with string keys): the value of
    /// the first entry whose key is `key`, unwrapped from its variant. Nil if absent
    /// or if this value is not such an array.
    public func lookup(_ key: String) -> GVariant? {
        guard case .array(_, let entries) = self else { return nil }
        for e in entries {
            guard case .dictEntry(let k, let v) = e else { continue }
            guard case .string(let ks) = k, ks == key else { continue }
            if case .variant(let inner) = v { return inner }
            return v
        }
        return nil
    }

    /// Builds an `a{sv}` from ordered pairs (order and duplicates are kept as given).
    public static func vardict(_ pairs: [(String, GVariant)]) -> GVariant {
        return .array(element: .dictEntry(.string, .variant),
                      pairs.map { .dictEntry(.string($0.0), .variant($0.1)) })
    }

    /// An empty `a{sv}`.
    public static var emptyVardict: GVariant {
        return .array(element: .dictEntry(.string, .variant), [])
    }

    /// True when the value is internally consistent: array elements and maybe
    /// payloads match their declared types, dict-entry keys are basic, strings
    /// contain no NUL, and object paths and signatures are syntactically valid.
    public var isWellTyped: Bool {
        switch self {
        case .boolean, .byte, .int16, .uint16, .int32, .uint32, .int64, .uint64, .double, .bytes:
            return true
        case .string(let s):
            return !s.utf8.contains(0)
        case .objectPath(let s):
            return GVariantValidation.isObjectPath(Array(s.utf8))
        case .signature(let s):
            return GVariantValidation.isSignature(Array(s.utf8))
        case .array(let element, let elements):
            for e in elements {
                guard e.matches(element), e.isWellTyped else { return false }
            }
            return true
        case .tuple(let c):
            return c.allSatisfy { $0.isWellTyped }
        case .dictEntry(let k, let v):
            return k.type.isBasic && k.isWellTyped && v.isWellTyped
        case .variant(let inner):
            return inner.isWellTyped
        case .maybe(let t, let v):
            guard let v = v else { return true }
            return v.matches(t) && v.isWellTyped
        }
    }

    /// True when this value's type is `t` (without building the type of large arrays).
    func matches(_ t: GVariantType) -> Bool {
        switch (self, t) {
        case (.boolean, .boolean), (.byte, .byte), (.int16, .int16), (.uint16, .uint16),
             (.int32, .int32), (.uint32, .uint32), (.int64, .int64), (.uint64, .uint64),
             (.double, .double), (.string, .string), (.objectPath, .objectPath),
             (.signature, .signature), (.variant, .variant):
            return true
        case (.bytes, .array(.byte)):
            return true
        case (.array(let e, _), .array(let te)):
            return e == te
        case (.maybe(let e, _), .maybe(let te)):
            return e == te
        case (.tuple(let c), .tuple(let tc)):
            guard c.count == tc.count else { return false }
            for (v, vt) in zip(c, tc) where !v.matches(vt) { return false }
            return true
        case (.dictEntry(let k, let v), .dictEntry(let kt, let vt)):
            return k.matches(kt) && v.matches(vt)
        default:
            return false
        }
    }
}

/// Syntax checks shared by the parser and `isWellTyped`.
enum GVariantValidation {
    /// D-Bus object path syntax: `/` or `/seg(/seg)*`, segments of `[A-Za-z0-9_]+`.
    static func isObjectPath<C: Collection>(_ bytes: C) -> Bool where C.Element == UInt8 {
        var it = bytes.makeIterator()
        guard let first = it.next(), first == UInt8(ascii: "/") else { return false }
        var prevSlash = true
        var count = 1
        while let c = it.next() {
            count += 1
            if c == UInt8(ascii: "/") {
                if prevSlash { return false }
                prevSlash = true
            } else if (c >= UInt8(ascii: "a") && c <= UInt8(ascii: "z"))
                        || (c >= UInt8(ascii: "A") && c <= UInt8(ascii: "Z"))
                        || (c >= UInt8(ascii: "0") && c <= UInt8(ascii: "9"))
                        || c == UInt8(ascii: "_") {
                prevSlash = false
            } else {
                return false
            }
        }
        return count == 1 || !prevSlash
    }

    /// GVariant signature syntax: zero or more complete types.
    static func isSignature(_ bytes: [UInt8]) -> Bool {
        return bytes.withUnsafeBytes { isSignature($0) }
    }

    /// GVariant signature syntax over raw bytes.
    static func isSignature(_ raw: UnsafeRawBufferPointer) -> Bool {
        var i = 0
        while i < raw.count {
            do {
                _ = try GVariantType.parseOne(raw, &i, depth: 0, limit: GVariantType.maxTypeDepth)
            } catch {
                return false
            }
        }
        return true
    }
}
