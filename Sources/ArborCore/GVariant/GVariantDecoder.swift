// GVariantDecoder.swift - strict parsing of serialized GVariant data (hostile input).

extension GVariant {
    /// Parses `bytes` as a value of type `type`. The input is treated as hostile:
    /// every framing offset, padding byte, string, boolean and size is checked,
    /// and any deviation throws a `GVariantError`. Container nesting (including
    /// the types inside variants) deeper than `maxDepth` throws `.depthExceeded`;
    /// `maxDepth` is capped at 128 (glib's own limit) so recursion stays bounded on any input.
    public static func parse(_ bytes: [UInt8], as type: GVariantType, maxDepth: Int = 64) throws -> GVariant {
        return try bytes.withUnsafeBytes { raw in
            try parse(raw, as: type, maxDepth: maxDepth)
        }
    }

    /// Parses the bytes in `bytes` as a value of type `type` (see `parse(_:as:maxDepth:)`).
    /// The buffer is only read during the call.
    public static func parse(_ bytes: UnsafeRawBufferPointer, as type: GVariantType, maxDepth: Int = 64) throws -> GVariant {
        let decoder = GVariantDecoder(buffer: bytes, maxDepth: Swift.min(maxDepth, GVariantDecoder.depthCeiling))
        let node = GVTypeNode.make(type)
        return try decoder.parse(node, 0, bytes.count, depth: 0)
    }

    /// True when `bytes` parse as `type` and re-serialise to exactly the same
    /// bytes (OSTree's normal-form rule).
    public static func isNormal(_ bytes: [UInt8], as type: GVariantType) -> Bool {
        guard let value = try? parse(bytes, as: type) else { return false }
        return value.serialize() == bytes
    }
}

/// A type compiled for decoding: alignment, fixed size and member layout cached.
final class GVTypeNode: @unchecked Sendable {
    /// What to do with a value of this type.
    enum Kind {
        case boolean, byte, int16, uint16, int32, uint32, int64, uint64, double
        case string, objectPath, signature, variant
        case bytes, array, maybe, tuple, dictEntry
    }

    /// The type this node describes.
    let type: GVariantType
    /// The decoding strategy.
    let kind: Kind
    /// Alignment in bytes (1, 2, 4, 8).
    let alignment: Int
    /// Fixed size in bytes, or -1 when variable.
    let fixedSize: Int
    /// Element type (array, maybe) or member types (tuple, dict entry).
    let members: [GVTypeNode]
    /// Number of framing offsets a tuple / dict entry carries.
    let offsetCount: Int

    private init(type: GVariantType, kind: Kind, alignment: Int, fixedSize: Int,
                 members: [GVTypeNode] = [], offsetCount: Int = 0) {
        self.type = type
        self.kind = kind
        self.alignment = alignment
        self.fixedSize = fixedSize
        self.members = members
        self.offsetCount = offsetCount
    }

    static let booleanNode = GVTypeNode(type: .boolean, kind: .boolean, alignment: 1, fixedSize: 1)
    static let byteNode = GVTypeNode(type: .byte, kind: .byte, alignment: 1, fixedSize: 1)
    static let int16Node = GVTypeNode(type: .int16, kind: .int16, alignment: 2, fixedSize: 2)
    static let uint16Node = GVTypeNode(type: .uint16, kind: .uint16, alignment: 2, fixedSize: 2)
    static let int32Node = GVTypeNode(type: .int32, kind: .int32, alignment: 4, fixedSize: 4)
    static let uint32Node = GVTypeNode(type: .uint32, kind: .uint32, alignment: 4, fixedSize: 4)
    static let int64Node = GVTypeNode(type: .int64, kind: .int64, alignment: 8, fixedSize: 8)
    static let uint64Node = GVTypeNode(type: .uint64, kind: .uint64, alignment: 8, fixedSize: 8)
    static let doubleNode = GVTypeNode(type: .double, kind: .double, alignment: 8, fixedSize: 8)
    static let stringNode = GVTypeNode(type: .string, kind: .string, alignment: 1, fixedSize: -1)
    static let objectPathNode = GVTypeNode(type: .objectPath, kind: .objectPath, alignment: 1, fixedSize: -1)
    static let signatureNode = GVTypeNode(type: .signature, kind: .signature, alignment: 1, fixedSize: -1)
    static let variantNode = GVTypeNode(type: .variant, kind: .variant, alignment: 8, fixedSize: -1)
    static let bytesNode = GVTypeNode(type: .array(.byte), kind: .bytes, alignment: 1, fixedSize: -1)

