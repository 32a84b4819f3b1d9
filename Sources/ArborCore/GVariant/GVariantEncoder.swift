// GVariantEncoder.swift - serialization of GVariant values in normal form.

extension GVariant {
    /// Serialises in normal form, little-endian (OSTree's byte order). Callers
    /// byte-swap the fields OSTree stores big-endian themselves.
    public func serialize() -> [UInt8] {
        var out: [UInt8] = []
        serialize(into: &out)
        return out
    }

    /// Appends the serialisation (normal form, little-endian) to `out`.
    ///
    /// The value is laid out as if it started at offset 0, whatever `out`
    /// already holds (alignment is counted from each container's start).
    public func serialize(into out: inout [UInt8]) {
        GVariantEncoder.write(self, into: &out)
    }
}

/// The serializer. Layout decisions (alignment, fixed size) are derived from
/// the values themselves, except for arrays and maybes, which use their declared type.
enum GVariantEncoder {
    /// Layout of a value: alignment and fixed size (-1 when variable).
    @inline(__always)
    static func layout(of v: GVariant) -> (alignment: Int, fixedSize: Int) {
        switch v {
        case .boolean, .byte: return (1, 1)
        case .int16, .uint16: return (2, 2)
        case .int32, .uint32: return (4, 4)
        case .int64, .uint64, .double: return (8, 8)
        case .string, .objectPath, .signature, .bytes: return (1, -1)
        case .variant: return (8, -1)
        case .array(let t, _), .maybe(let t, _): return (t.alignment, -1)
        case .tuple(let c):
            if c.isEmpty { return (1, 1) }
            var align = 1
            var off = 0
            var fixed = true
            for child in c {
                let l = layout(of: child)
                if l.alignment > align { align = l.alignment }
                if fixed {
                    if l.fixedSize < 0 {
                        fixed = false
                    } else {
                        off = (off + l.alignment - 1) & ~(l.alignment - 1)
                        off += l.fixedSize
                    }
                }
            }
            return (align, fixed ? (off + align - 1) & ~(align - 1) : -1)
        case .dictEntry(let k, let val):
            let lk = layout(of: k), lv = layout(of: val)
            let align = Swift.max(lk.alignment, lv.alignment)
            guard lk.fixedSize >= 0, lv.fixedSize >= 0 else { return (align, -1) }
            var off = lk.fixedSize
            off = (off + lv.alignment - 1) & ~(lv.alignment - 1)
            off += lv.fixedSize
            return (align, (off + align - 1) & ~(align - 1))
        }
    }

    /// Appends zero bytes until `out.count - start` is a multiple of `alignment`.
    @inline(__always)
    static func pad(_ out: inout [UInt8], start: Int, alignment: Int) {
        var rel = out.count &- start
        while rel & (alignment &- 1) != 0 {
            out.append(0)
            rel &+= 1
        }
    }

    /// Appends the low `width` bytes of `value`, little-endian.
    @inline(__always)
    static func appendLE(_ out: inout [UInt8], _ value: UInt64, width: Int) {
        var v = value
        for _ in 0..<width {
            out.append(UInt8(truncatingIfNeeded: v))
            v >>= 8
        }
    }

    /// The minimal framing-offset width for body size `body` and `n` offsets
    /// (first w in 1, 2, 4, 8 with body + n*w <= 2^(8w) - 1).
    static func offsetWidth(body: Int, count n: Int) -> Int {
        let b = UInt64(body), c = UInt64(n)
        if b + c <= 0xff { return 1 }
        if b + 2 * c <= 0xffff { return 2 }
        if b + 4 * c <= 0xffff_ffff { return 4 }
        return 8
    }

    /// Serializes `v` (as if at an aligned position) onto `out`.
    static func write(_ v: GVariant, into out: inout [UInt8]) {
        switch v {
        case .boolean(let b): out.append(b ? 1 : 0)
        case .byte(let b): out.append(b)
        case .int16(let x): appendLE(&out, UInt64(UInt16(bitPattern: x)), width: 2)
        case .uint16(let x): appendLE(&out, UInt64(x), width: 2)
        case .int32(let x): appendLE(&out, UInt64(UInt32(bitPattern: x)), width: 4)
        case .uint32(let x): appendLE(&out, UInt64(x), width: 4)
        case .int64(let x): appendLE(&out, UInt64(bitPattern: x), width: 8)
        case .uint64(let x): appendLE(&out, x, width: 8)
        case .double(let d): appendLE(&out, d.bitPattern, width: 8)
        case .string(let s), .objectPath(let s), .signature(let s):
            out.append(contentsOf: s.utf8)
            out.append(0)
        case .bytes(let b):
            out.append(contentsOf: b)
        case .array(let elementType, let elements):
            writeArray(elementType, elements, into: &out)
        case .tuple(let children):
            writeTuple(children, into: &out)
        case .dictEntry(let k, let val):
            writeDictEntry(k, val, into: &out)
        case .variant(let inner):
            write(inner, into: &out)
            out.append(0)
            appendTypeString(of: inner, into: &out)
        case .maybe(let t, let inner):
            guard let inner = inner else { return }
            write(inner, into: &out)
            if t.fixedSize == nil { out.append(0) }
        }
    }