    /// Compiles `type` (recursively) into a node.
    static func make(_ type: GVariantType) -> GVTypeNode {
        switch type {
        case .boolean: return booleanNode
        case .byte: return byteNode
        case .int16: return int16Node
        case .uint16: return uint16Node
        case .int32: return int32Node
        case .uint32: return uint32Node
        case .int64: return int64Node
        case .uint64: return uint64Node
        case .double: return doubleNode
        case .string: return stringNode
        case .objectPath: return objectPathNode
        case .signature: return signatureNode
        case .variant: return variantNode
        case .array(.byte): return bytesNode
        case .array(let e):
            let en = make(e)
            return GVTypeNode(type: type, kind: .array, alignment: en.alignment, fixedSize: -1, members: [en])
        case .maybe(let e):
            let en = make(e)
            return GVTypeNode(type: type, kind: .maybe, alignment: en.alignment, fixedSize: -1, members: [en])
        case .tuple(let ms):
            return makeTuple(type, ms.map { make($0) }, kind: .tuple)
        case .dictEntry(let k, let v):
            return makeTuple(type, [make(k), make(v)], kind: .dictEntry)
        }
    }

    /// Builds a tuple-like node from member nodes.
    private static func makeTuple(_ type: GVariantType, _ members: [GVTypeNode], kind: Kind) -> GVTypeNode {
        if members.isEmpty {
            return GVTypeNode(type: type, kind: kind, alignment: 1, fixedSize: 1)
        }
        var align = 1
        var off = 0
        var fixed = true
        var offsets = 0
        for (i, m) in members.enumerated() {
            if m.alignment > align { align = m.alignment }
            if m.fixedSize < 0 {
                fixed = false
                if i != members.count - 1 { offsets += 1 }
            } else if fixed {
                off = (off + m.alignment - 1) & ~(m.alignment - 1)
                off += m.fixedSize
            }
        }
        let fs = fixed ? (off + align - 1) & ~(align - 1) : -1
        return GVTypeNode(type: type, kind: kind, alignment: align, fixedSize: fs,
                          members: members, offsetCount: offsets)
    }
}

/// The recursive-descent decoder over one input buffer. Positions are absolute
/// offsets into `buffer`; `start..<end` always lies within it.
struct GVariantDecoder {
    /// The whole input.
    let buffer: UnsafeRawBufferPointer
    /// Maximum nesting depth of containers.
    let maxDepth: Int

    /// Hard ceiling on `maxDepth`, so hostile input can never exhaust the stack
    /// whatever the caller asks for.
    static let depthCeiling = 128

    init(buffer: UnsafeRawBufferPointer, maxDepth: Int) {
        self.buffer = buffer
        self.maxDepth = maxDepth
    }

    /// The framing-offset width for a container of `size` bytes.
    @inline(__always)
    static func offsetWidth(forSize size: Int) -> Int {
        if size == 0 { return 0 }
        if size <= 0xff { return 1 }
        if size <= 0xffff { return 2 }
        if UInt64(size) <= 0xffff_ffff { return 4 }
        return 8
    }

    /// Reads a little-endian unsigned offset of `width` bytes at `pos` as an Int,
    /// clamping values that do not fit in Int to Int.max (always out of bounds).
    @inline(__always)
    func readOffset(at pos: Int, width: Int) -> Int {
        switch width {
        case 1:
            return Int(buffer[pos])
        case 2:
            return Int(UInt16(littleEndian: buffer.loadUnaligned(fromByteOffset: pos, as: UInt16.self)))
        case 4:
            return Int(UInt32(littleEndian: buffer.loadUnaligned(fromByteOffset: pos, as: UInt32.self)))
        default:
            let v = UInt64(littleEndian: buffer.loadUnaligned(fromByteOffset: pos, as: UInt64.self))
            return v > UInt64(Int.max) ? Int.max : Int(v)
        }
    }