    /// Array: fixed-size elements back to back; variable-size elements padded,
    /// followed by one end offset per element.
    static func writeArray(_ elementType: GVariantType, _ elements: [GVariant], into out: inout [UInt8]) {
        if elements.isEmpty { return }
        if elementType.fixedSize != nil {
            for e in elements { write(e, into: &out) }
            return
        }
        let align = elementType.alignment
        let start = out.count
        withUnsafeTemporaryAllocation(of: Int.self, capacity: elements.count) { ends in
            var n = 0
            for e in elements {
                pad(&out, start: start, alignment: align)
                write(e, into: &out)
                ends[n] = out.count &- start
                n &+= 1
            }
            let body = out.count &- start
            let w = offsetWidth(body: body, count: n)
            out.reserveCapacity(out.count &+ n &* w)
            for k in 0..<n { appendLE(&out, UInt64(ends[k]), width: w) }
        }
    }

    /// Tuple: children padded to their alignment; end offsets of non-last
    /// variable-size children appended in reverse; fixed-size tuples padded to their size.
    static func writeTuple(_ children: [GVariant], into out: inout [UInt8]) {
        if children.isEmpty {
            out.append(0)
            return
        }
        let start = out.count
        let last = children.count &- 1
        withUnsafeTemporaryAllocation(of: Int.self, capacity: children.count) { ends in
            var n = 0
            var align = 1
            var fixed = true
            for (i, child) in children.enumerated() {
                let l = layout(of: child)
                if l.alignment > align { align = l.alignment }
                pad(&out, start: start, alignment: l.alignment)
                write(child, into: &out)
                if l.fixedSize < 0 {
                    fixed = false
                    if i != last {
                        ends[n] = out.count &- start
                        n &+= 1
                    }
                }
            }
            finishContainer(&out, start: start, fixed: fixed, align: align, ends: ends, count: n)
        }
    }

    /// Dict entry: a 2-tuple written without building an intermediate array.
    static func writeDictEntry(_ k: GVariant, _ val: GVariant, into out: inout [UInt8]) {
        let start = out.count
        let lk = layout(of: k), lv = layout(of: val)
        pad(&out, start: start, alignment: lk.alignment)
        write(k, into: &out)
        var keyEnd = -1
        if lk.fixedSize < 0 { keyEnd = out.count &- start }
        pad(&out, start: start, alignment: lv.alignment)
        write(val, into: &out)
        let fixed = lk.fixedSize >= 0 && lv.fixedSize >= 0
        let align = Swift.max(lk.alignment, lv.alignment)
        if fixed {
            pad(&out, start: start, alignment: align)
        } else if keyEnd >= 0 {
            let body = out.count &- start
            let w = offsetWidth(body: body, count: 1)
            appendLE(&out, UInt64(keyEnd), width: w)
        }
    }

    /// Pads a fixed-size tuple, or appends the recorded end offsets in reverse order.
    @inline(__always)
    static func finishContainer(_ out: inout [UInt8], start: Int, fixed: Bool, align: Int,
                                ends: UnsafeMutableBufferPointer<Int>, count n: Int) {
        if fixed {
            pad(&out, start: start, alignment: align)
            return
        }
        if n == 0 { return }
        let body = out.count &- start
        let w = offsetWidth(body: body, count: n)
        var k = n
        while k > 0 {
            k &-= 1
            appendLE(&out, UInt64(ends[k]), width: w)
        }
    }

    /// Appends the type string of `v` without building a `GVariantType` for the whole value.
    static func appendTypeString(of v: GVariant, into out: inout [UInt8]) {
        switch v {
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
        case .bytes:
            out.append(UInt8(ascii: "a"))
            out.append(UInt8(ascii: "y"))
        case .array(let t, _):
            out.append(UInt8(ascii: "a"))
            t.appendTypeString(into: &out)
        case .maybe(let t, _):
            out.append(UInt8(ascii: "m"))
            t.appendTypeString(into: &out)
        case .tuple(let c):
            out.append(UInt8(ascii: "("))
            for child in c { appendTypeString(of: child, into: &out) }
            out.append(UInt8(ascii: ")"))
        case .dictEntry(let k, let val):
            out.append(UInt8(ascii: "{"))
            appendTypeString(of: k, into: &out)
            appendTypeString(of: val, into: &out)
            out.append(UInt8(ascii: "}"))
        }
    }
}