    /// Checks that the padding bytes in `from..<to` are all zero.
    @inline(__always)
    func checkPadding(_ from: Int, _ to: Int) throws {
        var p = from
        while p < to {
            if buffer[p] != 0 { throw GVariantError.nonZeroPadding(at: p) }
            p &+= 1
        }
    }

    /// Throws unless `end - start == expected`.
    @inline(__always)
    func expectSize(_ node: GVTypeNode, _ start: Int, _ end: Int) throws {
        let size = end &- start
        if size != node.fixedSize {
            if size < node.fixedSize {
                throw GVariantError.truncated(expected: node.fixedSize, got: size)
            }
            throw GVariantError.wrongSize(type: node.type.description, expected: node.fixedSize, got: size)
        }
    }

    /// Parses the value of type `node` occupying exactly `start..<end`.
    func parse(_ node: GVTypeNode, _ start: Int, _ end: Int, depth: Int) throws -> GVariant {
        switch node.kind {
        case .boolean:
            try expectSize(node, start, end)
            let b = buffer[start]
            guard b <= 1 else { throw GVariantError.badBoolean(b) }
            return .boolean(b == 1)
        case .byte:
            try expectSize(node, start, end)
            return .byte(buffer[start])
        case .int16:
            try expectSize(node, start, end)
            return .int16(Int16(littleEndian: buffer.loadUnaligned(fromByteOffset: start, as: Int16.self)))
        case .uint16:
            try expectSize(node, start, end)
            return .uint16(UInt16(littleEndian: buffer.loadUnaligned(fromByteOffset: start, as: UInt16.self)))
        case .int32:
            try expectSize(node, start, end)
            return .int32(Int32(littleEndian: buffer.loadUnaligned(fromByteOffset: start, as: Int32.self)))
        case .uint32:
            try expectSize(node, start, end)
            return .uint32(UInt32(littleEndian: buffer.loadUnaligned(fromByteOffset: start, as: UInt32.self)))
        case .int64:
            try expectSize(node, start, end)
            return .int64(Int64(littleEndian: buffer.loadUnaligned(fromByteOffset: start, as: Int64.self)))
        case .uint64:
            try expectSize(node, start, end)
            return .uint64(UInt64(littleEndian: buffer.loadUnaligned(fromByteOffset: start, as: UInt64.self)))
        case .double:
            try expectSize(node, start, end)
            let bits = UInt64(littleEndian: buffer.loadUnaligned(fromByteOffset: start, as: UInt64.self))
            return .double(Double(bitPattern: bits))
        case .string:
            return .string(try parseString(start, end))
        case .objectPath:
            let s = try parseString(start, end)
            guard GVariantValidation.isObjectPath(UnsafeRawBufferPointer(rebasing: buffer[start..<(end &- 1)])) else {
                throw GVariantError.badString("invalid object path")
            }
            return .objectPath(s)
        case .signature:
            let s = try parseString(start, end)
            guard GVariantValidation.isSignature(UnsafeRawBufferPointer(rebasing: buffer[start..<(end &- 1)])) else {
                throw GVariantError.badString("invalid signature")
            }
            return .signature(s)
        case .bytes:
            return .bytes(Array(UnsafeRawBufferPointer(rebasing: buffer[start..<end])))
        case .variant:
            return try parseVariant(start, end, depth: depth)
        case .maybe:
            return try parseMaybe(node, start, end, depth: depth)
        case .array:
            return try parseArray(node, start, end, depth: depth)
        case .tuple, .dictEntry:
            return try parseTuple(node, start, end, depth: depth)
        }
    }

    /// A string-like value: valid UTF-8, one trailing NUL, no other NUL.
    func parseString(_ start: Int, _ end: Int) throws -> String {
        guard end > start else { throw GVariantError.badString("missing NUL terminator") }
        let last = end &- 1
        guard buffer[last] == 0 else { throw GVariantError.badString("missing NUL terminator") }
        let body = UnsafeRawBufferPointer(rebasing: buffer[start..<last])
        guard GVariantDecoder.isValidUTF8NoNUL(body) else {
            throw GVariantError.badString("embedded NUL or invalid UTF-8")
        }
        return String(decoding: body, as: UTF8.self)
    }

    /// Validates UTF-8 (no overlongs, surrogates or values above U+10FFFF) and rejects NUL.
    static func isValidUTF8NoNUL(_ b: UnsafeRawBufferPointer) -> Bool {
        let n = b.count
        var i = 0
        while i < n {
            let c = b[i]
            if c < 0x80 {
                if c == 0 { return false }
                i &+= 1
                continue
            }
            if c < 0xC2 { return false }
            if c < 0xE0 {
                guard i &+ 1 < n, b[i &+ 1] & 0xC0 == 0x80 else { return false }
                i &+= 2
                continue
            }
            if c < 0xF0 {
                guard i &+ 2 < n else { return false }
                let c1 = b[i &+ 1], c2 = b[i &+ 2]
                guard c1 & 0xC0 == 0x80, c2 & 0xC0 == 0x80 else { return false }
                if c == 0xE0 && c1 < 0xA0 { return false }      // overlong
                if c == 0xED && c1 >= 0xA0 { return false }     // surrogates
                i &+= 3
                continue
            }
            if c < 0xF5 {
                guard i &+ 3 < n else { return false }
                let c1 = b[i &+ 1], c2 = b[i &+ 2], c3 = b[i &+ 3]
                guard c1 & 0xC0 == 0x80, c2 & 0xC0 == 0x80, c3 & 0xC0 == 0x80 else { return false }
                if c == 0xF0 && c1 < 0x90 { return false }      // overlong
                if c == 0xF4 && c1 >= 0x90 { return false }     // > U+10FFFF
                i &+= 4
                continue
            }
            return false
        }
        return true
    }

    /// `v`: child bytes, a 0 separator, then exactly one complete type string.
    func parseVariant(_ start: Int, _ end: Int, depth: Int) throws -> GVariant {
        guard depth < maxDepth else { throw GVariantError.depthExceeded }
        guard end > start else { throw GVariantError.badVariant("empty variant") }
        var z = end &- 1
        while z >= start && buffer[z] != 0 { z &-= 1 }
        guard z >= start else { throw GVariantError.badVariant("no type separator") }
        let typeBytes = UnsafeRawBufferPointer(rebasing: buffer[(z &+ 1)..<end])
        guard !typeBytes.isEmpty else { throw GVariantError.badVariant("empty type string") }
        let innerType: GVariantType
        do {
            innerType = try GVariantType.parseComplete(typeBytes, limit: maxDepth &- depth &- 1)
        } catch GVariantError.depthExceeded {
            throw GVariantError.depthExceeded
        } catch {
            throw GVariantError.badVariant("bad type string \(GVariantType.describe(typeBytes))")
        }
        let inner = try parse(GVTypeNode.make(innerType), start, z, depth: depth &+ 1)
        return .variant(inner)
    }

    /// `mT`: empty for Nothing; Just is the child (plus a 0 byte if T is variable-size).
    func parseMaybe(_ node: GVTypeNode, _ start: Int, _ end: Int, depth: Int) throws -> GVariant {
        guard depth < maxDepth else { throw GVariantError.depthExceeded }
        let en = node.members[0]
        if end == start { return .maybe(en.type, nil) }
        if en.fixedSize >= 0 {
            return .maybe(en.type, try parse(en, start, end, depth: depth &+ 1))
        }
        let last = end &- 1
        guard buffer[last] == 0 else { throw GVariantError.badMaybe("Just value does not end with a 0 byte") }
        return .maybe(en.type, try parse(en, start, last, depth: depth &+ 1))
    }

    /// `aT` for T other than `y`.
    func parseArray(_ node: GVTypeNode, _ start: Int, _ end: Int, depth: Int) throws -> GVariant {
        guard depth < maxDepth else { throw GVariantError.depthExceeded }
        let en = node.members[0]
        let size = end &- start
        if size == 0 { return .array(element: en.type, []) }
        var elements: [GVariant] = []
        if en.fixedSize >= 0 {
            let fs = en.fixedSize
            guard size % fs == 0 else {
                throw GVariantError.wrongSize(type: node.type.description, expected: (size / fs &+ 1) &* fs, got: size)
            }
            let n = size / fs
            elements.reserveCapacity(n)
            var pos = start
            for _ in 0..<n {
                elements.append(try parse(en, pos, pos &+ fs, depth: depth &+ 1))
                pos &+= fs
            }
            return .array(element: en.type, elements)
        }
        let w = GVariantDecoder.offsetWidth(forSize: size)
        let lastEnd = readOffset(at: end &- w, width: w)
        guard lastEnd <= size &- w else {
            throw GVariantError.badFramingOffset(offset: lastEnd, containerSize: size)
        }
        let tableBytes = size &- lastEnd
        guard tableBytes % w == 0 else {
            throw GVariantError.badFramingOffset(offset: lastEnd, containerSize: size)
        }
        let n = tableBytes / w
        elements.reserveCapacity(n)
        let tableStart = start &+ lastEnd
        let align = en.alignment
        var rel = 0
        var tpos = tableStart
        for _ in 0..<n {
            let elemEnd = readOffset(at: tpos, width: w)
            tpos &+= w
            let aligned = (rel &+ align &- 1) & ~(align &- 1)
            guard aligned <= elemEnd, elemEnd <= lastEnd else {
                throw GVariantError.badFramingOffset(offset: elemEnd, containerSize: size)
            }
            try checkPadding(start &+ rel, start &+ aligned)
            elements.append(try parse(en, start &+ aligned, start &+ elemEnd, depth: depth &+ 1))
            rel = elemEnd
        }
        return .array(element: en.type, elements)
    }

    /// Tuples and dict entries.
    func parseTuple(_ node: GVTypeNode, _ start: Int, _ end: Int, depth: Int) throws -> GVariant {
        guard depth < maxDepth else { throw GVariantError.depthExceeded }
        let size = end &- start
        let members = node.members
        if node.fixedSize >= 0 {
            try expectSize(node, start, end)
        }
        if members.isEmpty {
            // The unit value is exactly one 0 byte (size already checked).
            try checkPadding(start, end)
            return .tuple([])
        }
        let w = GVariantDecoder.offsetWidth(forSize: size)
        let nOffsets = node.offsetCount
        if nOffsets > 0 && (size == 0 || nOffsets > size / w) {
            throw GVariantError.truncated(expected: nOffsets, got: size)
        }
        let frameStart = end &- nOffsets &* w   // absolute
        let relFrameStart = frameStart &- start
        var children: [GVariant] = []
        children.reserveCapacity(members.count)
        var rel = 0
        var offIndex = 0
        let lastIndex = members.count &- 1
        for (i, m) in members.enumerated() {
            let aligned = (rel &+ m.alignment &- 1) & ~(m.alignment &- 1)
            guard aligned <= relFrameStart else {
                throw GVariantError.truncated(expected: aligned, got: relFrameStart)
            }
            try checkPadding(start &+ rel, start &+ aligned)
            let childEnd: Int
            if m.fixedSize >= 0 {
                childEnd = aligned &+ m.fixedSize
                guard childEnd <= relFrameStart else {
                    throw GVariantError.truncated(expected: childEnd, got: relFrameStart)
                }
            } else if i == lastIndex {
                childEnd = relFrameStart
            } else {
                offIndex &+= 1
                childEnd = readOffset(at: end &- offIndex &* w, width: w)
                guard aligned <= childEnd, childEnd <= relFrameStart else {
                    throw GVariantError.badFramingOffset(offset: childEnd, containerSize: size)
                }
            }
            children.append(try parse(m, start &+ aligned, start &+ childEnd, depth: depth &+ 1))
            rel = childEnd
        }
        if node.fixedSize >= 0 {
            try checkPadding(start &+ rel, end)
        } else if rel != relFrameStart {
            throw GVariantError.trailingBytes(at: start &+ rel)
        }
        if node.kind == .dictEntry, children.count == 2 {
            return .dictEntry(children[0], children[1])
        }
        return .tuple(children)
    }
}
